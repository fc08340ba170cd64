-- fresh_reported.sql: the core rows of a file that only appends 当月 values (touched_reworked.sql: no rework, no
-- 累计 value), straight from its reported rows into temp table fresh: such a value derives to itself over one
-- month, so derive_appended.sql + pivot_<kind>.sql would give these same rows (each measure rounded to 6
-- decimals, span_months 1, one row per firm and month with a value — the file's keys are distinct, see
-- flows.stages.s06_load.prepare) through 7 long rows per source row. {measures} are the kind's measure
-- columns; store_appended.sql writes fresh by name.
-- reads: history.reported_rows
-- writes: fresh
CREATE OR REPLACE TEMP TABLE fresh AS
SELECT uscc, period, CAST(1 AS INTEGER) AS span_months, round(COLUMNS(* EXCLUDE (uscc, period, _any)), 6)
FROM (SELECT uscc, period, {measures}, coalesce({measures}) IS NOT NULL AS _any
      FROM history.reported_rows
      WHERE kind = $kind AND file_id = $file_id)
WHERE _any;
