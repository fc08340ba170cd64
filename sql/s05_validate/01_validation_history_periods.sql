-- validation_history_periods.sql: for a table of more than HISTORY_ONE_READ_ROWS rows (a smaller one is read in
-- one pass, validation_history_one_read.sql): how many distinct periods {table} holds — an upper bound of any
-- firm's months of history there (one row per firm and period, migration 0007) — and the earliest of its latest
-- $months periods (window_start). Fewer than the unit check's min_months and no firm can qualify, so
-- flows.stages.s05_validate._history_medians skips the history query: night 1's first months of monthly and tax
-- files read every stored row for an empty answer (≈ 0.1 CPU-s per stored month at nation scale). No more than
-- $months and every stored month is within each firm's window (validation_history_whole.sql); more, and
-- validation_history.sql reads the rows from window_start on, and older rows only for the firms short of $months
-- there.
-- reads: {table}
-- writes: (none)
WITH p AS (SELECT DISTINCT period FROM {table})
SELECT count(*) AS periods,
       (SELECT min(period) FROM (SELECT period FROM p ORDER BY period DESC LIMIT $months)) AS window_start
FROM p;
