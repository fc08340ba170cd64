-- report_edition_last.sql: the latest edition of the monthly report ($period, $lang, $audience, $scope) queued
-- for sending: its number, the hash of its table CSVs and the tables themselves (flows/support/editions.py
-- compares them with this rendering's to decide whether a revision goes out).
-- reads: meta.report_editions
-- writes: (none)

SELECT edition, content_hash, tables
FROM meta.report_editions
WHERE period = $period::DATE AND lang = $lang AND audience = $audience AND scope = $scope
ORDER BY edition DESC
LIMIT 1;
