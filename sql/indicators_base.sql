-- indicators_base.sql: the shared inputs of the indicator queries, built once per run from the registry maps
-- (indicators_maps.sql) and the stored firm facts (work.firm_month and work.cluster_month, rebuilt for the
-- changed months by indicators_firm_month.sql).
-- Expects temp tables from flows/indicators.py:
--   tp(period)      target periods to (re)compute
--   bounds          first_period, last_period (data range), lo_ytd (January of the year before the first
--                   target), lo_ttm (first target − 11 months), hi (last target)
-- Builds: fm (monthly records of F(c) from lo_ytd), cm / ctax (per cluster and month; all three views of the
-- work tables), firm_ttm (per firm and target period: TTM output), cluster_ttm (per cluster and target period:
-- TTM sums), ind_new.

-- Monthly records of F(c) reaching back far enough for YTD year-on-year and TTM windows.
CREATE OR REPLACE TEMP VIEW fm AS
SELECT fid, cluster_id, has_land, period, span_months, output, value_added, revenue, employees, energy, rd_expense
FROM work.firm_month
WHERE is_record AND period BETWEEN {lo_ytd} AND {hi};

-- Per cluster and month (work.cluster_month, rebuilt with work.firm_month): the months with records (cm)
-- and with tax records of land-holding firms (ctax).
CREATE OR REPLACE TEMP VIEW cm AS
SELECT cluster_id, period, output, n_output, n_records, has_span, employees, revenue, rd_expense, energy,
       output_land, n_records_land, covers_from, covers_from_land
FROM work.cluster_month
WHERE n_records > 0 AND period BETWEEN {lo_ytd} AND {hi};

CREATE OR REPLACE TEMP VIEW ctax AS
SELECT cluster_id, period, tax_land, n_tax_land, tax_covers_from AS covers_from
FROM work.cluster_month
WHERE n_tax_land > 0 AND period BETWEEN {lo_ttm} AND {hi};

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
