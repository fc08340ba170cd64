-- indicators_wide.sql: mart.cluster_indicators_wide, one row per cluster and period and one column per
-- indicator. The column list is generated from the registry (flows/registry/indicators.toml) by flows/stages/s07_indicators.py, so
-- a new indicator becomes a column without editing this file. The cluster's current name and province (from
-- core.clusters) stand beside its code, so a reader of the wide table needs no join.

CREATE OR REPLACE VIEW mart.cluster_indicators_wide AS
SELECT i.cluster_id, c.cluster_name, c.province, i.period,
    {columns}
FROM mart.cluster_indicators i
LEFT JOIN core.clusters c USING (cluster_id)
GROUP BY i.cluster_id, c.cluster_name, c.province, i.period;

COMMENT ON VIEW mart.cluster_indicators_wide IS '集群监测指标（宽表）：每个集群、月份一行，每个指标一列（列由指标字典生成） / cluster indicators (wide): one row per cluster and month, one column per indicator (generated from the dictionary)';
COMMENT ON COLUMN mart.cluster_indicators_wide.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_indicators_wide.cluster_name IS '集群名称（当前名录） / cluster name (current registry)';
COMMENT ON COLUMN mart.cluster_indicators_wide.province IS '省份 / province';
COMMENT ON COLUMN mart.cluster_indicators_wide.period IS '统计期（月份第一天） / period (first day of the month)';
