-- indicators_firm_ttm.sql: per firm and target period, output over records ending inside the TTM window (for
-- n_firms, top1_share, hhi), by a window over the firm's months. A gap row per firm and target carries the
-- window end when the firm has no record that month. With one or two targets (an ordinary night)
-- flows/stages/s07_indicators.py runs indicators_firm_ttm_few.sql instead (a range join and one aggregation
-- instead of the window; the same rows).
-- reads: bounds, fm, tp
-- writes: firm_ttm

CREATE OR REPLACE TEMP TABLE firm_ttm AS
WITH facts AS (
    SELECT fid, cluster_id, period, output FROM fm WHERE period >= (SELECT lo_ttm FROM bounds)
),
gaps AS (  -- (firm, target) pairs without a record that month: they need a row to carry the window
    SELECT u.fid, u.cluster_id, tp.period
    FROM (SELECT DISTINCT fid, cluster_id FROM facts) u CROSS JOIN tp
    ANTI JOIN facts f ON f.fid = u.fid AND f.period = tp.period
),
spine AS (
    SELECT fid, cluster_id, period, NULL::DOUBLE AS output, 0 AS is_record, true AS is_target FROM gaps
    UNION ALL
    SELECT fid, cluster_id, period, output, 1, period IN (SELECT period FROM tp) FROM facts
),
win AS (
    SELECT fid, cluster_id, period, is_target, is_record,
           sum(output::DECIMAL(38,12)) OVER w AS output, sum(is_record) OVER w AS n_records
    FROM spine
    WINDOW w AS (PARTITION BY fid ORDER BY period RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW)
)
SELECT fid, cluster_id, period, output::DOUBLE AS output, n_records
FROM win
WHERE is_target AND n_records > 0;
