-- report_has_table.sql: whether a table exists (a warehouse from before a stage existed lacks its marts; the
-- report then says the section is not available instead of failing).
-- reads: (none)
-- writes: (none)
SELECT count(*) > 0 AS present FROM duckdb_tables() WHERE schema_name = $schema AND table_name = $table;
