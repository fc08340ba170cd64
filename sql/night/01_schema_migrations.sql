-- schema_migrations.sql: the warehouse's schema version, one row per migration applied (sql/migrations/NNNN_*.sql,
-- flows.support.warehouse.apply_migrations). Created before any migration runs, so a warehouse built before
-- migrations existed (which has none of it) starts at version 0 and is brought up by every migration in order.
-- reads: (none)
-- writes: meta.schema_migrations

CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE meta.schema_migrations IS '库结构版本：已执行的迁移（sql/migrations） / schema version: the migrations applied to this warehouse (sql/migrations)';
COMMENT ON COLUMN meta.schema_migrations.version IS '迁移编号（文件名前四位） / migration number (the file name''s first four digits)';
COMMENT ON COLUMN meta.schema_migrations.name IS '迁移名称（文件名） / migration name (its file name)';
COMMENT ON COLUMN meta.schema_migrations.applied_at IS '执行时间 / when it was applied';
