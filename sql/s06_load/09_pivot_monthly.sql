-- pivot_monthly.sql: the derived monthly-statistics rows (derived_flows, long) as core.firm_monthly
-- rows in temp table fresh: one row per firm and month a record ends in; span_months is the longest
-- span among its flow measures. store_flows.sql writes what changed.
-- reads: derived_flows
-- writes: fresh
CREATE OR REPLACE TEMP TABLE fresh AS
SELECT uscc, period,
       CAST(max(span_months) AS INTEGER) AS span_months,
       any_value(value) FILTER (WHERE measure = 'output')      AS output,
       any_value(value) FILTER (WHERE measure = 'value_added') AS value_added,
       any_value(value) FILTER (WHERE measure = 'revenue')     AS revenue,
       any_value(value) FILTER (WHERE measure = 'profit')      AS profit,
       any_value(value) FILTER (WHERE measure = 'employees')   AS employees,
       any_value(value) FILTER (WHERE measure = 'energy')      AS energy,
       any_value(value) FILTER (WHERE measure = 'rd_expense')  AS rd_expense
FROM derived_flows
GROUP BY uscc, period;
