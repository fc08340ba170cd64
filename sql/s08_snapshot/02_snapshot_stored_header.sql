-- snapshot_stored_header.sql: the stored snapshot of month $period — version $version, or the latest when
-- $version is NULL — as its header row in mart.map_snapshots.
-- reads: mart.map_snapshots
-- writes: (none)

SELECT *
FROM mart.map_snapshots
WHERE period = $period AND ($version IS NULL OR version = $version)
ORDER BY version DESC
LIMIT 1;
