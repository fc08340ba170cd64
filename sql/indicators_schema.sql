-- indicators_schema.sql: the indicator marts (DESIGN §5a) and the indicator stage's state.
-- Idempotent. Every mart table and column carries a Chinese and English COMMENT. work.indicator_state records
-- what the marts were computed with (hash of the configuration and the registries, data range).

CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS work;

CREATE TABLE IF NOT EXISTS mart.indicator_dictionary (
    indicator VARCHAR PRIMARY KEY, name_zh VARCHAR, name_en VARCHAR, unit VARCHAR, direction VARCHAR,
    time_window VARCHAR, rollup VARCHAR, sql_file VARCHAR, definition VARCHAR, ordinal INTEGER
);
-- Added after the first release (a warehouse built before gets them here): the unit in English and the
-- definition in Chinese, which the two editions of the report read.
ALTER TABLE mart.indicator_dictionary ADD COLUMN IF NOT EXISTS unit_en VARCHAR;
ALTER TABLE mart.indicator_dictionary ADD COLUMN IF NOT EXISTS definition_zh VARCHAR;
-- The marts below carry no PRIMARY KEY constraint: an index would be maintained on every nightly delete and
-- insert of millions of rows. Their keys (named in each table's comment) are unique by construction and
-- checked by tests/test_indicators.py.

CREATE TABLE IF NOT EXISTS mart.cluster_indicators (
    cluster_id VARCHAR, period DATE, indicator VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
    n_firms BIGINT, flags VARCHAR[], pct_rank_in_domain DOUBLE
);

CREATE TABLE IF NOT EXISTS mart.province_indicators (
    province VARCHAR, period DATE, indicator VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
    n_firms BIGINT, n_clusters BIGINT, flags VARCHAR[]
);

CREATE TABLE IF NOT EXISTS mart.cluster_classes (
    cluster_id VARCHAR, period DATE, output_ttm DOUBLE, scale_tier VARCHAR, scale_tier_en VARCHAR,
    local_supporting_rate DOUBLE, n_chain_leaders BIGINT, n_platforms BIGINT, rd_intensity DOUBLE,
    test_linkage BOOLEAN, test_leadership BOOLEAN, test_innovation BOOLEAN, tests_passed INTEGER,
    stage VARCHAR, stage_en VARCHAR
);

CREATE TABLE IF NOT EXISTS mart.firm_ratings (
    uscc VARCHAR, period DATE, cluster_id VARCHAR, score DOUBLE, class VARCHAR, rated BOOLEAN,
    reason VARCHAR, rating_group VARCHAR, rank_in_group BIGINT, n_rated_in_group BIGINT,
    land_area DOUBLE, per_mu_tax DOUBLE, per_mu_value_added DOUBLE, value_added_basis VARCHAR,
    output_per_tce DOUBLE, labour_productivity DOUBLE, rd_intensity DOUBLE, flags VARCHAR[]
);

-- The reusable procurement aggregates in schema work are (re)created by indicators_work.sql on a full recompute.
CREATE TABLE IF NOT EXISTS work.indicator_state (
    config_hash VARCHAR, computed_at TIMESTAMP, first_period DATE, last_period DATE
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

COMMENT ON TABLE mart.cluster_indicators IS '集群监测指标（长表）：每个集群、月份、指标一行 / cluster monitoring indicators (long): one row per cluster, month and indicator';
COMMENT ON COLUMN mart.cluster_indicators.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_indicators.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.cluster_indicators.indicator IS '指标代码，见 mart.indicator_dictionary / indicator code, see mart.indicator_dictionary';
COMMENT ON COLUMN mart.cluster_indicators.value IS '指标值；分母为零或为空时为 NULL 并在 flags 中说明 / value; NULL when undefined (zero or empty denominator), with the reason in flags';
COMMENT ON COLUMN mart.cluster_indicators.numerator IS '比率类指标的分子（加总类为值本身），用于省级汇总 / numerator of a ratio (the value itself for sums), used by the province roll-up';
COMMENT ON COLUMN mart.cluster_indicators.denominator IS '比率类指标的分母 / denominator of a ratio';
COMMENT ON COLUMN mart.cluster_indicators.n_firms IS '参与计算的企业数（披露控制用） / number of contributing firms (for disclosure control)';
COMMENT ON COLUMN mart.cluster_indicators.flags IS '标记：span 当月含跨月记录（如1-2月合报）；span_edge 窗口内记录覆盖窗口之前的月份；partial_window 窗口早于数据起点（按现有月份计算）；no_procurement 窗口内无采购（计数为0）；undefined:<原因> 无法计算，值为 NULL（no_records, no_comparable_firms, zero_base, no_land, zero_revenue, zero_output, zero_employees, not_reported, no_procurement, zero_amount, no_leader_procurement, no_survey, no_maturity, no_firms） / flags: span (a record ending in m covers more than one month), span_edge (a TTM record reaches back before the window), partial_window (window starts before the data; computed over what exists), no_procurement (count is 0), undefined:<reason> (value NULL)';
COMMENT ON COLUMN mart.cluster_indicators.pct_rank_in_domain IS '同领域集群中的百分位（1 为最优，按指标方向；不足2个集群时为 NULL） / percentile rank among clusters of the same domain (1 = best by direction; NULL with fewer than 2 valued clusters)';

COMMENT ON TABLE mart.province_indicators IS '省级汇总指标：加总类相加，比率类由分子分母分别加总后重算（不取平均） / province roll-up: additive indicators summed, ratios recomputed from summed numerators and denominators (never averaged)';
COMMENT ON COLUMN mart.province_indicators.province IS '省份 / province';
COMMENT ON COLUMN mart.province_indicators.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.province_indicators.indicator IS '指标代码 / indicator code';
COMMENT ON COLUMN mart.province_indicators.value IS '指标值 / value';
COMMENT ON COLUMN mart.province_indicators.numerator IS '汇总后的分子 / summed numerator';
COMMENT ON COLUMN mart.province_indicators.denominator IS '汇总后的分母 / summed denominator';
COMMENT ON COLUMN mart.province_indicators.n_firms IS '参与计算的企业数 / contributing firms';
COMMENT ON COLUMN mart.province_indicators.n_clusters IS '参与汇总的集群数 / clusters rolled up';
COMMENT ON COLUMN mart.province_indicators.flags IS '标记（同集群指标） / flags (as for cluster indicators)';

COMMENT ON TABLE mart.cluster_classes IS '集群分类：规模等级与发展阶段（集聚/过渡/集群）及三项阶段检验；阈值见 flows/registry/classification.toml / cluster classification: scale tier and stage with the three stage tests; thresholds in flows/registry/classification.toml';
COMMENT ON COLUMN mart.cluster_classes.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_classes.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.cluster_classes.output_ttm IS '近12个月产值（万元），规模等级依据 / output TTM (万元), basis of the scale tier';
COMMENT ON COLUMN mart.cluster_classes.scale_tier IS '规模等级：万亿级/千亿级/五百亿级/百亿级/百亿以下 / scale tier (Chinese)';
COMMENT ON COLUMN mart.cluster_classes.scale_tier_en IS '规模等级（英文） / scale tier (English)';
COMMENT ON COLUMN mart.cluster_classes.local_supporting_rate IS '本地配套率（关联检验依据） / local supporting rate (linkage test input)';
COMMENT ON COLUMN mart.cluster_classes.n_chain_leaders IS '链主企业数（引领检验依据） / chain leaders (leadership test input)';
COMMENT ON COLUMN mart.cluster_classes.n_platforms IS '创新平台数（创新支撑检验依据） / platforms (innovation test input)';
COMMENT ON COLUMN mart.cluster_classes.rd_intensity IS '研发投入强度（创新支撑检验依据） / R&D intensity (innovation test input)';
COMMENT ON COLUMN mart.cluster_classes.test_linkage IS '关联检验：本地配套率达到阈值（缺值视为未通过） / linkage test: local supporting rate at or above threshold (missing = not passed)';
COMMENT ON COLUMN mart.cluster_classes.test_leadership IS '引领检验：链主企业数达到阈值 / leadership test: enough chain leaders';
COMMENT ON COLUMN mart.cluster_classes.test_innovation IS '创新支撑检验：平台数或研发强度达到阈值 / innovation support test: enough platforms or R&D intensity';
COMMENT ON COLUMN mart.cluster_classes.tests_passed IS '通过的检验数（0–3） / tests passed (0–3)';
COMMENT ON COLUMN mart.cluster_classes.stage IS '发展阶段：三项通过为集群，两项为过渡，一项及以下为集聚 / stage: all three 集群, two 过渡, one or none 集聚';
COMMENT ON COLUMN mart.cluster_classes.stage_en IS '发展阶段（英文） / stage (English: cluster, transition, agglomeration)';

COMMENT ON TABLE mart.firm_ratings IS '企业亩均效益评价（A/B/C/D）：以 period 结束的近12个月为口径，12月为年度评价；保存各年12月与最新一期（当年预评），其他月份可按需计算（flows.stages.s07_indicators.rate_firms）；权重与阈值见 flows/registry/classification.toml / firm per-mu efficiency rating on the TTM ending at period (December = the annual rating); kept for every December and the latest period (the running year''s provisional rating), any other month on demand (flows.stages.s07_indicators.rate_firms); weights and thresholds in flows/registry/classification.toml';
COMMENT ON COLUMN mart.firm_ratings.uscc IS '统一社会信用代码 / unified social credit code';
COMMENT ON COLUMN mart.firm_ratings.period IS '评价期（近12个月的末月） / period (last month of the TTM window)';
COMMENT ON COLUMN mart.firm_ratings.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.firm_ratings.score IS '综合得分 = Σ 权重 × min(指标/组均值, 上限) / score = Σ weight × min(value / group mean, cap)';
COMMENT ON COLUMN mart.firm_ratings.class IS '评价等级 A/B/C/D；未参评为 NULL / class A/B/C/D; NULL when not rated';
COMMENT ON COLUMN mart.firm_ratings.rated IS '是否参评（规上且用地达到阈值） / rated (above scale and enough land)';
COMMENT ON COLUMN mart.firm_ratings.reason IS '未参评原因 / why not rated';
COMMENT ON COLUMN mart.firm_ratings.rating_group IS '比较组（集群或全部） / comparison group (cluster or all)';
COMMENT ON COLUMN mart.firm_ratings.rank_in_group IS '组内名次（1 为最高分） / rank in group (1 = highest score)';
COMMENT ON COLUMN mart.firm_ratings.n_rated_in_group IS '组内参评企业数 / rated firms in the group';
COMMENT ON COLUMN mart.firm_ratings.land_area IS '用地面积（亩） / land area (亩)';
COMMENT ON COLUMN mart.firm_ratings.per_mu_tax IS '亩均税收（万元/亩） / tax per mu';
COMMENT ON COLUMN mart.firm_ratings.per_mu_value_added IS '亩均增加值（无增加值时为亩均产值，万元/亩） / value added per mu (output per mu when no value added)';
COMMENT ON COLUMN mart.firm_ratings.value_added_basis IS 'per_mu_value_added 的口径：value_added 或 output / basis of per_mu_value_added';
COMMENT ON COLUMN mart.firm_ratings.output_per_tce IS '单位能耗产值（万元/吨标准煤） / output per tce';
COMMENT ON COLUMN mart.firm_ratings.labour_productivity IS '全员劳动生产率（万元/人） / labour productivity';
COMMENT ON COLUMN mart.firm_ratings.rd_intensity IS '研发投入强度 / R&D intensity';
COMMENT ON COLUMN mart.firm_ratings.flags IS '标记：undefined:<指标> 该项无法计算，按中性比值 1 计分 / flags: undefined:<value> scored at the neutral ratio 1';
