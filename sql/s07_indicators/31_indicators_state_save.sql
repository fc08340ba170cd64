-- indicators_state_save.sql: record what the marts were computed with: $config_hash (configuration, SQL and
-- registries, indicators_state.sql) and the data range $first_period..$last_period, the stage's last statement
-- (indicators_state_clear.sql emptied the table at its start).
-- reads: (none)
-- writes: work.indicator_state

INSERT INTO work.indicator_state (config_hash, computed_at, first_period, last_period)
VALUES ($config_hash, current_timestamp, $first_period::DATE, $last_period::DATE);
