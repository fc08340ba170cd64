-- indicators_dictionary.sql: the indicator registry (flows/registry/indicators.toml) as mart.indicator_dictionary,
-- and mart.cluster_indicators_wide, one row per cluster and period and one column per indicator, rewritten from
-- the registry at the start of every indicator run. The registry comes in as parallel list parameters ($codes,
-- $names_zh, …, one element per indicator in registry order); the wide view's columns are the registry's codes
-- ({indicator_columns}, checked identifiers), so a new indicator becomes a column without editing this file.
-- The cluster's current name and province (from core.clusters) stand beside its code, so a reader of the wide
-- table needs no join.
-- reads: core.clusters, mart.cluster_indicators
-- writes: mart.indicator_dictionary, mart.cluster_indicators_wide

DELETE FROM mart.indicator_dictionary;
INSERT INTO mart.indicator_dictionary (indicator, name_zh, name_en, unit, unit_en, direction, time_window, rollup,
                                       sql_file, definition, definition_zh, ordinal)
SELECT unnest($codes::VARCHAR[]), unnest($names_zh::VARCHAR[]), unnest($names_en::VARCHAR[]),
       unnest($units::VARCHAR[]), unnest($units_en::VARCHAR[]), unnest($directions::VARCHAR[]),
       unnest($windows::VARCHAR[]), unnest($rollups::VARCHAR[]), unnest($sql_files::VARCHAR[]),
       unnest($definitions::VARCHAR[]), unnest($definitions_zh::VARCHAR[]),
       unnest(range(1, len($codes::VARCHAR[]) + 1))::INTEGER;

CREATE OR REPLACE VIEW mart.cluster_indicators_wide AS
PIVOT (
    SELECT i.cluster_id, c.cluster_name, c.province, i.period, i.indicator, i.value
    FROM mart.cluster_indicators i
    LEFT JOIN core.clusters c USING (cluster_id)
) ON indicator IN ({indicator_columns})
USING max(value)
GROUP BY cluster_id, cluster_name, province, period;

COMMENT ON VIEW mart.cluster_indicators_wide IS '集群监测指标（宽表）：每个集群、月份一行，每个指标一列（列由指标字典生成） / cluster indicators (wide): one row per cluster and month, one column per indicator (generated from the dictionary)';
COMMENT ON COLUMN mart.cluster_indicators_wide.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_indicators_wide.cluster_name IS '集群名称（当前名录） / cluster name (current registry)';
COMMENT ON COLUMN mart.cluster_indicators_wide.province IS '省份 / province';
COMMENT ON COLUMN mart.cluster_indicators_wide.period IS '统计期（月份第一天） / period (first day of the month)';
