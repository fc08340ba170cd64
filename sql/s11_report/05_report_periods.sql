-- report_periods.sql: every month that has cluster indicators (the trend charts draw only these).
-- reads: mart.cluster_indicators
-- writes: (none)
SELECT DISTINCT period FROM mart.cluster_indicators;
