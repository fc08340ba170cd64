-- indicators_cluster_ttm.sql: Per cluster and target period: the TTM sums, one pass over the cluster's month sums inside the window
-- (records, and the tax of land-holding firms), and the window flags every TTM indicator carries:
-- partial_window (the window starts before the first month with data) and span_edge (a record inside the window
-- covers months before it), for all records, the land-holding firms' records and their tax.
-- reads: bounds, firm_cluster, firm_ttm, grid, work.cluster_month
-- writes: cluster_ttm, ind_new
CREATE OR REPLACE TEMP TABLE cluster_ttm AS
WITH firms AS (
    SELECT cluster_id, period, count(*) AS n_firms, max(output) AS max_output,
           sum((output * output)::DECIMAL(38,12))::DOUBLE AS sum_sq_output
    FROM firm_ttm
    GROUP BY ALL
),
months AS (
    SELECT g.cluster_id, g.period, sum(c.output::DECIMAL(38,12))::DOUBLE AS output,
           sum(c.revenue::DECIMAL(38,12))::DOUBLE AS revenue, sum(c.rd_expense::DECIMAL(38,12))::DOUBLE AS rd_expense,
           sum(c.energy::DECIMAL(38,12))::DOUBLE AS energy, avg(c.employees::DECIMAL(38,12)) AS employees_mean,
           sum(c.output_land::DECIMAL(38,12))::DOUBLE AS output_land, sum(c.n_records_land) AS n_output_land,
           sum(c.tax_land::DECIMAL(38,12))::DOUBLE AS tax_land, sum(c.n_tax_land) AS n_tax_land,
           min(c.covers_from) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge,
           min(c.covers_from_land) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge_land,
           min(c.tax_covers_from) < (g.period - INTERVAL 11 MONTH)::DATE AS span_edge_tax
    FROM grid g
    JOIN work.cluster_month c ON c.cluster_id = g.cluster_id
                             AND c.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY g.cluster_id, g.period
),
land AS (
    SELECT cluster_id, sum(land_area::DECIMAL(38,12))::DOUBLE AS land_area, count(*) AS n_land
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
