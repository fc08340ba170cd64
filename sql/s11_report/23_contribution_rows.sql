-- contribution_rows.sql: the comparable year-to-date output of the clusters in $clusters in month $period
-- (numerator: this year, denominator: last year), where both are known and the window is whole, for each
-- cluster's 拉动 and 贡献率.
-- reads: mart.cluster_indicators
-- writes: (none)

SELECT cluster_id, numerator, denominator
FROM mart.cluster_indicators
WHERE indicator = 'output_ytd_yoy' AND period = $period AND list_contains($clusters, cluster_id)
  AND numerator IS NOT NULL AND denominator > 0 AND NOT list_contains(flags, 'partial_window');
