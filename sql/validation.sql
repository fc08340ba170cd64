-- validation.sql: what the validate stage found, per file and rule, and per run (DESIGN §4).
-- One row per (file, expectation) of the file's Great Expectations suite (expectations/gx/expectations/<kind>.json).
-- `severity` comes from the suite: critical rules quarantined the failing rows (quarantine.rows), warning
-- rules loaded them and flagged them. Idempotent: safe to run against an existing warehouse.

CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS meta.validation_results (
    run_id            INTEGER,
    file_id           INTEGER,
    file_name         VARCHAR,
    kind              VARCHAR,
    suite             VARCHAR,
    expectation_id    VARCHAR,
    expectation_type  VARCHAR,
    rule              VARCHAR,
    column_name       VARCHAR,
    severity          VARCHAR,
    evaluated         BIGINT,
    passed            BOOLEAN,
    failed_rows       BIGINT,
    gx_evaluated      BIGINT,
    gx_failed         BIGINT,
    recorded_at       TIMESTAMP DEFAULT current_timestamp
);
COMMENT ON TABLE meta.validation_results IS '校验结果：每个文件、每条校验规则一行 / validation result per file and rule (expectation of the kind''s suite)';
COMMENT ON COLUMN meta.validation_results.run_id IS '运行编号 / run (meta.runs)';
COMMENT ON COLUMN meta.validation_results.file_id IS '文件编号 / file (meta.files)';
COMMENT ON COLUMN meta.validation_results.suite IS '校验套件（数据类别）/ Great Expectations suite (source kind)';
COMMENT ON COLUMN meta.validation_results.expectation_id IS '套件中规则的编号 / id of the expectation in the suite file';
COMMENT ON COLUMN meta.validation_results.rule IS '规则代码（与隔离区一致）/ stable rule code, as in quarantine.rows';
COMMENT ON COLUMN meta.validation_results.severity IS 'critical：隔离该行；warning：入库并标记 / critical quarantines the row, warning loads and flags it';
COMMENT ON COLUMN meta.validation_results.evaluated IS '参与校验的行数 / rows evaluated';
COMMENT ON COLUMN meta.validation_results.passed IS '规则是否全部通过 / whether every row passed';
COMMENT ON COLUMN meta.validation_results.failed_rows IS '未通过的行数 / rows failing the rule';
COMMENT ON COLUMN meta.validation_results.gx_evaluated IS 'Great Expectations 实际校验的行数 / rows Great Expectations itself ran the rule on';
COMMENT ON COLUMN meta.validation_results.gx_failed IS 'Great Expectations 报告的不合格行数 / unexpected rows reported by Great Expectations';

CREATE OR REPLACE VIEW meta.validation_files AS
SELECT run_id, file_id, any_value(file_name) AS file_name, any_value(kind) AS kind,
       count(*) AS rules_evaluated,
       count(*) FILTER (WHERE passed) AS rules_passed,
       count(*) FILTER (WHERE NOT passed) AS rules_failed,
       count(*) FILTER (WHERE NOT passed AND severity = 'critical') AS critical_failed,
       CAST(sum(failed_rows) FILTER (WHERE severity = 'critical') AS BIGINT) AS critical_failures,
       CAST(sum(failed_rows) FILTER (WHERE severity = 'warning') AS BIGINT) AS warning_failures
FROM meta.validation_results
GROUP BY run_id, file_id;
COMMENT ON VIEW meta.validation_files IS '每个文件的校验汇总 / validation summary per file';

CREATE OR REPLACE VIEW meta.validation_runs AS
SELECT v.run_id,
       count(*) AS files,
       CAST(sum(v.rules_evaluated) AS BIGINT) AS rules_evaluated,
       CAST(sum(v.rules_passed) AS BIGINT) AS rules_passed,
       CAST(sum(v.rules_failed) AS BIGINT) AS rules_failed,
       count(*) FILTER (WHERE v.critical_failed > 0) AS files_with_critical_failures,
       CAST(sum(f.rows_quarantined) AS BIGINT) AS rows_quarantined,
       CAST(sum(v.warning_failures) AS BIGINT) AS warning_flags
FROM meta.validation_files v
LEFT JOIN meta.files f USING (file_id)
GROUP BY v.run_id;
COMMENT ON VIEW meta.validation_runs IS '每次运行的校验汇总（规则数、通过、失败、受影响行数）/ validation summary per run (rules evaluated, passed, failed, rows affected)';

COMMENT ON COLUMN meta.validation_files.run_id IS '运行编号 / run';
COMMENT ON COLUMN meta.validation_files.file_id IS '文件编号 / file';
COMMENT ON COLUMN meta.validation_files.file_name IS '文件名 / file name';
COMMENT ON COLUMN meta.validation_files.kind IS '数据类别 / source kind';
COMMENT ON COLUMN meta.validation_files.rules_evaluated IS '校验规则数 / rules evaluated';
COMMENT ON COLUMN meta.validation_files.rules_passed IS '通过的规则数 / rules passed';
COMMENT ON COLUMN meta.validation_files.rules_failed IS '未通过的规则数 / rules failed';
COMMENT ON COLUMN meta.validation_files.critical_failed IS '未通过的严重规则数 / critical rules failed';
COMMENT ON COLUMN meta.validation_files.critical_failures IS '严重规则不合格行次 / row failures of critical rules';
COMMENT ON COLUMN meta.validation_files.warning_failures IS '警告规则不合格行次 / row failures of warning rules';
COMMENT ON COLUMN meta.validation_runs.run_id IS '运行编号 / run';
COMMENT ON COLUMN meta.validation_runs.files IS '校验文件数 / files validated';
COMMENT ON COLUMN meta.validation_runs.rules_evaluated IS '校验规则次数 / rule evaluations';
COMMENT ON COLUMN meta.validation_runs.rules_passed IS '通过次数 / rule evaluations passed';
COMMENT ON COLUMN meta.validation_runs.rules_failed IS '未通过次数 / rule evaluations failed';
COMMENT ON COLUMN meta.validation_runs.files_with_critical_failures IS '有严重问题的文件数 / files with critical failures';
COMMENT ON COLUMN meta.validation_runs.rows_quarantined IS '隔离行数 / rows quarantined';
COMMENT ON COLUMN meta.validation_runs.warning_flags IS '警告标记行次 / warning flags on loaded rows';
COMMENT ON COLUMN meta.validation_results.file_name IS '文件名 / file name';
COMMENT ON COLUMN meta.validation_results.kind IS '数据类别 / source kind';
COMMENT ON COLUMN meta.validation_results.expectation_type IS '规则类型（GX 期望）/ Great Expectations expectation type';
COMMENT ON COLUMN meta.validation_results.column_name IS '校验的列 / column checked';
COMMENT ON COLUMN meta.validation_results.recorded_at IS '记录时间 / recorded at';
