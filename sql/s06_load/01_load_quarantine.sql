-- load_quarantine.sql: put a file's rejected rows (view `rejected`) into quarantine.rows with their
-- original values, and its warning-level rows (view `flagged`) into meta.row_flags.
-- reads: flagged, rejected
-- writes: meta.row_flags, quarantine.rows
-- registered: flagged, rejected
INSERT INTO quarantine.rows (file_id, file_name, kind, row_number, column_name, value, rule, severity,
                             message, message_en, original, row_key, status)
SELECT $file_id, $file_name, $kind, _row, column_name, value, rule, severity, message, message_en,
       original, row_key, 'open'
FROM rejected;

INSERT INTO meta.row_flags (file_id, row_number, column_name, value, rule, message, message_en)
SELECT $file_id, _row, column_name, value, rule, message, message_en FROM flagged;
