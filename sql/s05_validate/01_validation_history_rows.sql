-- validation_history_rows.sql: how many rows {table} holds, which picks the unit check's history read
-- (flows.stages.s05_validate._history_medians: one pass up to HISTORY_ONE_READ_ROWS, else the periods count and
-- the window read). DuckDB answers count(*) of a whole table from its row-group counts (≈ 0.2 ms, the same on a
-- nation table of 5.8 M rows). It is also the check that {table} exists: a missing one raises DuckDB's catalog
-- error, which the caller turns into CheckCannotRun naming it.
-- reads: {table}
-- writes: (none)
SELECT count(*) AS n FROM {table};
