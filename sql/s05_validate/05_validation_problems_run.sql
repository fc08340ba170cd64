-- validation_problems_run.sql: one night's validation problems (meta.validation_problems), errors first,
-- for the night's summary and the CLI.
-- reads: meta.validation_problems
-- writes: (none)
SELECT file_name, kind, rule, expectation_type, column_name, problem, severity, polars_failed, gx_failed,
       only_polars, only_gx, example_rows, detail_zh, detail_en
FROM meta.validation_problems
WHERE run_id = $run_id
ORDER BY severity = 'warning', file_id, expectation_id;
