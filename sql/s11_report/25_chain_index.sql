-- chain_index.sql: the chain index of the clusters in $clusters in month $period, for the chain section's ranking.
-- reads: mart.cluster_index
-- writes: (none)

SELECT * FROM mart.cluster_index WHERE period = $period AND list_contains($clusters, cluster_id);
