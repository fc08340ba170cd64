-- report_quality_failed.sql: files that could not be read, with their reason (internal edition only: it names
-- files).
-- reads: meta.files
-- writes: (none)
SELECT file_name, reason FROM meta.files WHERE status = 'failed' ORDER BY file_name;
