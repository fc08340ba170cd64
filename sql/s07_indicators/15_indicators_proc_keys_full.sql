-- indicators_proc_keys_full.sql: finish rebuilding the procurement aggregates for the months in sp: store the new
-- key-month rows with prv, the previous month their key was seen. The full and the incremental form are two files
-- (indicators_proc_keys_full.sql, indicators_proc_keys_incremental.sql); flows/stages/s07_indicators.py runs one.
-- On a full recompute the stored tables are empty and every key is linked afresh by a window over the new rows.
-- On an incremental night only keys whose presence in a rebuilt month changed (a buyer or local supplier
-- appeared or vanished) need a look at their other months, and stored rows of theirs may be re-linked; a key
-- present as before keeps its links (a revised amount is the usual case). Both leave in proc_months the months
-- whose per-cluster sums sql/indicators_proc_clusters.sql must rebuild.
-- reads: new_buyer_rows, new_supplier_rows, sp
-- writes: proc_months, work.proc_buyer_month, work.proc_local_supplier

INSERT INTO work.proc_buyer_month
SELECT *, lag(period) OVER (PARTITION BY fid ORDER BY period) FROM new_buyer_rows;
INSERT INTO work.proc_local_supplier
SELECT cidx, sid, period, lag(period) OVER (PARTITION BY cidx, sid ORDER BY period) FROM new_supplier_rows;
CREATE OR REPLACE TEMP TABLE proc_months AS SELECT period FROM sp;
