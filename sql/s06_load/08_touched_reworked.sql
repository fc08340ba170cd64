-- touched_reworked.sql: how many firm-years the file's rows rework rather than append (touched, derive_flows.sql),
-- how many they append, and how many of its reported values are 累计 (file_rows). No rework on the usual night:
-- the rework path (derive_rework.sql, store_flows.sql) is skipped; no 累计 value either: nothing is differenced,
-- and the file's rows go to core as reported (fresh_reported.sql). A file that appends no firm-year (each one
-- reworked, e.g. a year of months in one file) skips derive_appended.sql, which would find nothing.
-- reads: file_rows, touched
-- writes: (none)
SELECT (SELECT count(*) FROM touched WHERE NOT appended) AS reworks,
       (SELECT count(*) FROM touched WHERE appended) AS appends,
       (SELECT count(*) FROM file_rows WHERE basis = 'ytd') AS ytd_values;
