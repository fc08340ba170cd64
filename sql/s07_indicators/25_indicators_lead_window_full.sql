-- indicators_lead_window_full.sql: on a full recompute, the supply leads' window (work.chain_supplier_window,
-- indicators_chain_work.sql) summed afresh from the stored months in last_period − 11 … last_period, and its last
-- month recorded (work.chain_window). An incremental night rolls it instead (indicators_lead_window_out.sql,
-- indicators_lead_window_incremental.sql). The sums are exact (DECIMAL), so a rolled window equals a summed one.
-- reads: bounds, work.chain_supplier_month
-- writes: work.chain_supplier_window, work.chain_window

DELETE FROM work.chain_supplier_window;
INSERT INTO work.chain_supplier_window
SELECT cidx, sid, coalesce(sum(amount), 0), count(amount), count(*)
FROM work.chain_supplier_month
WHERE period BETWEEN ((SELECT last_period FROM bounds) - INTERVAL 11 MONTH)::DATE AND (SELECT last_period FROM bounds)
GROUP BY cidx, sid;

DELETE FROM work.chain_window;
INSERT INTO work.chain_window SELECT last_period FROM bounds;
