-- load_flags.sql: put a file's warning-level rows (view `flagged`) into meta.row_flags. Run only when the file
-- has such rows (flows.stages.s06_load.apply_load counts them): most files have none.
-- reads: flagged
-- writes: meta.row_flags
-- registered: flagged
INSERT INTO meta.row_flags (file_id, row_number, column_name, value, rule, message, message_en)
SELECT $file_id, _row, column_name, value, rule, message, message_en FROM flagged;
