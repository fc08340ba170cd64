-- export_table.sql: every row of one table or view, for `clusterwatch export --table` ({table}: a checked
-- schema.name). A --query is the analyst's own SQL, run as given on a read-only connection.
-- reads: {table}
-- writes: (none)

SELECT * FROM {table};
