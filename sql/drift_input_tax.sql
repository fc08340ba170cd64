-- Firm-level monthly tax for the drift test (flows/drift.py), months $from..$to; per month of span and on
-- the sign(x)·ln(1+|x|) scale, as sql/drift_input_monthly.sql.
SELECT f.cluster_id, t.uscc, t.period,
       sign(t.tax_paid / t.span_months) * ln(1 + abs(t.tax_paid / t.span_months)) AS tax_paid
FROM core.tax t JOIN core.firms f USING (uscc)
WHERE t.period BETWEEN $from AND $to AND f.cluster_id IS NOT NULL
ORDER BY f.cluster_id, t.period, hash(t.uscc);
