-- open_quarantine.sql: whether an earlier file left open quarantined rows of this kind with a key that a row of
-- this file could correct (load_resolve.sql): on most nights none, and the file's keys need not be looked at.
-- reads: quarantine.rows
-- writes: (none)
SELECT count(*) FROM quarantine.rows
WHERE kind = $kind AND status = 'open' AND file_id < $file_id AND row_key IS NOT NULL;
