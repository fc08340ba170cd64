-- 0003_runs_release.sql: meta.runs records which release of clusterwatch ran each night, so a changed number
-- can be traced to the code that computed it (nights before this migration keep NULL). Also the example of an
-- ALTER: a new column is added here, never by editing an earlier migration, and goes last in the table, so
-- every INSERT names its columns (sql/night/02_run_start.sql).
-- reads: (none)
-- writes: meta.runs

ALTER TABLE meta.runs ADD COLUMN release VARCHAR;
COMMENT ON COLUMN meta.runs.release IS '运行的 clusterwatch 版本 / the clusterwatch release that ran the night';
