-- load_resolve.sql: a row loaded now under the same key as an open quarantined row of an earlier file
-- corrects it: that quarantine row becomes 'resolved' (it stays, with the file that resolved it).
-- reads: incoming
-- writes: quarantine.rows
-- registered: incoming
UPDATE quarantine.rows q SET status = 'resolved', resolved_by_file_id = $file_id
FROM (SELECT DISTINCT _key FROM incoming) i
WHERE q.row_key = i._key AND q.kind = $kind AND q.status = 'open' AND q.file_id < $file_id;
