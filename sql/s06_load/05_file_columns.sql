-- file_columns.sql: the header report of one file (view `file_columns`, from flows.stages.s03_layout.columns_rows):
-- what each source column became. Replaces the file's earlier report if it is loaded again after a failure.
-- reads: file_columns
-- writes: meta.file_columns
-- registered: file_columns
DELETE FROM meta.file_columns WHERE file_id = $file_id;

INSERT INTO meta.file_columns (file_id, position, source_header, column_name, basis, unit, unit_source, factor,
                               status, note)
SELECT $file_id, position, source_header, column_name, basis, unit, unit_source, factor, status, note
FROM file_columns;
