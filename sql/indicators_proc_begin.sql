-- indicators_proc_begin.sql: start rebuilding the procurement aggregates (indicators_work.sql) for the months
-- in sp(period): keep the months' old key rows (indicators_proc_keys.sql compares them with the new ones),
-- delete the months' rows and create the staging tables that sql/indicators_proc_month.sql fills month by
-- month. Literal date bounds ({sp_lo}, {sp_hi}; {sp_filter} only when sp has holes) let the scans skip the
-- row groups of other months.

CREATE OR REPLACE TEMP TABLE old_buyer_rows AS
SELECT fid, period, prv FROM work.proc_buyer_month WHERE period BETWEEN {sp_lo} AND {sp_hi} AND {sp_filter};
CREATE OR REPLACE TEMP TABLE old_supplier_rows AS
SELECT cidx, sid, period, prv FROM work.proc_local_supplier WHERE period BETWEEN {sp_lo} AND {sp_hi} AND {sp_filter};

DELETE FROM work.proc_buyer_month WHERE period BETWEEN {sp_lo} AND {sp_hi} AND {sp_filter};
DELETE FROM work.proc_local_supplier WHERE period BETWEEN {sp_lo} AND {sp_hi} AND {sp_filter};

CREATE OR REPLACE TEMP TABLE new_buyer_rows AS
SELECT * EXCLUDE (prv) FROM work.proc_buyer_month WITH NO DATA;
CREATE OR REPLACE TEMP TABLE new_supplier_rows AS
SELECT * EXCLUDE (prv) FROM work.proc_local_supplier WITH NO DATA;
