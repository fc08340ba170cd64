-- snapshot_store.sql: store a new snapshot version — its header in mart.map_snapshots and its cluster rows
-- (the frame registered as snapshot_rows; {columns}: checked column names) in mart.map_snapshot_clusters.
-- Run inside the caller's transaction, so a snapshot is stored whole or not at all.
-- reads: snapshot_rows
-- writes: mart.map_snapshot_clusters, mart.map_snapshots
-- registered: snapshot_rows

INSERT INTO mart.map_snapshots (snapshot_id, period, version, created_at, content_hash, n_clusters, n_suppressed,
                                config_hash, default_color, files)
VALUES ($snapshot_id, $period, $version, $created_at, $content_hash, $n_clusters, $suppressed_count, $config_hash,
        $default_color, $files);

INSERT INTO mart.map_snapshot_clusters ({columns})
SELECT {columns} FROM snapshot_rows;
