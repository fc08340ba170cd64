-- schema.sql: the warehouse's tables for landing, quarantine, history and the core facts (DESIGN §5a).
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

-- Rows that were loaded but broke a warning-level rule (DESIGN §4: flagged, not quarantined).
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

-- Monthly facts derived from the latest reported values (DESIGN §3: 累计 differenced within a year).
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

-- The header report of every file: what each source column became (DESIGN §3: nothing dropped without a word).
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
