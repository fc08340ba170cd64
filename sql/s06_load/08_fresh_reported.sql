-- fresh_reported.sql: the core rows of a file whose values are all 当月 and all come after every month stored for
-- their firm-years (touched_reworked.sql: no 累计 value, none reaching back), inserted into {table} straight from
-- its reported rows, and their months into meta.changes. A 当月 value derives to itself over one month (span_months
-- 1) whatever the months before it, so derive_appended.sql or derive_rework.sql + pivot_<kind>.sql + the store
-- would write these same rows (each measure rounded to 6 decimals, one row per firm and month with a value — the
-- file's keys are distinct, see flows.stages.s06_load.prepare) through 7 long rows per source row; and no stored row
-- of those firm-years is at or after their months, so none is replaced and none derives otherwise than before.
-- No temp table in between: writing the rows to one and reading them back cost a nation monthly file ≈ 0.05 CPU-s.
-- {measures} are the kind's measure columns.
-- reads: history.reported_rows
-- writes: meta.changes, {table}
INSERT INTO {table} BY NAME
SELECT uscc, period, CAST(1 AS INTEGER) AS span_months, round(COLUMNS(* EXCLUDE (uscc, period, _any)), 6)
FROM (SELECT uscc, period, {measures}, coalesce({measures}) IS NOT NULL AS _any
      FROM history.reported_rows
      WHERE kind = $kind AND file_id = $file_id)
WHERE _any;

INSERT INTO meta.changes (run_id, kind, period)
SELECT DISTINCT $run_id, $kind, period FROM history.reported_rows
WHERE kind = $kind AND file_id = $file_id AND coalesce({measures}) IS NOT NULL;
