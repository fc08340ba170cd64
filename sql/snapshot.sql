-- snapshot.sql: the cluster-map snapshot tables (DESIGN §6) and the global reference layer.
-- Idempotent. A snapshot is immutable: flows/stages/s08_snapshot.py inserts a new version of a period only when the
-- content hash of its rows differs from the latest version's, and never updates or deletes a row here.
-- mart.map_snapshots holds one header row per (period, version); mart.map_snapshot_clusters one row per
-- cluster of that version with the headline indicators, their contributing-firm counts, a suppression
-- mark (fewer than 3 firms, DESIGN §6) and the colour class on the fixed breaks of flows/registry/maps.toml.
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
