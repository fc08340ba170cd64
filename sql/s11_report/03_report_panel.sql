-- report_panel.sql: every cell the report can show for the periods in report_periods (temp table): one row per
-- (row_id, period, indicator) for each cluster, each province (mart.province_indicators) and all clusters
-- ('ALL', rolled up here from the cluster rows by the registry's roll-up type with rollup_value of
-- sql/s07_indicators/07_indicators_rollup.sql; summed exactly as DECIMAL, as the province roll-up is, so the row
-- does not change in its last bits with the order DuckDB's threads add the clusters in). $codes and $rollups:
-- the registry's codes and their roll-up types, in one order.
-- reads: core.clusters, mart.cluster_indicators, mart.province_indicators, report_periods
-- writes: (none)
-- registered: report_periods

WITH reg AS (
    SELECT unnest($codes::VARCHAR[]) AS indicator, unnest($rollups::VARCHAR[]) AS rollup
),
ci AS (
    SELECT ci.cluster_id, c.province, ci.period, ci.indicator, ci.value, ci.numerator, ci.denominator, ci.n_firms
    FROM mart.cluster_indicators ci JOIN core.clusters c USING (cluster_id)
    WHERE ci.period IN (SELECT period FROM report_periods)
)
SELECT cluster_id AS row_id, 'cluster' AS kind, province, period, indicator, value, n_firms FROM ci
UNION ALL
SELECT 'P:' || province, 'province', province, period, indicator, value, n_firms
FROM mart.province_indicators WHERE period IN (SELECT period FROM report_periods)
UNION ALL
SELECT 'ALL', 'all', NULL, period, indicator,
       rollup_value(r.rollup, sum(coalesce(numerator, value)::DECIMAL(38,12))::DOUBLE,
                    sum(numerator::DECIMAL(38,12))::DOUBLE, sum(denominator::DECIMAL(38,12))::DOUBLE,
                    max(numerator)),
       sum(n_firms)
FROM ci JOIN reg r USING (indicator)
GROUP BY period, indicator, r.rollup
