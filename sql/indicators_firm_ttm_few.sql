-- indicators_firm_ttm_few.sql: firm_ttm for a night with few target periods (flows/stages/s07_indicators.py swaps it
-- into indicators_base.sql between the @firm_ttm markers). Same rows as the window form: per firm and target,
-- the output over records ending inside the TTM window, for firms with at least one record there.
CREATE OR REPLACE TEMP TABLE firm_ttm AS
SELECT f.fid, f.cluster_id, tp.period, sum(f.output) AS output, count(*) AS n_records
FROM fm f
JOIN tp ON f.period BETWEEN (tp.period - INTERVAL 11 MONTH)::DATE AND tp.period
WHERE f.period >= {lo_ttm}
GROUP BY f.fid, f.cluster_id, tp.period;
