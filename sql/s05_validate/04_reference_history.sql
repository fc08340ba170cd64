-- reference_history.sql: the rows of a fact table the unit_suspect rule can read for one measure, for the night's
-- reference snapshot (flows/support/staging.py): each firm's latest $months rows that carry {column}.
-- validation_history.sql over these rows gives what it gives over the whole table, as it only ever reads a
-- firm's latest $months non-null rows of a measure. {table} and {column} come from the suites' derived_columns.
-- reads: {table}
-- writes: (none)
SELECT uscc, period, span_months, {column}
FROM (
    SELECT uscc, period, span_months, {column},
           row_number() OVER (PARTITION BY uscc ORDER BY period DESC) AS rn
    FROM {table}
    WHERE {column} IS NOT NULL
)
WHERE rn <= $months;
