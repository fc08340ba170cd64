-- alerts_upsert.sql: write tonight's alert episodes (alerts_new, filled by flows/stages/s10_alerts.py upsert)
-- into mart.alerts — a known alert_id is updated, keeping when it was first seen and resolved — and withdraw
-- every alert the data no longer supports.
-- reads: alerts_new
-- writes: mart.alerts
-- registered: alerts_new

INSERT INTO mart.alerts BY NAME
SELECT * REPLACE (current_localtimestamp() AS first_seen, current_localtimestamp() AS last_seen,
                  CASE WHEN status = 'resolved' THEN current_localtimestamp() END AS resolved_at)
FROM alerts_new
ON CONFLICT (alert_id) DO UPDATE SET
    last_period = excluded.last_period, resolved_period = excluded.resolved_period,
    severity = excluded.severity, message_zh = excluded.message_zh, message_en = excluded.message_en,
    evidence = excluded.evidence, status = excluded.status, last_seen = excluded.last_seen,
    resolved_at = CASE WHEN excluded.status = 'resolved' THEN coalesce(mart.alerts.resolved_at,
                                                                    excluded.resolved_at) END;

UPDATE mart.alerts SET status = 'withdrawn', last_seen = current_localtimestamp()
WHERE status <> 'withdrawn' AND alert_id NOT IN (SELECT alert_id FROM alerts_new);
