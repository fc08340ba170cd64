-- report_validation_problems.sql: the data-quality section's validation problems (meta.validation_problems):
-- rules on which the polars verdicts and Great Expectations' re-check disagreed (errors: a quarantine or flag
-- not confirmed), and rules that could not be checked (warnings), newest night first.
-- reads: meta.validation_problems
-- writes: (none)
SELECT run_id, file_name, kind, rule, column_name, problem, severity, example_rows, detail_zh, detail_en
FROM meta.validation_problems
ORDER BY severity = 'warning', run_id DESC, file_name, expectation_id;
