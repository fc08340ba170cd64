-- reference_keys.sql: the distinct key values of a registry table ({keys} of {table}) that validation looks
-- up (registry membership, old identifiers), for the night's reference snapshot (flows/support/staging.py).
SELECT DISTINCT {keys} FROM {table};
