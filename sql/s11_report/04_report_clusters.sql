-- report_clusters.sql: the clusters a report covers (all, or one province's), in table order.
-- reads: core.clusters
-- writes: (none)
SELECT cluster_id, cluster_name, province, city, domain
FROM core.clusters
WHERE $province IS NULL OR province = $province
ORDER BY domain, cluster_id;
