-- 0005_alert_conditions.sql: mart.alert_conditions keeps every (rule, subject, month) the alert stage evaluated,
-- so that a night evaluates again only the months its data reach (flows/stages/s10_alerts.py _scope) and builds
-- the episodes from the stored rows; rows stored under other rules or SQL (fingerprint) are evaluated again.
-- An existing warehouse starts with the table empty: its next night evaluates every month once.
-- reads: (none)
-- writes: mart.alert_conditions

CREATE TABLE mart.alert_conditions (
    rule VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    cluster_id VARCHAR,
    period DATE NOT NULL,
    active BOOLEAN,
    "keep" BOOLEAN,
    value DOUBLE,
    baseline DOUBLE,
    evidence VARCHAR,
    fingerprint VARCHAR NOT NULL
);
COMMENT ON TABLE mart.alert_conditions IS '预警条件：每条规则、对象、月份的评估结果，预警事件段由此生成；每晚只重算数据有变动的月份 / alert conditions: every (rule, subject, month) evaluated, from which the episodes in mart.alerts are built; a night evaluates again only the months its data changed';
COMMENT ON COLUMN mart.alert_conditions.rule IS '规则（flows/registry/alerts.toml） / rule name (flows/registry/alerts.toml)';
COMMENT ON COLUMN mart.alert_conditions.subject IS '对象：集群编码，或文件名（隔离比例规则） / subject: cluster id, or file name for the quarantine rule';
COMMENT ON COLUMN mart.alert_conditions.cluster_id IS '集群编码（文件规则为空） / cluster id (NULL for the file rule)';
COMMENT ON COLUMN mart.alert_conditions.period IS '评估月份 / month evaluated';
COMMENT ON COLUMN mart.alert_conditions.active IS '条件成立（开启或延续事件段） / the condition holds (opens or continues an episode)';
COMMENT ON COLUMN mart.alert_conditions."keep" IS '维持条件成立（只延续已开启的事件段，漂移规则的滞后阈值） / the keep condition holds (continues an open episode only: the drift rule''s hysteresis)';
COMMENT ON COLUMN mart.alert_conditions.value IS '当月值 / value of the month';
COMMENT ON COLUMN mart.alert_conditions.baseline IS '比较基准值 / value compared with';
COMMENT ON COLUMN mart.alert_conditions.evidence IS '证据值（JSON文本） / evidence values (JSON text)';
COMMENT ON COLUMN mart.alert_conditions.fingerprint IS '规则参数与规则SQL的哈希；变动后全部月份重新评估 / hash of the rule parameters and the rules'' SQL; when it changes every month is evaluated again';
