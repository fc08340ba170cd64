-- alerts_month.sql: the alert episodes of month $period, as the report, the digest and `clusterwatch alerts
-- --period` list them (flows.stages.s10_alerts.month_listing): new (first month = $period), ongoing (opened before and
-- still holding in $period), resolved (stopped holding in $period; one-month rules $events are never
-- "resolved"). Withdrawn episodes are left out. state orders new, ongoing, resolved.
-- reads: mart.alerts
-- writes: (none)
SELECT alert_id, rule, subject, cluster_id, period, last_period, resolved_period, severity, evidence, message_zh,
       message_en,
       CASE WHEN period = $period THEN 'new' WHEN resolved_period = $period THEN 'resolved' ELSE 'ongoing' END
           AS state
FROM mart.alerts
WHERE status <> 'withdrawn'
  AND (period = $period
       OR (resolved_period = $period AND NOT list_contains($events, rule))
       OR (period < $period AND last_period >= $period AND coalesce(resolved_period > $period, true)))
ORDER BY CASE state WHEN 'new' THEN 1 WHEN 'ongoing' THEN 2 ELSE 3 END, rule, subject
