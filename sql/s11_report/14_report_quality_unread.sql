-- report_quality_unread.sql: columns of delivered files that were not loaded (no alias matched, comparison or
-- cross-check columns), from the header reports (meta.file_columns); internal edition only.
-- reads: meta.file_columns, meta.files
-- writes: (none)
SELECT f.file_name, c.source_header, c.status, c.note
FROM meta.file_columns c
JOIN meta.files f USING (file_id)
WHERE c.status IN ('ignored', 'not_loaded') AND c.source_header <> ''
ORDER BY f.file_name, c.position;
