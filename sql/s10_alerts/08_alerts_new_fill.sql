-- alerts_new_fill.sql: tonight's alert episodes (the frame registered as alerts_tonight, built by
-- flows/stages/s10_alerts.py upsert) into the temp table alerts_new, typed as mart.alerts.
-- reads: alerts_tonight
-- writes: alerts_new
-- registered: alerts_new, alerts_tonight

INSERT INTO alerts_new (alert_id, rule, subject, cluster_id, period, last_period, resolved_period, severity,
                        message_zh, message_en, evidence, status)
SELECT alert_id, rule, subject, cluster_id, CAST(period AS DATE), CAST(last_period AS DATE),
       CAST(resolved_period AS DATE), severity, message_zh, message_en, evidence, status
FROM alerts_tonight;
