-- indicators_registry.sql: registry counts n_firms, n_above_scale, n_srdi, n_chain_leaders, n_platforms
-- (docs/architecture.md#indicators), from the current registry rows (the same value in every period). n_firms (the column) is the
-- cluster's firm count. Appends to ind_new.
-- reads: core.platforms, firm_cluster, grid
-- writes: ind_new

INSERT INTO ind_new
WITH firms AS (
    SELECT cluster_id, count(*) AS n_firms, count(*) FILTER (WHERE above_scale) AS n_above_scale,
           count(*) FILTER (WHERE srdi_level IN ('provincial', 'national')) AS n_srdi,
           count(*) FILTER (WHERE chain_leader) AS n_chain_leaders
    FROM firm_cluster GROUP BY ALL
),
platforms AS (SELECT cluster_id, count(*) AS n_platforms FROM core.platforms GROUP BY ALL),
t AS (
    SELECT g.cluster_id, g.period, coalesce(f.n_firms, 0) AS n_firms, coalesce(f.n_above_scale, 0) AS n_above_scale,
           coalesce(f.n_srdi, 0) AS n_srdi, coalesce(f.n_chain_leaders, 0) AS n_chain_leaders,
           coalesce(p.n_platforms, 0) AS n_platforms
    FROM grid g LEFT JOIN firms f USING (cluster_id) LEFT JOIN platforms p USING (cluster_id)
)
SELECT cluster_id, period, 'n_firms', n_firms, n_firms, NULL, n_firms, []::VARCHAR[] FROM t
UNION ALL SELECT cluster_id, period, 'n_above_scale', n_above_scale, n_above_scale, NULL, n_firms, []::VARCHAR[] FROM t
UNION ALL SELECT cluster_id, period, 'n_srdi', n_srdi, n_srdi, NULL, n_firms, []::VARCHAR[] FROM t
UNION ALL SELECT cluster_id, period, 'n_chain_leaders', n_chain_leaders, n_chain_leaders, NULL, n_firms, []::VARCHAR[] FROM t
UNION ALL SELECT cluster_id, period, 'n_platforms', n_platforms, n_platforms, NULL, n_firms, []::VARCHAR[] FROM t;
