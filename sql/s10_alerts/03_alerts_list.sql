-- alerts_list.sql: every alert episode in history, optionally of one status ($status NULL = all), for
-- `clusterwatch alerts` without --period; columns in the order the command prints them.
-- reads: mart.alerts
-- writes: (none)

SELECT strftime(period, '%Y-%m') AS period, rule, subject, severity, status,
       strftime(resolved_period, '%Y-%m') AS resolved, message_zh AS message
FROM mart.alerts
WHERE $status IS NULL OR status = $status
ORDER BY period, rule, subject;
