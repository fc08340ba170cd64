-- export_column_comments.sql: the distinct comments of the columns named $column in the documented schemas
-- ($schemas), for a query's notes sheet (used only when they all say the same).
-- reads: (the catalog: duckdb_columns)
-- writes: (none)

SELECT DISTINCT comment
FROM duckdb_columns()
WHERE column_name = $column AND comment IS NOT NULL AND schema_name IN (SELECT unnest($schemas::VARCHAR[]));
