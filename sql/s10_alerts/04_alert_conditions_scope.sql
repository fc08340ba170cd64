-- alert_conditions_scope.sql: the first stored month of the threshold conditions and whether every stored row
-- was evaluated under the rules' current fingerprint ($stamp), to decide how much of history a night must
-- evaluate again (flows/stages/s10_alerts.py _scope).
-- reads: mart.alert_conditions
-- writes: (none)

SELECT min(period), bool_and(fingerprint = $stamp)
FROM mart.alert_conditions
WHERE rule <> 'quarantine_share';
