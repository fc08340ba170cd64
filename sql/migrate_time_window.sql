-- migrate_time_window.sql: warehouses built before the rename called mart.indicator_dictionary's time-window
-- column "window", a reserved word in DuckDB (a plain `SELECT window FROM …` fails). flows.support.warehouse.migrate
-- runs this once, at the start of a night, when the old column is still there (README: "Migrations").

ALTER TABLE mart.indicator_dictionary RENAME COLUMN "window" TO time_window;
