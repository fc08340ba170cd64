-- Firm-level monthly values for the drift test (flows/stages/s09_drift.py), months $from..$to; `month` counts months
-- from $from (0 = $from). Flows are divided by span_months (a 1–2月 or catch-up record becomes a monthly rate,
-- so a reporting gap that resumes with a 3-month 累计 difference is not mistaken for a distribution shift);
-- employees is an average and taken as is. Values go through sign(x)·ln(1+|x|): firm sizes span orders of
-- magnitude, and on the log scale a ×10 unit switch is a shift of ln 10 whatever the firm's size.
-- $months: only these months, counted from $from (those a night's scores read), NULL for every month from
-- $from to $to.
-- In no order (the scores sort each column's values themselves; the Evidently report orders its few clusters'
-- rows by month and uscc). `firm` is the firm's rowid in core.firms, not its uscc: converting 3.4 M uscc strings
-- for a nation night's month cost ≈0.5 CPU-s that only the report's few clusters need (sql/drift_firm_keys.sql,
-- read with these, gives the 500,000 firms' uscc once).
-- reads: core.firm_monthly, core.firms
-- writes: (none)
SELECT f.cluster_id, datediff('month', $from::DATE, m.period)::INTEGER AS month, f.rowid AS firm,
       sign(m.output / m.span_months) * ln(1 + abs(m.output / m.span_months)) AS output,
       sign(m.value_added / m.span_months) * ln(1 + abs(m.value_added / m.span_months)) AS value_added,
       sign(m.revenue / m.span_months) * ln(1 + abs(m.revenue / m.span_months)) AS revenue,
       sign(m.profit / m.span_months) * ln(1 + abs(m.profit / m.span_months)) AS profit,
       sign(m.employees) * ln(1 + abs(m.employees)) AS employees,
       sign(m.energy / m.span_months) * ln(1 + abs(m.energy / m.span_months)) AS energy,
       sign(m.rd_expense / m.span_months) * ln(1 + abs(m.rd_expense / m.span_months)) AS rd_expense
FROM core.firm_monthly m JOIN core.firms f USING (uscc)
WHERE m.period BETWEEN $from AND $to AND f.cluster_id IS NOT NULL
  AND ($months::INTEGER[] IS NULL
       OR list_contains($months::INTEGER[], datediff('month', $from::DATE, m.period)::INTEGER));
