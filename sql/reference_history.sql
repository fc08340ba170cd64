-- reference_history.sql: the part of a fact table the unit_suspect rule can read, for the night's reference
-- snapshot (flows/support/staging.py): per firm, the latest {months} rows that carry each measure checked
-- against history ({measures}). validation_history.sql over these rows gives exactly what it gives over the
-- whole table: it only ever looks at a firm's latest {months} non-null rows of a measure. {table}, {months},
-- {keep} (one `(m IS NOT NULL AND rn_m <= months)` term per measure) and {ranks} are built from the suites'
-- derived_columns with checked identifiers.
SELECT uscc, period, span_months, {measures}
FROM (
    SELECT uscc, period, span_months, {measures}, {ranks}
    FROM {table}
)
WHERE {keep};
