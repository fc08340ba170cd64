-- alert_conditions_clear.sql: remove the stored conditions a night evaluates again — every row when $months is
-- NULL (a full evaluation), else the quarantine rule's rows and the rows of the months in $months.
-- reads: (none)
-- writes: mart.alert_conditions

DELETE FROM mart.alert_conditions
WHERE $months IS NULL OR rule = 'quarantine_share' OR list_contains($months::DATE[], period);
