-- file_finish.sql: record how one file ended: loaded (with its row accounting) or failed (with the reason).
-- reads: (none)
-- writes: meta.files
UPDATE meta.files SET
    status           = $status,
    reason           = $reason,
    encoding         = $encoding,
    header_map       = $header_map,
    rows_in          = $rows_in,
    rows_loaded      = $rows_loaded,
    rows_quarantined = $rows_quarantined,
    loaded_at        = current_timestamp
WHERE file_id = $file_id;
