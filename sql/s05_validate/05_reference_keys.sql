-- reference_keys.sql: the distinct key values ({keys}) of a registry table that validation looks up (registry
-- membership, old identifiers), for the night's reference snapshot (flows/support/staging.py).
-- reads: {table}
-- writes: (none)
SELECT DISTINCT {keys} FROM {table};
