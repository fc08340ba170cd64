-- run_start.sql: open a row in meta.runs for this night and return its id.
INSERT INTO meta.runs (run_id, started_at, inbox, status)
VALUES (nextval('meta.run_seq'), current_timestamp, $inbox, 'running')
RETURNING run_id;
