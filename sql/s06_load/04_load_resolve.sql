-- load_resolve.sql: a row loaded now under the same key as an open quarantined row of an earlier file
-- corrects it: that quarantine row becomes 'resolved' (it stays, with the file that resolved it).
-- The open keys (few) are what is hashed; the file's keys (all its rows: view `loaded_keys`, made only for this,
-- flows.stages.s06_load.loaded_keys) are only probed against them.
-- reads: loaded_keys, quarantine.rows
-- writes: quarantine.rows
-- registered: loaded_keys
UPDATE quarantine.rows q SET status = 'resolved', resolved_by_file_id = $file_id
FROM (SELECT DISTINCT i._key
      FROM loaded_keys i
      SEMI JOIN (SELECT row_key FROM quarantine.rows
                 WHERE kind = $kind AND status = 'open' AND file_id < $file_id) o ON i._key = o.row_key) i
WHERE q.row_key = i._key AND q.kind = $kind AND q.status = 'open' AND q.file_id < $file_id;
