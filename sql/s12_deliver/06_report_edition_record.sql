-- report_edition_record.sql: record an edition of the monthly report as queued (outbox row $outbox_id).
-- reads: (none)
-- writes: meta.report_editions

INSERT INTO meta.report_editions (period, lang, audience, scope, edition, content_hash, tables, outbox_id)
VALUES ($period::DATE, $lang, $audience, $scope, $edition, $content_hash, $tables, $outbox_id);
