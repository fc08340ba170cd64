-- The uscc of every firm the drift inputs can hold (sql/drift_input_monthly.sql `firm`: its rowid in core.firms), by
-- which the Evidently report orders its few clusters' rows (flows/stages/s09_drift.py html_jobs). Read with the
-- inputs, before the stage writes anything: a checkpoint after a write may renumber the rowids of a table with
-- deleted rows.
-- reads: core.firms
-- writes: (none)
SELECT rowid AS firm, uscc
FROM core.firms
WHERE cluster_id IS NOT NULL;
