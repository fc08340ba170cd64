-- load_reported.sql: every row of a monthly-statistics or tax file (view `incoming`, wide, measures as DOUBLE)
-- goes to history.reported_rows as reported, one row per source row with its measures (migration 0006); the view
-- history.reported_values reads them one row per (firm, period, measure), empty cells skipped. Derivation of
-- monthly values follows (derive_flows).
-- reads: incoming
-- writes: history.reported_rows
-- registered: incoming
INSERT INTO history.reported_rows BY NAME
SELECT * EXCLUDE (_row), $kind AS kind, $file_id AS file_id, _row AS row_number
FROM incoming;
