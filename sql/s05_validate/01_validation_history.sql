-- validation_history.sql: each firm's recent level of one measure, for the unit_suspect rule.
-- The median of the firm's last up-to-$months (12) reported months (per month of span), only where it has at
-- least $min_months (6). {table} and {column} come from the suite's derived_columns (checked identifiers); the firms
-- to look at are in the registered relation _validate_firms(uscc).
-- reads: _validate_firms, {table}
-- writes: (none)
-- registered: _validate_firms
WITH h AS (
    SELECT t.uscc, t.{column} / greatest(coalesce(t.span_months, 1), 1) AS v,
           row_number() OVER (PARTITION BY t.uscc ORDER BY t.period DESC) AS rn
    FROM {table} t
    JOIN _validate_firms f ON f.uscc = t.uscc
    WHERE t.{column} IS NOT NULL
)
SELECT uscc, median(v) AS recent_median, count(*) AS months
FROM h
WHERE rn <= $months
GROUP BY uscc
HAVING count(*) >= $min_months;
