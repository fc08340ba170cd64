-- indicators_firm_ttm_few.sql: firm_ttm for a night with few target periods (flows/stages/s07_indicators.py runs it
-- instead of indicators_firm_ttm.sql). Same rows as the window form: per firm and target,
-- the output over records ending inside the TTM window, for firms with at least one record there.
-- reads: bounds, fm, tp
-- writes: firm_ttm
CREATE OR REPLACE TEMP TABLE firm_ttm AS
SELECT f.fid, f.cluster_id, tp.period, sum(f.output::DECIMAL(38,12))::DOUBLE AS output, count(*) AS n_records
FROM fm f
JOIN tp ON f.period BETWEEN (tp.period - INTERVAL 11 MONTH)::DATE AND tp.period
WHERE f.period >= (SELECT lo_ttm FROM bounds)
GROUP BY f.fid, f.cluster_id, tp.period;
