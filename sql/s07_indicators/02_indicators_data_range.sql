-- indicators_data_range.sql: the first and last month with monthly, tax or procurement data (the periods the
-- marts cover); NULLs when there is none.
-- reads: core.firm_monthly, core.tax, core.procurement
-- writes: (none)

SELECT min(lo), max(hi) FROM (
    SELECT min(period) lo, max(period) hi FROM core.firm_monthly
    UNION ALL SELECT min(period), max(period) FROM core.tax
    UNION ALL SELECT min(period), max(period) FROM core.procurement);
