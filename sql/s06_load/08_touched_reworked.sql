-- touched_reworked.sql: how many firm-years the file's rows rework rather than append (touched, derive_flows.sql),
-- how many they append, and how many of its reported rows with a value are 累计. No rework on the usual night:
-- the rework path (derive_rework.sql, store_flows.sql) is skipped; no 累计 value either: nothing is differenced,
-- and the file's rows go to core as reported (fresh_reported.sql). A file that appends no firm-year (each one
-- reworked, e.g. a year of months in one file) skips derive_appended.sql, which would find nothing. {measures}
-- are the kind's measure columns.
-- reads: history.reported_rows, touched
-- writes: (none)
SELECT (SELECT count(*) FROM touched WHERE NOT appended) AS reworks,
       (SELECT count(*) FROM touched WHERE appended) AS appends,
       (SELECT count(*) FROM history.reported_rows
        WHERE kind = $kind AND file_id = $file_id AND basis = 'ytd' AND coalesce({measures}) IS NOT NULL) AS ytd_rows;
