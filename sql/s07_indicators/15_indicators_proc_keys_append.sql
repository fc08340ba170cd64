-- indicators_proc_keys_append.sql: finish rebuilding the procurement aggregates on a night that only appends (one
-- source month, no stored row after it: indicators_proc_keys_appended.sql) — the ordinary night. Each new key-month
-- row's prv is its key's last stored month (NULL for a key never seen), and no stored row is linked again: no row of
-- a later month points back at the rebuilt one. That is what indicators_proc_keys_incremental.sql gives there (a key
-- present in the month as before kept its link, which was that last month too), without its window over the changed
-- keys' rows (nation 2025-12: the file 1.5 → 0.65 CPU-s). Leaves in proc_months the month whose per-cluster sums
-- sql/indicators_proc_clusters.sql must rebuild.
-- reads: new_buyer_rows, new_supplier_rows, sp, work.proc_buyer_month, work.proc_local_supplier
-- writes: proc_months, work.proc_buyer_month, work.proc_local_supplier

INSERT INTO work.proc_buyer_month
SELECT n.*, l.prv
FROM new_buyer_rows n
LEFT JOIN (SELECT fid, max(period) AS prv FROM work.proc_buyer_month GROUP BY fid) l USING (fid);

INSERT INTO work.proc_local_supplier
SELECT n.cidx, n.sid, n.period, l.prv
FROM new_supplier_rows n
LEFT JOIN (SELECT cidx, sid, max(period) AS prv FROM work.proc_local_supplier GROUP BY cidx, sid) l USING (cidx, sid);

CREATE OR REPLACE TEMP TABLE proc_months AS SELECT period FROM sp;
