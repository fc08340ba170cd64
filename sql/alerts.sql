-- Alert stage tables (DESIGN §6), written by flows/stages/s10_alerts.py and flows/stages/s09_drift.py.
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
