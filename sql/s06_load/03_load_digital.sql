-- load_digital.sql: upsert digital-transformation survey answers keyed by (uscc, survey_date).
-- A survey changes every later period (the latest survey dated <= month end counts).
-- reads: core.digital_surveys, incoming
-- writes: core.digital_surveys, history.digital_surveys, meta.changes
-- registered: incoming
INSERT OR REPLACE INTO core.digital_surveys (uscc, survey_date, cloud, transformation, maturity, platform_connected,
                                           file_id)
SELECT uscc, survey_date, cloud, transformation, maturity, platform_connected, $file_id FROM incoming;

INSERT INTO history.digital_surveys BY NAME SELECT * FROM core.digital_surveys WHERE file_id = $file_id;

INSERT INTO meta.changes (run_id, kind, period) SELECT DISTINCT $run_id, 'digital', date_trunc('month', survey_date) FROM incoming;
