-- The uscc of the drift inputs' firms (sql/drift_input_monthly.sql `firm`: the rowid in core.firms) of the clusters
-- $clusters, by which the Evidently report orders those clusters' rows (flows/stages/s09_drift.py html_jobs).
-- reads: core.firms
-- writes: (none)
SELECT rowid AS firm, uscc
FROM core.firms
WHERE list_contains($clusters::VARCHAR[], cluster_id);
