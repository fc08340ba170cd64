-- load_platforms.sql: upsert innovation platforms (view `incoming`); every version kept in history.
-- reads: core.platforms, incoming
-- writes: core.platforms, history.platforms, meta.changes
-- registered: incoming
INSERT OR REPLACE INTO core.platforms (platform_name, cluster_id, level, type, file_id)
SELECT platform_name, cluster_id, level, type, $file_id FROM incoming;

INSERT INTO history.platforms BY NAME SELECT * FROM core.platforms WHERE file_id = $file_id;

INSERT INTO meta.changes (run_id, kind, period) VALUES ($run_id, 'platforms', NULL);
