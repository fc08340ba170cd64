-- indicators_proc_begin.sql: start rebuilding the procurement aggregates (indicators_work.sql) for the months
-- in sp(period): keep the months' old key rows (indicators_proc_keys.sql compares them with the new ones),
-- delete the months' rows and create the staging tables that sql/indicators_proc_month.sql fills month by
-- month. The range of sp (bounds.sp_lo..sp_hi) lets the scans skip the row groups of other months.
-- reads: bounds, sp, work.proc_buyer_month, work.proc_local_supplier
-- writes: new_buyer_rows, new_supplier_rows, old_buyer_rows, old_supplier_rows, work.chain_flow_month,
--         work.chain_supplier_buyer, work.chain_supplier_month, work.chain_supplier_segment, work.chain_supplier_text,
--         work.proc_buyer_month, work.proc_local_supplier

CREATE OR REPLACE TEMP TABLE old_buyer_rows AS
SELECT fid, period, prv FROM work.proc_buyer_month WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
CREATE OR REPLACE TEMP TABLE old_supplier_rows AS
SELECT cidx, sid, period, prv FROM work.proc_local_supplier WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);

DELETE FROM work.proc_buyer_month WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
DELETE FROM work.proc_local_supplier WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
-- The supply-chain aggregates of the months too (sql/indicators_chain_month.sql inserts them month by month): one
-- delete here instead of one per month, each scanning the table as it grows.
DELETE FROM work.chain_flow_month WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
DELETE FROM work.chain_supplier_month WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
DELETE FROM work.chain_supplier_segment WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
DELETE FROM work.chain_supplier_buyer WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
DELETE FROM work.chain_supplier_text WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);

CREATE OR REPLACE TEMP TABLE new_buyer_rows AS
SELECT * EXCLUDE (prv) FROM work.proc_buyer_month WITH NO DATA;
CREATE OR REPLACE TEMP TABLE new_supplier_rows AS
SELECT * EXCLUDE (prv) FROM work.proc_local_supplier WITH NO DATA;
