-- source_column_comments.sql: every column of the core and history tables with its comment, for
-- flows.support.warehouse.comment_from_contract (which writes only the comments that differ from the contract).
-- reads: (the catalog: duckdb_columns)
-- writes: (none)

SELECT schema_name || '.' || table_name AS table_name, column_name, comment
FROM duckdb_columns()
WHERE schema_name IN ('core', 'history');
