-- load_reported.sql: every value of a monthly-statistics or tax file (view `incoming`, wide, measures as
-- DOUBLE) goes to history.reported_values as reported, one row per (firm, period, measure); empty cells
-- are not reports and are skipped. Derivation of monthly values happens after all files (derive_flows).
-- reads: incoming
-- writes: history.reported_values
-- registered: incoming
INSERT INTO history.reported_values (kind, uscc, period, basis, measure, value, file_id, row_number)
SELECT $kind, uscc, period, basis, measure, value, $file_id, _row
FROM (UNPIVOT (SELECT * EXCLUDE (_key) FROM incoming)
      ON COLUMNS(* EXCLUDE (uscc, period, basis, _row)) INTO NAME measure VALUE value);
