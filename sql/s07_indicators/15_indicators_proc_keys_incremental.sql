-- indicators_proc_keys_incremental.sql: finish rebuilding the procurement aggregates for the months in sp: store the new
-- key-month rows with prv, the previous month their key was seen. The full and the incremental form are two files
-- (indicators_proc_keys_full.sql, indicators_proc_keys_incremental.sql); flows/stages/s07_indicators.py runs one.
-- On a full recompute the stored tables are empty and every key is linked afresh by a window over the new rows.
-- On an incremental night only keys whose presence in a rebuilt month changed (a buyer or local supplier
-- appeared or vanished) need a look at their other months, and stored rows of theirs may be re-linked; a key
-- present as before keeps its links (a revised amount is the usual case). Both leave in proc_months the months
-- whose per-cluster sums sql/indicators_proc_clusters.sql must rebuild.
-- reads: new_buyer_rows, new_supplier_rows, old_buyer_rows, old_supplier_rows, sp, work.proc_buyer_month,
--        work.proc_local_supplier
-- writes: buyer_changed, buyer_links, proc_months, supplier_changed, supplier_links, work.proc_buyer_month,
--         work.proc_local_supplier

-- Keys whose presence in a rebuilt month changed, with the first month of a change (since): only their rows from
-- then on can get another link. Those rows, stored and new, are linked again in order after an anchor, the key's
-- last month before `since` (stored, or rebuilt with the key present as before); rows before `since` keep theirs.
-- On an ordinary night the changed keys are the new month's, and no stored row lies after it.
CREATE OR REPLACE TEMP TABLE buyer_changed AS
SELECT coalesce(o.fid, n.fid) AS fid, min(coalesce(o.period, n.period)) AS since
FROM old_buyer_rows o FULL JOIN new_buyer_rows n ON n.fid = o.fid AND n.period = o.period
WHERE o.fid IS NULL OR n.fid IS NULL
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE buyer_links AS
WITH key_rows AS (
    SELECT b.fid, b.period, b.prv AS old_prv, false AS is_new
    FROM work.proc_buyer_month b JOIN buyer_changed c ON c.fid = b.fid AND b.period >= c.since
    WHERE b.period >= (SELECT min(since) FROM buyer_changed)
    UNION ALL
    SELECT n.fid, n.period, NULL, true FROM new_buyer_rows n JOIN buyer_changed c ON c.fid = n.fid AND n.period >= c.since
    UNION ALL
    SELECT fid, max(period), NULL, NULL
    FROM (SELECT fid, period FROM work.proc_buyer_month UNION ALL SELECT fid, period FROM new_buyer_rows) r
    JOIN buyer_changed c USING (fid)
    WHERE r.period < c.since
    GROUP BY fid
)
SELECT fid, period, old_prv, is_new, lag(period) OVER (PARTITION BY fid ORDER BY period) AS prv
FROM key_rows;

UPDATE work.proc_buyer_month b SET prv = l.prv
FROM buyer_links l
WHERE NOT l.is_new AND l.prv IS DISTINCT FROM l.old_prv AND b.fid = l.fid AND b.period = l.period;

-- New rows: linked again, or (before `since`, or a key present as before) with the link its row of that month had.
INSERT INTO work.proc_buyer_month
SELECT n.*, l.prv FROM new_buyer_rows n JOIN buyer_links l ON l.is_new AND l.fid = n.fid AND l.period = n.period
UNION ALL
SELECT n.*, o.prv
FROM new_buyer_rows n
JOIN old_buyer_rows o ON o.fid = n.fid AND o.period = n.period
ANTI JOIN buyer_changed c ON c.fid = n.fid AND n.period >= c.since;

-- The same for the (cluster, local supplier) pairs.
CREATE OR REPLACE TEMP TABLE supplier_changed AS
SELECT coalesce(o.cidx, n.cidx) AS cidx, coalesce(o.sid, n.sid) AS sid, min(coalesce(o.period, n.period)) AS since
FROM old_supplier_rows o
FULL JOIN new_supplier_rows n ON n.cidx = o.cidx AND n.sid = o.sid AND n.period = o.period
WHERE o.cidx IS NULL OR n.cidx IS NULL
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE supplier_links AS
WITH key_rows AS (
    SELECT s.cidx, s.sid, s.period, s.prv AS old_prv, false AS is_new
    FROM work.proc_local_supplier s
    JOIN supplier_changed c ON c.cidx = s.cidx AND c.sid = s.sid AND s.period >= c.since
    WHERE s.period >= (SELECT min(since) FROM supplier_changed)
    UNION ALL
    SELECT n.cidx, n.sid, n.period, NULL, true
    FROM new_supplier_rows n JOIN supplier_changed c ON c.cidx = n.cidx AND c.sid = n.sid AND n.period >= c.since
    UNION ALL
    SELECT cidx, sid, max(period), NULL, NULL
    FROM (SELECT cidx, sid, period FROM work.proc_local_supplier
          UNION ALL SELECT cidx, sid, period FROM new_supplier_rows) r
    JOIN supplier_changed c USING (cidx, sid)
    WHERE r.period < c.since
    GROUP BY cidx, sid
)
SELECT cidx, sid, period, old_prv, is_new, lag(period) OVER (PARTITION BY cidx, sid ORDER BY period) AS prv
FROM key_rows;

UPDATE work.proc_local_supplier s SET prv = l.prv
FROM supplier_links l
WHERE NOT l.is_new AND l.prv IS DISTINCT FROM l.old_prv
  AND s.cidx = l.cidx AND s.sid = l.sid AND s.period = l.period;

INSERT INTO work.proc_local_supplier
SELECT cidx, sid, period, prv FROM supplier_links WHERE is_new
UNION ALL
SELECT n.cidx, n.sid, n.period, o.prv
FROM new_supplier_rows n
JOIN old_supplier_rows o ON o.cidx = n.cidx AND o.sid = n.sid AND o.period = n.period
ANTI JOIN supplier_changed c ON c.cidx = n.cidx AND c.sid = n.sid AND n.period >= c.since;

-- The months whose per-cluster sums change: the rebuilt ones and those of re-linked rows.
CREATE OR REPLACE TEMP TABLE proc_months AS
SELECT period FROM sp
UNION SELECT period FROM buyer_links WHERE NOT is_new AND prv IS DISTINCT FROM old_prv
UNION SELECT period FROM supplier_links WHERE NOT is_new AND prv IS DISTINCT FROM old_prv;

DROP TABLE buyer_changed; DROP TABLE buyer_links; DROP TABLE supplier_changed; DROP TABLE supplier_links;
