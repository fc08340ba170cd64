-- 0004_validation_problems.sql: meta.validation_problems, where the night records what validation could not
-- vouch for: rules on which the polars verdicts and Great Expectations' re-check of the same rows disagree
-- (severity error: the night's summary, exit status, meta.runs.status and the report say so) and rules that had
-- nothing to check against (severity warning). Written by flows/stages/s05_validate.py.
-- reads: (none)
-- writes: meta.validation_problems

CREATE TABLE meta.validation_problems (
    run_id            INTEGER,
    file_id           INTEGER,
    file_name         VARCHAR,
    kind              VARCHAR,
    expectation_id    VARCHAR,
    expectation_type  VARCHAR,
    rule              VARCHAR,
    column_name       VARCHAR,
    problem           VARCHAR,
    severity          VARCHAR,
    polars_failed     BIGINT,
    gx_failed         BIGINT,
    only_polars       BIGINT,
    only_gx           BIGINT,
    example_rows      VARCHAR,
    detail_zh         VARCHAR,
    detail_en         VARCHAR,
    recorded_at       TIMESTAMP DEFAULT current_timestamp
);
COMMENT ON TABLE meta.validation_problems IS '校验问题：两个校验引擎（polars 与 Great Expectations）结论不一致（error），或规则未能校验（warning）/ validation problems: the two engines (polars verdicts, Great Expectations re-check) disagree (error), or a rule could not be checked (warning)';
COMMENT ON COLUMN meta.validation_problems.run_id IS '运行编号 / run (meta.runs)';
COMMENT ON COLUMN meta.validation_problems.file_id IS '文件编号 / file (meta.files)';
COMMENT ON COLUMN meta.validation_problems.file_name IS '文件名 / file name';
COMMENT ON COLUMN meta.validation_problems.kind IS '数据类别 / source kind';
COMMENT ON COLUMN meta.validation_problems.expectation_id IS '套件中规则的编号 / id of the expectation in the suite file';
COMMENT ON COLUMN meta.validation_problems.expectation_type IS '规则类型（GX 期望）/ Great Expectations expectation type';
COMMENT ON COLUMN meta.validation_problems.rule IS '规则代码 / stable rule code';
COMMENT ON COLUMN meta.validation_problems.column_name IS '校验的列 / column checked';
COMMENT ON COLUMN meta.validation_problems.problem IS 'engines_disagree：两引擎结论不一致；not_checked：规则未校验 / engines_disagree or not_checked';
COMMENT ON COLUMN meta.validation_problems.severity IS 'error（引擎不一致）或 warning（未校验）/ error (engines disagree) or warning (not checked)';
COMMENT ON COLUMN meta.validation_problems.polars_failed IS 'GX 所校验的行中 polars 判定不合格的行数 / rows GX checked that polars failed';
COMMENT ON COLUMN meta.validation_problems.gx_failed IS 'GX 判定不合格的行数 / rows GX failed';
COMMENT ON COLUMN meta.validation_problems.only_polars IS '仅 polars 判定不合格的行数 / rows failed by polars only';
COMMENT ON COLUMN meta.validation_problems.only_gx IS '仅 GX 判定不合格的行数 / rows failed by GX only';
COMMENT ON COLUMN meta.validation_problems.example_rows IS '不一致的行号示例（与 Excel 所见一致）/ example rows where they differ (as seen in Excel)';
COMMENT ON COLUMN meta.validation_problems.detail_zh IS '说明（中文）/ what happened, in Chinese';
COMMENT ON COLUMN meta.validation_problems.detail_en IS '说明（英文）/ what happened, in English';
COMMENT ON COLUMN meta.validation_problems.recorded_at IS '记录时间 / recorded at';
