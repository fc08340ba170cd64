-- indicators_wide.sql: mart.cluster_indicators_wide, one row per cluster and period and one column per
-- indicator. The column list is generated from the registry (flows/indicators.toml) by flows/indicators.py, so
-- a new indicator becomes a column without editing this file.

CREATE OR REPLACE VIEW mart.cluster_indicators_wide AS
SELECT cluster_id, period,
    {columns}
FROM mart.cluster_indicators
GROUP BY cluster_id, period;

COMMENT ON VIEW mart.cluster_indicators_wide IS '集群监测指标（宽表）：每个集群、月份一行，每个指标一列（列由指标字典生成） / cluster indicators (wide): one row per cluster and month, one column per indicator (generated from the dictionary)';
COMMENT ON COLUMN mart.cluster_indicators_wide.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_indicators_wide.period IS '统计期（月份第一天） / period (first day of the month)';
