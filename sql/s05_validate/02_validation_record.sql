-- validation_record.sql: one file's per-rule validation results (meta.validation_results) from the view
-- _validation_rows; re-recording a (run, file) replaces its rows. GX counts are filled in later by
-- validation_gx_counts.sql, after the night's one GX run per kind.
-- reads: _validation_rows
-- writes: meta.validation_results
-- registered: _validation_rows
DELETE FROM meta.validation_results WHERE run_id = $run_id AND file_id = $file_id;

INSERT INTO meta.validation_results BY NAME
SELECT run_id, file_id, file_name, kind, suite, expectation_id, expectation_type, rule,
       column_name, severity, evaluated, passed, failed_rows, gx_evaluated, gx_failed
FROM _validation_rows;
