-- validation_history.sql: each firm's recent level of one measure, for the unit_suspect rule.
-- The median of the firm's last up-to-$months (12) reported months (per month of span), only where it has at
-- least $min_months (6). {table} and {column} come from the suite's derived_columns (checked identifiers); the firms
-- to look at are in the registered relation _validate_firms(uscc).
-- The latest months are a top-$months aggregate per firm (max_by … n): a window numbering every month of every
-- firm sorted the whole history for each file, 2.2× the CPU at nation scale for the same medians.
-- reads: _validate_firms, {table}
-- writes: (none)
-- registered: _validate_firms
WITH h AS (
    SELECT t.uscc, max_by(t.{column} / greatest(coalesce(t.span_months, 1), 1), t.period, $months) AS recent
    FROM {table} t
    JOIN _validate_firms f ON f.uscc = t.uscc
    WHERE t.{column} IS NOT NULL
    GROUP BY t.uscc
)
SELECT uscc, list_median(recent) AS recent_median, len(recent) AS months
FROM h
WHERE len(recent) >= $min_months;
