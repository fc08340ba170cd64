-- validation_history_periods.sql: how many distinct periods {table} holds — an upper bound of any firm's months
-- of history there (one row per firm and period, migration 0007). Fewer than the unit check's min_months and no
-- firm can qualify, so flows.stages.s05_validate._history_medians skips validation_history.sql: night 1's
-- first months of monthly and tax files read every stored row for an empty answer (≈ 0.1 CPU-s per stored
-- month at nation scale).
-- reads: {table}
-- writes: (none)
SELECT count(DISTINCT period) FROM {table};
