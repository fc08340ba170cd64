-- alert_conditions_store.sql: store the conditions a night evaluated (the frame registered as
-- alert_conditions_new), stamped with the rules' fingerprint $stamp.
-- reads: alert_conditions_new
-- writes: mart.alert_conditions
-- registered: alert_conditions_new

INSERT INTO mart.alert_conditions BY NAME
SELECT *, $stamp AS fingerprint FROM alert_conditions_new;
