-- indicators_base.sql: the shared inputs of the indicator queries, built once per run from the registry maps
-- (indicators_maps.sql) and the stored firm facts (work.firm_month, rebuilt for the changed months by
-- indicators_firm_month.sql).
-- Expects temp tables from flows/indicators.py:
--   tp(period)      target periods to (re)compute
--   bounds          first_period, last_period (data range), lo_ytd (January of the year before the first
--                   target), lo_ttm (first target − 11 months), hi (last target)
-- Builds: fm (monthly records of F(c) from lo_ytd, a view), cm / ctax (per cluster and month), firm_ttm (per
-- firm and target period: TTM output), cluster_ttm (per cluster and target period: TTM sums), ind_new.

-- Monthly records of F(c) reaching back far enough for YTD year-on-year and TTM windows.
CREATE OR REPLACE TEMP VIEW fm AS
SELECT fid, cluster_id, has_land, period, span_months, output, value_added, revenue, employees, energy, rd_expense
FROM work.firm_month
WHERE is_record AND period BETWEEN {lo_ytd} AND {hi};

-- Per cluster and month: sums over the records ending in the month (land-holding firms separately for the
-- per-mu ratios), and the earliest month a record covers (a span record reaches back span_months − 1).
CREATE OR REPLACE TEMP TABLE cm AS
SELECT f.cluster_id, f.period, sum(f.output) AS output, count(f.output) AS n_output, count(*) AS n_records,
       bool_or(f.span_months > 1) AS has_span, sum(f.employees) AS employees, sum(f.revenue) AS revenue,
       sum(f.rd_expense) AS rd_expense, sum(f.energy) AS energy,
       sum(f.output) FILTER (WHERE f.has_land) AS output_land,
       count(*) FILTER (WHERE f.has_land) AS n_records_land,
       min((f.period - to_months(f.span_months - 1))::DATE) AS covers_from,
       min((f.period - to_months(f.span_months - 1))::DATE) FILTER (WHERE f.has_land) AS covers_from_land
FROM fm f
GROUP BY f.cluster_id, f.period;

CREATE OR REPLACE TEMP TABLE ctax AS
SELECT cluster_id, period, sum(tax_paid) AS tax_land, count(*) AS n_tax_land,
       min((period - to_months(tax_span_months - 1))::DATE) AS covers_from
FROM work.firm_month
WHERE is_tax AND has_land AND period BETWEEN {lo_ttm} AND {hi}
GROUP BY ALL;

-- Per firm and target period: output over records ending inside the TTM window (for n_firms, top1_share,
-- hhi). A gap row per firm and target carries the window end when the firm has no record that month.
-- With one or two targets (an ordinary night) flows/indicators.py replaces the block between the @firm_ttm
-- markers with sql/indicators_firm_ttm_few.sql (a range join and one aggregation instead of the window).
-- @firm_ttm
CREATE OR REPLACE TEMP TABLE firm_ttm AS
WITH facts AS (
    SELECT fid, cluster_id, period, output FROM fm WHERE period >= {lo_ttm}
),
gaps AS (  -- (firm, target) pairs without a record that month: they need a row to carry the window
    SELECT u.fid, u.cluster_id, tp.period
    FROM (SELECT DISTINCT fid, cluster_id FROM facts) u CROSS JOIN tp
    ANTI JOIN facts f ON f.fid = u.fid AND f.period = tp.period
),
spine AS (
    SELECT fid, cluster_id, period, NULL::DOUBLE AS output, 0 AS is_record, true AS is_target FROM gaps
    UNION ALL
    SELECT fid, cluster_id, period, output, 1, period IN (SELECT period FROM tp) FROM facts
),
win AS (
    SELECT fid, cluster_id, period, is_target, is_record,
           sum(output) OVER w AS output, sum(is_record) OVER w AS n_records
    FROM spine
    WINDOW w AS (PARTITION BY fid ORDER BY period RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW)
)
SELECT fid, cluster_id, period, output, n_records
FROM win
WHERE is_target AND n_records > 0;
-- @end_firm_ttm

CREATE OR REPLACE TEMP TABLE cluster_ttm AS
WITH firms AS (
    SELECT cluster_id, period, count(*) AS n_firms, max(output) AS max_output,
           sum(output * output) AS sum_sq_output
    FROM firm_ttm
    GROUP BY ALL
),
months AS (
    SELECT g.cluster_id, g.period, sum(cm.output) AS output, sum(cm.revenue) AS revenue,
           sum(cm.rd_expense) AS rd_expense, sum(cm.energy) AS energy, avg(cm.employees) AS employees_mean,
           sum(cm.output_land) AS output_land, sum(cm.n_records_land) AS n_output_land,
           min(cm.covers_from) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge,
           min(cm.covers_from_land) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge_land
    FROM grid g
    JOIN cm ON cm.cluster_id = g.cluster_id
           AND cm.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY g.cluster_id, g.period
),
tax AS (
    SELECT g.cluster_id, g.period, sum(t.tax_land) AS tax_land, sum(t.n_tax_land) AS n_tax_land,
           min(t.covers_from) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge_tax
    FROM grid g
    JOIN ctax t ON t.cluster_id = g.cluster_id
               AND t.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY g.cluster_id, g.period
),
land AS (
    SELECT cluster_id, sum(land_area) AS land_area, count(*) AS n_land
    FROM firm_cluster WHERE land_area > 0 GROUP BY ALL
)
SELECT g.cluster_id, g.period, months.* EXCLUDE (cluster_id, period), firms.* EXCLUDE (cluster_id, period),
       coalesce(tax.n_tax_land, 0) AS n_tax_land, tax.tax_land, tax.span_edge_tax,
       land.land_area, coalesce(land.n_land, 0) AS n_land,
       (g.period - INTERVAL 11 MONTH)::DATE < (SELECT first_period FROM bounds) AS partial_window
FROM grid g
LEFT JOIN months USING (cluster_id, period)
LEFT JOIN firms USING (cluster_id, period)
LEFT JOIN tax USING (cluster_id, period)
LEFT JOIN land USING (cluster_id);

CREATE OR REPLACE TEMP TABLE ind_new (
    cluster_id VARCHAR, period DATE, indicator VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
    n_firms BIGINT, flags VARCHAR[]
);
