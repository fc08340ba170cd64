-- export_table_columns.sql: name, type and comment of every column of table $schema.$table_name, for the notes
-- sheet of an Excel export.
-- reads: (the catalog: duckdb_columns)
-- writes: (none)

SELECT column_name, data_type, comment
FROM duckdb_columns()
WHERE schema_name = $schema AND table_name = $table_name;
