-- snapshot_source.sql: one row per cluster with indicators in period $period — the content of a map
-- snapshot before classing and suppression (flows/stages/s08_snapshot.py adds those from flows/registry/maps.toml). Reads the
-- stable marts (docs/architecture.md#stable-names) only. A cluster without any indicator row for the period is left out.
-- reads: core.clusters, mart.cluster_classes, mart.cluster_indicators
-- writes: (none)

SELECT
    c.cluster_id, c.cluster_name, c.province, c.city, c.domain, c.leading_industry, c.level, c.lon, c.lat,
    CAST(max(i.value) FILTER (WHERE i.indicator = 'n_firms') AS INTEGER) AS n_firms,
    max(i.value) FILTER (WHERE i.indicator = 'output_ttm') AS output_ttm,
    CAST(max(i.n_firms) FILTER (WHERE i.indicator = 'output_ttm') AS INTEGER) AS output_ttm_n_firms,
    max(i.value) FILTER (WHERE i.indicator = 'local_supporting_rate') AS local_supporting_rate,
    CAST(max(i.n_firms) FILTER (WHERE i.indicator = 'local_supporting_rate') AS INTEGER) AS local_supporting_rate_n_firms,
    max(i.value) FILTER (WHERE i.indicator = 'per_mu_tax') AS per_mu_tax,
    CAST(max(i.n_firms) FILTER (WHERE i.indicator = 'per_mu_tax') AS INTEGER) AS per_mu_tax_n_firms,
    max(i.value) FILTER (WHERE i.indicator = 'output_ytd_yoy') AS output_ytd_yoy,
    CAST(max(i.n_firms) FILTER (WHERE i.indicator = 'output_ytd_yoy') AS INTEGER) AS output_ytd_yoy_n_firms,
    max(i.value) FILTER (WHERE i.indicator = 'cloud_rate') AS cloud_rate,
    CAST(max(i.n_firms) FILTER (WHERE i.indicator = 'cloud_rate') AS INTEGER) AS cloud_rate_n_firms,
    any_value(k.stage) AS stage,
    any_value(k.scale_tier) AS scale_tier
FROM core.clusters c
JOIN mart.cluster_indicators i ON i.cluster_id = c.cluster_id AND i.period = $period
LEFT JOIN mart.cluster_classes k ON k.cluster_id = c.cluster_id AND k.period = $period
GROUP BY ALL
ORDER BY c.cluster_id;
