-- report_partial_cells.sql: (row, month, indicator) whose window (TTM, YTD, last year's YTD) starts before the
-- data (flag partial_window), for the months a report shows; province rows are 'P:<province>'.
-- reads: mart.cluster_indicators, mart.province_indicators
-- writes: (none)
SELECT cluster_id AS row_id, period, indicator FROM mart.cluster_indicators
WHERE list_contains(flags, 'partial_window') AND period IN (SELECT unnest($months::DATE[]))
UNION ALL
SELECT 'P:' || province, period, indicator FROM mart.province_indicators
WHERE list_contains(flags, 'partial_window') AND period IN (SELECT unnest($months::DATE[]));
