-- validation_problems_record.sql: rules not checked on a file and disagreements between the two validation
-- engines (polars verdicts, Great Expectations re-check), from the view _validation_problems, into
-- meta.validation_problems. Re-recording a (run, file, problem) replaces its rows, so a retried stage
-- records each once.
-- reads: _validation_problems
-- writes: meta.validation_problems
-- registered: _validation_problems
DELETE FROM meta.validation_problems AS p
WHERE p.run_id = $run_id
  AND EXISTS (SELECT 1 FROM _validation_problems AS n WHERE n.file_id = p.file_id AND n.problem = p.problem);

INSERT INTO meta.validation_problems BY NAME
SELECT $run_id AS run_id, file_id, file_name, kind, expectation_id, expectation_type, rule, column_name,
       problem, severity, polars_failed, gx_failed, only_polars, only_gx, example_rows, detail_zh, detail_en
FROM _validation_problems;
