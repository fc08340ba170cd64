-- load_quarantine.sql: put a file's rejected rows (view `rejected`) into quarantine.rows with their
-- original values. Run only when the file has rejected rows (flows.stages.s06_load.apply_load counts them).
-- reads: rejected
-- writes: quarantine.rows
-- registered: rejected
INSERT INTO quarantine.rows (file_id, file_name, kind, row_number, column_name, value, rule, severity,
                             message, message_en, original, row_key, status)
SELECT $file_id, $file_name, $kind, _row, column_name, value, rule, severity, message, message_en,
       original, row_key, 'open'
FROM rejected;
