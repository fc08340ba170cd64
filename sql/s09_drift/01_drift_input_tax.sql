-- Firm-level monthly tax for the drift test (flows/stages/s09_drift.py), months $from..$to (`month` counts months from
-- $from); per month of span and on the sign(x)·ln(1+|x|) scale, as sql/drift_input_monthly.sql.
-- $months: only these months, counted from $from (those a night's scores read), NULL for every month from
-- $from to $to.
-- In no order (the scores sort each column's values themselves; the Evidently report orders its few clusters'
-- rows by month and uscc); `firm`: the firm's rowid in core.firms, as in sql/drift_input_monthly.sql.
-- reads: core.firms, core.tax
-- writes: (none)
SELECT f.cluster_id, datediff('month', $from::DATE, t.period)::INTEGER AS month, f.rowid AS firm,
       sign(t.tax_paid / t.span_months) * ln(1 + abs(t.tax_paid / t.span_months)) AS tax_paid
FROM core.tax t JOIN core.firms f USING (uscc)
WHERE t.period BETWEEN $from AND $to AND f.cluster_id IS NOT NULL
  AND ($months::INTEGER[] IS NULL
       OR list_contains($months::INTEGER[], datediff('month', $from::DATE, t.period)::INTEGER));
