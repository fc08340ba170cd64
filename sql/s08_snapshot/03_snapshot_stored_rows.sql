-- snapshot_stored_rows.sql: the cluster rows of stored snapshot $snapshot_id, in one fixed column order
-- ({columns}: checked column names, from flows/stages/s08_snapshot.py) and by cluster.
-- reads: mart.map_snapshot_clusters
-- writes: (none)

SELECT {columns}
FROM mart.map_snapshot_clusters
WHERE snapshot_id = $snapshot_id
ORDER BY cluster_id;
