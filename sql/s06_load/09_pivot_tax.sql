-- pivot_tax.sql: the derived tax rows (derived_flows, long) as core.tax rows in temp table fresh;
-- store_flows.sql writes what changed.
-- reads: derived_flows
-- writes: fresh
CREATE OR REPLACE TEMP TABLE fresh AS
SELECT uscc, period, CAST(max(span_months) AS INTEGER) AS span_months,
       any_value(value) FILTER (WHERE measure = 'tax_paid') AS tax_paid
FROM derived_flows
GROUP BY uscc, period;
