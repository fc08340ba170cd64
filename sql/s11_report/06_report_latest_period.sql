-- report_latest_period.sql: the latest month with cluster indicators (what the nightly report covers).
-- reads: mart.cluster_indicators
-- writes: (none)
SELECT max(period) AS period FROM mart.cluster_indicators;
