-- derive_flows.sql: monthly values from the latest reported values (docs/architecture.md#input-contract) for the firm-years that
-- file $file_id (kind $kind: monthly or tax) reported. Run after each file, so the next file of the
-- night is validated against a history that already includes this one. {table} is the kind's derived
-- table (core.firm_monthly or core.tax), read for what has been derived so far.
--   * the latest file wins per (firm, month, measure): a revision replaces.
--   * 累计 (ytd) reports are differenced within a year: value(m) = YTD(m) − YTD(previous record of that
--     year), where YTD of a 当月 record is the previous YTD plus its own value. span_months = months since
--     the previous record (a 1–2月 report gives one record on February with span 2). Nothing is invented
--     for the months inside a span.
--   * stocks (measures not in $flows, e.g. employees) are never differenced.
-- Two paths give the same values:
--   * append (the usual night): the file's one month of a firm-year comes after every month derived for
--     it so far. The previous record's YTD is the sum of the year's derived values, so only the file's
--     own rows are derived: no window over the history (derive_appended.sql; a file of 当月 rows that only
--     appends needs no arithmetic at all and goes straight to core rows, fresh_reported.sql).
--   * rework (a revision, a late or out-of-order file, several months in one file): every month of the
--     firm-year is derived again from all its reported values — derive_rework.sql, run only when the file
--     reworks a firm-year (on the usual night it would scan history.reported_values for nothing).
-- This file finds which: temp table touched(uscc, yr, appended, after); flows.stages.s06_load.derive_monthly picks
-- the path (touched_reworked.sql). `after`: every month the file gives the firm-year comes after every month stored
-- for it (one month or several) — such 当月 values derive to themselves (fresh_reported.sql). The file's firm-years
-- are those of its reported rows with a value — what the long view history.reported_values (which skips empty
-- cells) holds of the file — read from the wide rows: one row per source row instead of one per value (7 for a
-- monthly file; 0.43 → ≈ 0.1 CPU-s for a nation file). {measures} are the kind's measure columns (the others are
-- empty in its rows, load_reported.sql).
-- reads: history.reported_rows, {table}
-- writes: touched
CREATE OR REPLACE TEMP TABLE touched AS
WITH f AS (
    SELECT uscc, year(period) AS yr, min(period) AS lo, max(period) AS hi
    FROM history.reported_rows
    WHERE kind = $kind AND file_id = $file_id AND coalesce({measures}) IS NOT NULL
    GROUP BY ALL
), later AS (
    -- A firm-year is appended when no stored month of it is at or after the file's month: only stored rows
    -- from the file's earliest month on can say otherwise, and on the usual night (the table grows month by
    -- month, in period order) their row groups are the only ones read. Joining every stored row of the file's
    -- firms cost 0.9 CPU-s per nation file against 0.4, for the same flags.
    SELECT s.uscc, year(s.period) AS yr, max(s.period) AS last
    FROM {table} s
    WHERE s.period >= (SELECT min(lo) FROM f)
    GROUP BY ALL
)
SELECT f.uscc, f.yr, f.lo = f.hi AND after AS appended, after
FROM (SELECT f.*, coalesce(d.last < f.lo, true) AS after FROM f LEFT JOIN later d USING (uscc, yr)) f;
