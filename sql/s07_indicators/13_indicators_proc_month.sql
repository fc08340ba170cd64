-- indicators_proc_month.sql: the procurement aggregates of one month ($month, kept in temp table month_now; flows/stages/s07_indicators.py runs it for
-- every month in sp, so memory stays bounded by a month of rows). One scan of core.procurement locates and
-- classifies the month's rows (chain_rows, by chain_located of indicators_chain_maps.sql, which
-- sql/indicators_chain_month.sql then reads too, so the month's rows are joined with the registry once); they are
-- aggregated per buyer into new_buyer_rows and, for local purchases, into distinct (cluster, supplier) pairs in
-- new_supplier_rows (prv is set later by indicators_proc_keys.sql).
-- A supplier's location: the registry adcode when its supplier_uscc is registered, else supplier_adcode;
-- unknown (NULL or blank) is not local. A supplier is its supplier_uscc when given, else its supplier_name.
-- Amounts are summed exactly, as DECIMAL(38,12), and stored back as DOUBLE (flows/stages/s07_indicators.py: exact
-- sums), so the sums do not depend on the order DuckDB's threads add in.
-- reads: chain_located, firm_cluster, work.supplier_ids, work.supplier_text
-- writes: chain_rows, month_now, new_buyer_rows, new_ids, new_supplier_rows, work.supplier_ids

CREATE OR REPLACE TEMP TABLE month_now AS SELECT $month::DATE AS period;

-- Only the columns the month's aggregates read (a month of rows costs by its width to materialise, most in its text
-- columns): the supplier under its id (sid, work.supplier_ids; its key kept only on the rows of a key without an id
-- yet), and on the outside suppliers' rows whether the row is spelled as its supplier's stored text
-- (work.supplier_text, see sql/indicators_chain_month.sql): only a row spelled otherwise, or of a supplier without a
-- text yet, keeps its name, registered uscc and location (own_text). no_adcode stands for a missing location on
-- every row. A row finds its id and its supplier's text in one look-up (the ids joined with the texts first, 1.1 M
-- rows, instead of each of the month's rows probing the two tables in turn: nation 2025-12, 4.1 M rows,
-- 3.6-3.8 -> 3.4-3.5 CPU-s).
CREATE OR REPLACE TEMP TABLE chain_rows AS
SELECT cidx, fid, buyer_seg, amount, sid, CASE WHEN sid IS NULL THEN supplier_key END AS supplier_key, is_local,
       supplier_group, member_seg, no_adcode, own_text,
       CASE WHEN own_text THEN supplier_name END AS supplier_name,
       CASE WHEN own_text THEN supplier_uscc END AS supplier_uscc,
       CASE WHEN own_text THEN supplier_adcode END AS supplier_adcode
FROM (
    SELECT r.cidx, r.fid, r.buyer_seg, r.amount, r.supplier_key, i.sid, r.is_local, r.supplier_group,
           r.member_seg, r.supplier_adcode IS NULL AS no_adcode, r.supplier_name, r.supplier_uscc,
           r.supplier_adcode,
           r.supplier_group IN ('province', 'other_province', 'unknown')
               AND (i.text_sid IS NULL OR r.supplier_name IS DISTINCT FROM i.supplier_name
                    OR r.supplier_uscc IS DISTINCT FROM i.supplier_uscc
                    OR r.supplier_adcode IS DISTINCT FROM i.supplier_adcode) AS own_text
    FROM chain_located('core.procurement', (SELECT period FROM month_now), (SELECT period FROM month_now)) r
    LEFT JOIN (SELECT i.supplier_key, i.sid, t.sid AS text_sid, t.supplier_name, t.supplier_uscc, t.supplier_adcode
               FROM work.supplier_ids i LEFT JOIN work.supplier_text t USING (sid)) i USING (supplier_key)
);

INSERT INTO new_buyer_rows
SELECT f.uscc, (SELECT period FROM month_now), b.amount::DOUBLE, b.local_amount::DOUBLE, b.unknown_amount::DOUBLE,
       b.n_rows, b.fid
FROM (
    SELECT fid, sum(amount::DECIMAL(38,12)) AS amount,
           coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE is_local), 0) AS local_amount,
           coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE no_adcode), 0) AS unknown_amount,
           count(*) AS n_rows
    FROM chain_rows GROUP BY fid
) b
JOIN firm_cluster f USING (fid);

-- New supplier keys get the next ids (the order among them is immaterial: ids only need to be distinct): local
-- suppliers (counted here) and non-local outside ones (the leads' keys, sql/indicators_chain_month.sql). Their rows
-- find them in new_ids (the month's few new keys rather than every key again; a row with an id has no key, so it
-- finds none: a join on the key alone — with `r.sid IS NULL` in its condition DuckDB joined every row with every
-- new key).
CREATE OR REPLACE TEMP TABLE new_ids AS
SELECT supplier_key, (SELECT coalesce(max(sid), 0) FROM work.supplier_ids) + row_number() OVER () AS sid
FROM (SELECT DISTINCT supplier_key FROM chain_rows
      WHERE sid IS NULL AND (is_local OR supplier_group IN ('province', 'other_province', 'unknown'))
        AND supplier_key IS NOT NULL) k;
INSERT INTO work.supplier_ids SELECT supplier_key, sid FROM new_ids;

INSERT INTO new_supplier_rows
SELECT DISTINCT r.cidx, coalesce(r.sid, n.sid, 0), (SELECT period FROM month_now)
FROM chain_rows r LEFT JOIN new_ids n USING (supplier_key)
WHERE r.is_local;
