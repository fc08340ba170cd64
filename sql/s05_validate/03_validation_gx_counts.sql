-- validation_gx_counts.sql: Great Expectations' own counts (rows it evaluated, rows it failed) per file and
-- expectation, from the view _gx_counts, written beside the polars verdicts of the same run.
-- reads: _gx_counts
-- writes: meta.validation_results
-- registered: _gx_counts
UPDATE meta.validation_results AS v
SET gx_evaluated = g.gx_evaluated, gx_failed = g.gx_failed
FROM _gx_counts AS g
WHERE v.run_id = $run_id AND v.file_id = g.file_id AND v.expectation_id = g.expectation_id;
