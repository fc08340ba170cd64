-- load_clusters.sql: upsert cluster registry rows (view `incoming`); every version kept in history.
-- reads: core.clusters, incoming
-- writes: core.clusters, history.clusters, meta.changes
-- registered: incoming
INSERT OR REPLACE INTO core.clusters (cluster_id, cluster_name, province, city, adcode, domain, leading_industry,
                                       level, lon, lat, local_scope, file_id, cluster_name_en)
SELECT cluster_id, cluster_name, province, city, adcode, domain, leading_industry, level, lon, lat,
       coalesce(local_scope, 'city'), $file_id, nullif(trim(cluster_name_en), '')
FROM incoming;

INSERT INTO history.clusters BY NAME SELECT * FROM core.clusters WHERE file_id = $file_id;

INSERT INTO meta.changes (run_id, kind, period) VALUES ($run_id, 'clusters', NULL);
