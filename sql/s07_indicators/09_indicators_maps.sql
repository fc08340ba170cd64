-- indicators_maps.sql: the registry maps every step of the indicator stage reads, built once per run.
-- Expects temp table tp(period) (target periods) from indicators_targets.sql.
-- Builds: cluster_map (cluster with its integer id cidx, adcode and local scope), firm_cluster (F(c): firms
-- whose registry row names an existing cluster, with the integer firm id fid, the cluster's attributes and the
-- firm's registry chain_segment),
-- grid (cluster × target period), buyer_map (the look-up of the procurement aggregates, sql/indicators_proc_*.sql). fid and cidx are dense ranks of uscc and cluster_id: the same for the same
-- registry, which is what lets the work tables (sql/indicators_work.sql) store them.
-- reads: core.clusters, core.firms, tp
-- writes: buyer_map, cluster_map, firm_cluster, grid

CREATE OR REPLACE TEMP TABLE cluster_map AS
SELECT cluster_id, dense_rank() OVER (ORDER BY cluster_id)::INTEGER AS cidx, adcode, domain, province,
       CASE lower(coalesce(nullif(trim(local_scope), ''), 'city'))
           WHEN 'county' THEN 6 WHEN 'province' THEN 2 ELSE 4 END AS scope_len
FROM core.clusters;

CREATE OR REPLACE TEMP TABLE firm_cluster AS
SELECT f.uscc, dense_rank() OVER (ORDER BY f.uscc)::INTEGER AS fid, f.cluster_id, c.cidx, f.land_area,
       coalesce(f.above_scale, false) AS above_scale, coalesce(f.chain_leader, false) AS chain_leader,
       f.srdi_level, c.adcode AS cluster_adcode, c.domain, c.province, c.scope_len, f.chain_segment
FROM core.firms f
JOIN cluster_map c USING (cluster_id);

CREATE OR REPLACE TEMP TABLE grid AS
SELECT c.cluster_id, tp.period FROM core.clusters c CROSS JOIN tp;

-- A small look-up for the procurement aggregates: buyer → ids and the prefix a supplier's adcode must start with
-- to be local (the cluster adcode's first scope_len digits; NULL, so nothing is local, when it is shorter).
CREATE OR REPLACE TEMP TABLE buyer_map AS
SELECT uscc, fid, cidx,
       CASE WHEN length(cluster_adcode) >= scope_len THEN left(cluster_adcode, scope_len) END AS local_prefix
FROM firm_cluster;
