-- indicators_cluster_index.sql: mart.cluster_index (集群发展指数) for the target periods tp(period), from the
-- published mart.cluster_indicators of those periods (run after indicators_publish.sql). Expects from
-- indicators_config.sql: cfg_index(method), cfg_index_dim(dimension, weight), cfg_index_ind(dimension, indicator,
-- weight, transform) from flows/registry/chain_index.toml, and ind_reg(indicator, direction) from the registry.
-- Each indicator is normalised across all clusters of the period to 0–100 (minmax or percentile, by the
-- registry direction); a dimension is the weighted mean of its valued indicators, the total the weighted mean of
-- the valued dimensions (missing ones listed). Replaces the target periods; drops periods outside the data range.
-- reads: bounds, cfg_index, cfg_index_dim, cfg_index_ind, grid, ind_reg, mart.cluster_indicators, tp
-- writes: mart.cluster_index

DELETE FROM mart.cluster_index
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);

INSERT INTO mart.cluster_index (cluster_id, period, scale, growth, linkage, innovation, digital, green, land, total,
                                rank, n_clusters, missing_dimensions, min_n_firms, method)
WITH v AS (
    SELECT ci.cluster_id, ci.period, i.dimension, ci.indicator, i.weight, ci.n_firms,
           CASE WHEN r.direction = 'lower_better' THEN -1 ELSE 1 END AS sgn,
           CASE i.transform WHEN 'log' THEN CASE WHEN ci.value > 0 THEN ln(ci.value) END
                            WHEN 'log1p' THEN CASE WHEN ci.value >= 0 THEN ln(1 + ci.value) END
                            ELSE ci.value END AS x
    FROM mart.cluster_indicators ci
    JOIN cfg_index_ind i USING (indicator)
    JOIN ind_reg r USING (indicator)
    WHERE ci.period IN (SELECT period FROM tp)
),
scored AS (
    SELECT *,
           CASE (SELECT method FROM cfg_index)
               WHEN 'minmax' THEN
                   CASE WHEN max(x) OVER w = min(x) OVER w THEN 50.0
                        WHEN sgn = 1 THEN 100.0 * (x - min(x) OVER w) / (max(x) OVER w - min(x) OVER w)
                        ELSE 100.0 * (max(x) OVER w - x) / (max(x) OVER w - min(x) OVER w) END
               ELSE
                   CASE WHEN count(x) OVER w = 1 THEN 50.0
                        ELSE 100.0 * (rank() OVER (PARTITION BY period, indicator ORDER BY sgn * x) - 1)
                                   / (count(x) OVER w - 1) END
           END AS score
    FROM v
    WHERE x IS NOT NULL
    WINDOW w AS (PARTITION BY period, indicator)
),
dims AS (
    SELECT cluster_id, period, dimension,
           sum((weight * score)::DECIMAL(38,12))::DOUBLE / sum(weight::DECIMAL(38,12))::DOUBLE AS score, min(n_firms) AS min_n_firms
    FROM scored GROUP BY ALL
),
grid_dims AS (
    SELECT g.cluster_id, g.period, d.dimension, d.weight, x.score, x.min_n_firms
    FROM grid g CROSS JOIN cfg_index_dim d
    LEFT JOIN dims x ON x.cluster_id = g.cluster_id AND x.period = g.period AND x.dimension = d.dimension
),
tot AS (
    SELECT cluster_id, period,
           max(score) FILTER (WHERE dimension = 'scale') AS scale,
           max(score) FILTER (WHERE dimension = 'growth') AS growth,
           max(score) FILTER (WHERE dimension = 'linkage') AS linkage,
           max(score) FILTER (WHERE dimension = 'innovation') AS innovation,
           max(score) FILTER (WHERE dimension = 'digital') AS digital,
           max(score) FILTER (WHERE dimension = 'green') AS green,
           max(score) FILTER (WHERE dimension = 'land') AS land,
           sum((weight * score)::DECIMAL(38,12))::DOUBLE
               / nullif((sum(weight::DECIMAL(38,12)) FILTER (WHERE score IS NOT NULL))::DOUBLE, 0) AS total,
           list(dimension ORDER BY dimension) FILTER (WHERE score IS NULL) AS missing,
           min(min_n_firms) AS min_n_firms
    FROM grid_dims GROUP BY ALL
)
SELECT cluster_id, period, scale, growth, linkage, innovation, digital, green, land, total,
       CASE WHEN total IS NOT NULL THEN rank() OVER (PARTITION BY period, total IS NULL ORDER BY total DESC) END,
       count(total) OVER (PARTITION BY period), coalesce(missing, []::VARCHAR[]), min_n_firms,
       (SELECT method FROM cfg_index)
FROM tot;
