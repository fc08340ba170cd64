-- indicators_base.sql: the shared inputs of the indicator queries, built once per run from the registry maps
-- (indicators_maps.sql) and the stored firm facts (work.firm_month and work.cluster_month, rebuilt for the
-- changed months by indicators_firm_month.sql).
-- Expects temp tables from flows/stages/s07_indicators.py:
--   tp(period)      target periods to (re)compute
--   bounds          first_period, last_period (data range), lo_ytd (January of the year before the first
--                   target), lo_ttm (first target − 11 months), hi (last target)
-- Builds: fm (monthly records of F(c) from lo_ytd) and cm (per cluster and month), views of the work tables;
-- firm_ttm (per firm and target period: TTM output), cluster_ttm (per cluster and target period: TTM sums and
-- window flags), ind_new.

-- Monthly records of F(c) reaching back far enough for YTD year-on-year and TTM windows.
CREATE OR REPLACE TEMP VIEW fm AS
SELECT fid, cluster_id, has_land, period, span_months, output, value_added, revenue, employees, energy, rd_expense
FROM work.firm_month
WHERE is_record AND period BETWEEN {lo_ytd} AND {hi};

-- Per cluster and month: the months with records (work.cluster_month, rebuilt with work.firm_month).
CREATE OR REPLACE TEMP VIEW cm AS
SELECT cluster_id, period, output, n_output, n_records, has_span, employees, revenue, rd_expense, energy,
       output_land, n_records_land, covers_from, covers_from_land
FROM work.cluster_month
WHERE n_records > 0 AND period BETWEEN {lo_ytd} AND {hi};

-- Per firm and target period: output over records ending inside the TTM window (for n_firms, top1_share,
-- hhi). A gap row per firm and target carries the window end when the firm has no record that month.
-- With one or two targets (an ordinary night) flows/stages/s07_indicators.py replaces the block between the @firm_ttm
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

-- Per cluster and target period: the TTM sums, one pass over the cluster's month sums inside the window
-- (records, and the tax of land-holding firms), and the window flags every TTM indicator carries:
-- partial_window (the window starts before the first month with data) and span_edge (a record inside the window
-- covers months before it), for all records, the land-holding firms' records and their tax.
CREATE OR REPLACE TEMP TABLE cluster_ttm AS
WITH firms AS (
    SELECT cluster_id, period, count(*) AS n_firms, max(output) AS max_output,
           sum(output * output) AS sum_sq_output
    FROM firm_ttm
    GROUP BY ALL
),
months AS (
    SELECT g.cluster_id, g.period, sum(c.output) AS output, sum(c.revenue) AS revenue,
           sum(c.rd_expense) AS rd_expense, sum(c.energy) AS energy, avg(c.employees) AS employees_mean,
           sum(c.output_land) AS output_land, sum(c.n_records_land) AS n_output_land,
           sum(c.tax_land) AS tax_land, sum(c.n_tax_land) AS n_tax_land,
           min(c.covers_from) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge,
           min(c.covers_from_land) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge_land,
           min(c.tax_covers_from) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge_tax
    FROM grid g
    JOIN work.cluster_month c ON c.cluster_id = g.cluster_id
                             AND c.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY g.cluster_id, g.period
),
land AS (
    SELECT cluster_id, sum(land_area) AS land_area, count(*) AS n_land
    FROM firm_cluster WHERE land_area > 0 GROUP BY ALL
),
t AS (
    SELECT g.cluster_id, g.period, m.* EXCLUDE (cluster_id, period, n_tax_land), f.* EXCLUDE (cluster_id, period),
           coalesce(m.n_tax_land, 0) AS n_tax_land, l.land_area, coalesce(l.n_land, 0) AS n_land,
           (g.period - INTERVAL 11 MONTH)::DATE < (SELECT first_period FROM bounds) AS partial_window
    FROM grid g
    LEFT JOIN months m USING (cluster_id, period)
    LEFT JOIN firms f USING (cluster_id, period)
    LEFT JOIN land l USING (cluster_id)
)
SELECT *,
       list_filter([CASE WHEN partial_window THEN 'partial_window' END, CASE WHEN span_edge THEN 'span_edge' END],
                   x -> x IS NOT NULL) AS window_flags,
       list_filter([CASE WHEN partial_window THEN 'partial_window' END,
                    CASE WHEN span_edge_land THEN 'span_edge' END], x -> x IS NOT NULL) AS land_window_flags,
       list_filter([CASE WHEN partial_window THEN 'partial_window' END,
                    CASE WHEN span_edge_tax THEN 'span_edge' END], x -> x IS NOT NULL) AS tax_window_flags
FROM t;

CREATE OR REPLACE TEMP TABLE ind_new (
    cluster_id VARCHAR, period DATE, indicator VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
    n_firms BIGINT, flags VARCHAR[]
);
