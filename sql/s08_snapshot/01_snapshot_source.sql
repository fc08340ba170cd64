-- snapshot_source.sql: one row per cluster with indicators in period $period — the content of a map
-- snapshot before classing and suppression (flows/render/maps.py adds those). $headline: the registry's
-- headline indicators (flows/registry/indicators.toml [indicator.map]); their values and contributing-firm
-- counts come back as two lists in the order of $headline (NULL where the cluster has no value), which
-- maps.live_rows spreads into <code> and <code>_n_firms. Reads the stable marts (docs/architecture.md#stable-names) only. A cluster
-- without any indicator row for the period is left out.
-- reads: core.clusters, mart.cluster_classes, mart.cluster_indicators
-- writes: (none)

SELECT
    c.cluster_id, c.cluster_name, c.province, c.city, c.domain, c.leading_industry, c.level, c.lon, c.lat,
    CAST(max(i.value) FILTER (WHERE i.indicator = 'n_firms') AS INTEGER) AS n_firms,
    [map(list(i.indicator), list(i.value))[h] FOR h IN $headline::VARCHAR[]] AS headline_values,
    [CAST(map(list(i.indicator), list(i.n_firms))[h] AS INTEGER) FOR h IN $headline::VARCHAR[]] AS headline_n_firms,
    any_value(k.stage) AS stage,
    any_value(k.scale_tier) AS scale_tier
FROM core.clusters c
JOIN mart.cluster_indicators i ON i.cluster_id = c.cluster_id AND i.period = $period
LEFT JOIN mart.cluster_classes k ON k.cluster_id = c.cluster_id AND k.period = $period
GROUP BY ALL
ORDER BY c.cluster_id;
