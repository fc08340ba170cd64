-- migration_record.sql: record that migration $version ($name) has been applied (in the migration's transaction).
-- reads: (none)
-- writes: meta.schema_migrations

INSERT INTO meta.schema_migrations (version, name, applied_at) VALUES ($version, $name, current_timestamp);
