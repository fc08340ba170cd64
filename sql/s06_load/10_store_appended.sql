-- store_appended.sql: store_flows.sql for a file that only appends (every firm-year it touched is appended,
-- see derive_flows.sql): a fresh row's month comes after every month stored for its firm-year, so no stored
-- row matches it and none is reworked — store_flows.sql would find every fresh row changed and delete
-- nothing. The rows go in as they are and their months to meta.changes, without scanning {table}.
-- reads: fresh
-- writes: meta.changes, {table}
INSERT INTO {table} BY NAME SELECT * FROM fresh;

INSERT INTO meta.changes (run_id, kind, period)
SELECT DISTINCT $run_id, $kind, period FROM fresh;
