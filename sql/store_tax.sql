-- store_tax.sql: replace the touched firm-years of core.tax with derived_flows.
DELETE FROM core.tax x USING touched t WHERE x.uscc = t.uscc AND year(x.period) = t.yr;

INSERT INTO core.tax
SELECT uscc, period, max(span_months), any_value(value) FILTER (WHERE measure = 'tax_paid')
FROM derived_flows
GROUP BY uscc, period;
