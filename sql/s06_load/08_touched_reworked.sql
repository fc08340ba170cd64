-- touched_reworked.sql: how many firm-years the file's rows rework rather than append (touched, derive_flows.sql),
-- how many they append, how many reach back to or before a stored month of them (not `after`), and how many of its
-- reported rows with a value are 累计. With no 累计 value and nothing reaching back, each value derives to itself
-- and the file's rows go to core as reported (fresh_reported.sql) — the usual night's one new month, and a first
-- night's or a backfill's year of 当月 months in one file (a year of months reworks its firm-year, and
-- derive_rework.sql's window over it cost ≈ 40 ms a sample file, 48 of the sample night's 71 reworking files).
-- Otherwise no rework means the rework path (derive_rework.sql, store_flows.sql) is skipped; a file that appends
-- no firm-year skips derive_appended.sql, which would find nothing. {measures} are the kind's measure columns.
-- reads: history.reported_rows, touched
-- writes: (none)
SELECT (SELECT count(*) FROM touched WHERE NOT appended) AS reworks,
       (SELECT count(*) FROM touched WHERE appended) AS appends,
       (SELECT count(*) FROM touched WHERE NOT after) AS reaching_back,
       (SELECT count(*) FROM history.reported_rows
        WHERE kind = $kind AND file_id = $file_id AND basis = 'ytd' AND coalesce({measures}) IS NOT NULL) AS ytd_rows;
