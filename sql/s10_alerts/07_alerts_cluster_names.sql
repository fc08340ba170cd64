-- alerts_cluster_names.sql: each cluster's Chinese name and English name (NULL where the registry gives none),
-- for alert messages in both languages.
-- reads: core.clusters
-- writes: (none)

SELECT cluster_id, cluster_name, nullif(trim(cluster_name_en), '')
FROM core.clusters;
