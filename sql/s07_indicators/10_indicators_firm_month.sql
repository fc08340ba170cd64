-- indicators_firm_month.sql: rebuild work.firm_month and work.cluster_month (indicators_work.sql) for the
-- months in sp(period): the monthly records (core.firm_monthly) and tax records (core.tax) of F(c) ending in
-- those months, one row per firm and month under the firm's integer id, and their sums per cluster and month.
-- The scans are bounded by the range of sp (bounds.sp_lo..sp_hi, constant subqueries DuckDB pushes into the
-- scan) so row groups of other months are skipped by their zone maps.
-- reads: bounds, core.firm_monthly, core.tax, firm_cluster, sp, work.firm_month
-- writes: work.cluster_month, work.firm_month

DELETE FROM work.firm_month WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);
DELETE FROM work.cluster_month WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp);

INSERT INTO work.firm_month
WITH rec AS (
    SELECT f.fid, f.cluster_id, f.land_area, m.period, coalesce(m.span_months, 1) AS span_months, m.output,
           m.value_added, m.revenue, m.employees, m.energy, m.rd_expense
    FROM core.firm_monthly m JOIN firm_cluster f USING (uscc)
    WHERE m.period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp)
),
tax AS (
    SELECT f.fid, f.cluster_id, f.land_area, t.period, coalesce(t.span_months, 1) AS tax_span_months, t.tax_paid
    FROM core.tax t JOIN firm_cluster f USING (uscc)
    WHERE t.period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp)
)
SELECT coalesce(r.fid, t.fid), coalesce(r.cluster_id, t.cluster_id),
       coalesce(coalesce(r.land_area, t.land_area) > 0, false), coalesce(r.period, t.period),
       r.fid IS NOT NULL, r.span_months, r.output, r.value_added, r.revenue, r.employees, r.energy, r.rd_expense,
       t.fid IS NOT NULL, t.tax_span_months, t.tax_paid
FROM rec r FULL JOIN tax t ON t.fid = r.fid AND t.period = r.period;

-- Per cluster and month: sums over the records ending in the month (land-holding firms separately for the
-- per-mu ratios) and the earliest month a record covers (a span record reaches back span_months − 1); the
-- tax of land-holding firms likewise.
INSERT INTO work.cluster_month
SELECT cluster_id, period,
       count(*) FILTER (WHERE is_record) AS n_records, sum(output::DECIMAL(38,12))::DOUBLE AS output, count(output) AS n_output,
       bool_or(span_months > 1) AS has_span, sum(employees::DECIMAL(38,12))::DOUBLE AS employees, sum(revenue::DECIMAL(38,12))::DOUBLE AS revenue,
       sum(rd_expense::DECIMAL(38,12))::DOUBLE AS rd_expense, sum(energy::DECIMAL(38,12))::DOUBLE AS energy,
       (sum(output::DECIMAL(38,12)) FILTER (WHERE has_land))::DOUBLE AS output_land,
       count(*) FILTER (WHERE is_record AND has_land) AS n_records_land,
       (period - to_months(max(span_months) - 1))::DATE AS covers_from,
       (period - to_months(max(span_months) FILTER (WHERE has_land) - 1))::DATE AS covers_from_land,
       (sum(tax_paid::DECIMAL(38,12)) FILTER (WHERE is_tax AND has_land))::DOUBLE AS tax_land,
       count(*) FILTER (WHERE is_tax AND has_land) AS n_tax_land,
       (period - to_months(max(tax_span_months) FILTER (WHERE is_tax AND has_land) - 1))::DATE AS tax_covers_from
FROM work.firm_month
WHERE period BETWEEN (SELECT sp_lo FROM bounds) AND (SELECT sp_hi FROM bounds) AND period IN (SELECT period FROM sp)
GROUP BY cluster_id, period;
