-- 0002_indicator_dictionary.sql: mart.indicator_dictionary with its time-window column named time_window.
-- Releases before issue 15 called it "window", a reserved word in DuckDB (a plain `SELECT window FROM …`
-- failed); 2247570 created it as time_window but a warehouse it adopted may still have the old name. The
-- table holds nothing but the indicator registry, which the indicator stage writes into it every night
-- (sql/s07_indicators/01_indicators_dictionary.sql), so it is dropped and made anew: no rename that fails
-- where the old column is gone, and no rows lost.
-- reads: (none)
-- writes: mart.indicator_dictionary

DROP TABLE IF EXISTS mart.indicator_dictionary;
CREATE TABLE mart.indicator_dictionary (
    indicator VARCHAR PRIMARY KEY, name_zh VARCHAR, name_en VARCHAR, unit VARCHAR, direction VARCHAR,
    time_window VARCHAR, rollup VARCHAR, sql_file VARCHAR, definition VARCHAR, ordinal INTEGER,
    unit_en VARCHAR, definition_zh VARCHAR
);
COMMENT ON TABLE mart.indicator_dictionary IS '指标字典：每个监测指标的名称、单位、方向、窗口与口径（由 flows/registry/indicators.toml 生成） / indicator dictionary: name, unit, direction, window and definition of every monitoring indicator (generated from flows/registry/indicators.toml)';
COMMENT ON COLUMN mart.indicator_dictionary.indicator IS '指标代码（宽表列名） / indicator code (column name in the wide view)';
COMMENT ON COLUMN mart.indicator_dictionary.name_zh IS '中文名称 / Chinese name';
COMMENT ON COLUMN mart.indicator_dictionary.name_en IS '英文名称 / English name';
COMMENT ON COLUMN mart.indicator_dictionary.unit IS '单位（金额万元、土地亩、能源吨标准煤） / unit (money 万元, land 亩, energy tce)';
COMMENT ON COLUMN mart.indicator_dictionary.direction IS '方向：higher_better 越高越好 / lower_better 越低越好 / neutral 中性 / direction: higher or lower is better, or neutral';
COMMENT ON COLUMN mart.indicator_dictionary.time_window IS '时间窗口：month 当月 / ytd 累计 / ttm 近12个月 / as_of 期末状态 / registry 名录 / time window: month, year to date, trailing 12 months, state at end of month, registry';
COMMENT ON COLUMN mart.indicator_dictionary.rollup IS '省级汇总方式：sum 加总 / ratio 分子分母分别加总后相除 / growth / max_share / hhi / province roll-up: sum, or ratio of summed numerators and denominators';
COMMENT ON COLUMN mart.indicator_dictionary.sql_file IS '计算该指标的 SQL 文件 / the sql/ file that computes it';
COMMENT ON COLUMN mart.indicator_dictionary.definition IS '计算口径（文字） / formula in words';
COMMENT ON COLUMN mart.indicator_dictionary.unit_en IS '单位（英文） / unit in English';
COMMENT ON COLUMN mart.indicator_dictionary.definition_zh IS '计算口径（中文） / formula in Chinese';
COMMENT ON COLUMN mart.indicator_dictionary.ordinal IS '排列顺序 / display order';
