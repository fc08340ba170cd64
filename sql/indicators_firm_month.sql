-- indicators_firm_month.sql: rebuild work.firm_month (indicators_work.sql) for the months in sp(period): the
-- monthly records (core.firm_monthly) and tax records (core.tax) of F(c) ending in those months, one row per
-- firm and month, under the firm's integer id. The scans are bounded by literal dates (the range of sp) so
-- DuckDB skips row groups of other months by their zone maps; the membership test in sp is only added when sp
-- has holes ({sp_filter}).

DELETE FROM work.firm_month WHERE period IN (SELECT period FROM sp);

INSERT INTO work.firm_month
WITH rec AS (
    SELECT f.fid, f.cluster_id, f.land_area, m.period, coalesce(m.span_months, 1) AS span_months, m.output,
           m.value_added, m.revenue, m.employees, m.energy, m.rd_expense
    FROM core.firm_monthly m JOIN firm_cluster f USING (uscc)
    WHERE m.period BETWEEN {sp_lo} AND {sp_hi} AND {sp_filter}
),
tax AS (
    SELECT f.fid, f.cluster_id, f.land_area, t.period, coalesce(t.span_months, 1) AS tax_span_months, t.tax_paid
    FROM core.tax t JOIN firm_cluster f USING (uscc)
    WHERE t.period BETWEEN {sp_lo} AND {sp_hi} AND {sp_filter}
)
SELECT coalesce(r.fid, t.fid), coalesce(r.cluster_id, t.cluster_id),
       coalesce(coalesce(r.land_area, t.land_area) > 0, false), coalesce(r.period, t.period),
       r.fid IS NOT NULL, r.span_months, r.output, r.value_added, r.revenue, r.employees, r.energy, r.rd_expense,
       t.fid IS NOT NULL, t.tax_span_months, t.tax_paid
FROM rec r FULL JOIN tax t ON t.fid = r.fid AND t.period = r.period;
