-- run_start.sql: open a row in meta.runs for this night (with the release running it) and return its id.
-- reads: (none)
-- writes: meta.runs

INSERT INTO meta.runs (run_id, started_at, inbox, status, release)
VALUES (nextval('meta.run_seq'), current_timestamp, $inbox, 'running', $release)
RETURNING run_id;
