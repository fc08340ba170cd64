-- indicators_proc_keys_appended.sql: whether the night only appends to the stored key-month rows — one source month
-- and no stored row of a later month — so flows/stages/s07_indicators.py finishes the procurement rebuild with
-- indicators_proc_keys_append.sql instead of indicators_proc_keys_incremental.sql (an ordinary night: the new month).
-- The scans are bounded by sp_hi, so the row groups of earlier months are skipped by their zone maps.
-- reads: bounds, sp, work.proc_buyer_month, work.proc_local_supplier
-- writes: (none)

SELECT (SELECT count(*) FROM sp) = 1
   AND NOT EXISTS (SELECT 1 FROM work.proc_buyer_month WHERE period > (SELECT sp_hi FROM bounds))
   AND NOT EXISTS (SELECT 1 FROM work.proc_local_supplier WHERE period > (SELECT sp_hi FROM bounds));
