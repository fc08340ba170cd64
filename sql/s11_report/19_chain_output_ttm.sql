-- chain_output_ttm.sql: each cluster's trailing-twelve-month output in month $period, the total the chain
-- section's segment outputs are shown against.
-- reads: mart.cluster_indicators
-- writes: (none)

SELECT cluster_id, value FROM mart.cluster_indicators WHERE period = $period AND indicator = 'output_ttm';
