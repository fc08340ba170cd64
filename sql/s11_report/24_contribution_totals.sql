-- contribution_totals.sql: each cluster's change of comparable year-to-date output in month $period (clusters
-- in $clusters), the whole its firms' shares are taken of.
-- reads: mart.cluster_indicators
-- writes: (none)

SELECT cluster_id, numerator - denominator
FROM mart.cluster_indicators
WHERE indicator = 'output_ytd_yoy' AND period = $period AND list_contains($clusters, cluster_id);
