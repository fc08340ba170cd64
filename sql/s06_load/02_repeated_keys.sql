-- repeated_keys.sql: the keys (firm|month) that more than one row of a monthly-statistics or tax file (view
-- `incoming`) carries, with their rows (first five keys). Validation quarantines duplicate and conflicting rows,
-- so there are none; the load refuses a file where one is left (flows/stages/s06_load.py), because the
-- derivation keeps one row per firm and month and a repeated key would lose one of the values without a word.
-- Together with the derivation this is what keeps (uscc, period) unique in core.firm_monthly and core.tax
-- (migration 0007).
-- reads: incoming
-- writes: (none)
-- registered: incoming
SELECT _key, list(_row ORDER BY _row) AS source_rows
FROM incoming
GROUP BY _key
HAVING count(*) > 1
ORDER BY min(_row)
LIMIT 5;
