-- store_firm_monthly.sql: replace the touched firm-years of core.firm_monthly with derived_flows, one row
-- per firm and month a record ends in; span_months is the longest span among its flow measures.
DELETE FROM core.firm_monthly f USING touched t WHERE f.uscc = t.uscc AND year(f.period) = t.yr;

INSERT INTO core.firm_monthly
SELECT uscc, period,
       max(span_months) AS span_months,
       any_value(value) FILTER (WHERE measure = 'output')      AS output,
       any_value(value) FILTER (WHERE measure = 'value_added') AS value_added,
       any_value(value) FILTER (WHERE measure = 'revenue')     AS revenue,
       any_value(value) FILTER (WHERE measure = 'profit')      AS profit,
       any_value(value) FILTER (WHERE measure = 'employees')   AS employees,
       any_value(value) FILTER (WHERE measure = 'energy')      AS energy,
       any_value(value) FILTER (WHERE measure = 'rd_expense')  AS rd_expense
FROM derived_flows
GROUP BY uscc, period;
