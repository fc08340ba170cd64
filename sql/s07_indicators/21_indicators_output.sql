-- indicators_output.sql: output_month, n_reporting, output_ytd, output_ytd_yoy, output_ttm (docs/architecture.md#indicators).
-- Reads grid, fm, cm, cluster_ttm, bounds (indicators_base.sql); appends to ind_new.
-- Flags: span (a record ending in m covers more than one month, e.g. 1–2月), span_edge (a TTM record
-- reaches back before the window), partial_window (the window starts before the first month with data),
-- undefined:no_records, undefined:no_comparable_firms, undefined:zero_base.
-- reads: bounds, cluster_ttm, cm, fm, grid
-- writes: comparable, firm_year, ind_new

-- output_month and n_reporting: records ending in m only.
INSERT INTO ind_new
WITH m AS (
    SELECT g.cluster_id, g.period, cm.output, coalesce(cm.n_output, 0) AS n_output,
           coalesce(cm.n_records, 0) AS n_records, coalesce(cm.has_span, false) AS has_span
    FROM grid g LEFT JOIN cm USING (cluster_id, period)
)
SELECT cluster_id, period, 'output_month', output, output, NULL, n_output,
       list_filter([CASE WHEN has_span THEN 'span' END,
                    CASE WHEN output IS NULL THEN 'undefined:no_records' END], x -> x IS NOT NULL)
FROM m
UNION ALL
SELECT cluster_id, period, 'n_reporting', n_records, n_records, NULL, n_records, []::VARCHAR[]
FROM m;

-- output_ytd: records ending in months 1..m of m's year; a firm counts from its first record of the year.
-- output_ytd_yoy on the comparable basis: a firm is comparable at m once it has a record in months 1..m of m's
-- year and in months 1..m of the year before: from month k = max(first record this year, first record last
-- year + 12 months). This year's record at p counts from max(p, k); last year's record at p counts from
-- max(p + 12 months, k).
-- Both are cumulated within the year in one pass: every contribution (a month's output, a firm entering a
-- count, a comparable firm's record) counts at every month of its year from the month it starts counting at.
CREATE OR REPLACE TEMP TABLE firm_year AS
SELECT fid, cluster_id, date_trunc('year', period)::DATE AS yr, min(period) AS first_period
FROM fm GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE comparable AS
SELECT a.fid, a.cluster_id, a.yr, greatest(a.first_period, (b.first_period + INTERVAL 12 MONTH)::DATE) AS k
FROM firm_year a
JOIN firm_year b ON b.fid = a.fid AND b.yr = (a.yr - INTERVAL 1 YEAR)::DATE;

INSERT INTO ind_new
WITH contrib AS (  -- cluster, year, the month it starts counting at, and what it adds
    SELECT cluster_id, date_trunc('year', period)::DATE AS yr, period AS from_period, output AS ytd,
           0 AS ytd_firms, 0 AS comparable_firms, NULL::DOUBLE AS cur, NULL::DOUBLE AS prev
    FROM cm
    UNION ALL
    SELECT cluster_id, yr, first_period, NULL, 1, 0, NULL, NULL FROM firm_year
    UNION ALL
    SELECT cluster_id, yr, k, NULL, 0, 1, NULL, NULL FROM comparable
    UNION ALL
    SELECT c.cluster_id, c.yr, greatest(f.period, c.k), NULL, 0, 0, f.output, 0.0
    FROM comparable c JOIN fm f ON f.fid = c.fid AND date_trunc('year', f.period)::DATE = c.yr
    UNION ALL
    SELECT c.cluster_id, c.yr, greatest((f.period + INTERVAL 12 MONTH)::DATE, c.k), NULL, 0, 0, 0.0, f.output
    FROM comparable c
    JOIN fm f ON f.fid = c.fid AND date_trunc('year', f.period)::DATE = (c.yr - INTERVAL 1 YEAR)::DATE
),
by_month AS (
    SELECT cluster_id, yr, from_period, sum(ytd::DECIMAL(38,12)) AS ytd, sum(ytd_firms) AS ytd_firms,
           sum(comparable_firms) AS comparable_firms, sum(cur::DECIMAL(38,12)) AS cur,
           sum(prev::DECIMAL(38,12)) AS prev
    FROM contrib GROUP BY ALL
),
t AS (
    SELECT g.cluster_id, g.period, sum(x.ytd)::DOUBLE AS ytd, coalesce(sum(x.ytd_firms), 0) AS ytd_firms,
           coalesce(sum(x.comparable_firms), 0) AS n_comparable, sum(x.cur)::DOUBLE AS cur, sum(x.prev)::DOUBLE AS prev,
           date_trunc('year', g.period)::DATE < (SELECT first_period FROM bounds) AS partial_ytd,
           (date_trunc('year', g.period) - INTERVAL 1 YEAR)::DATE < (SELECT first_period FROM bounds) AS partial_yoy
    FROM grid g
    LEFT JOIN by_month x ON x.cluster_id = g.cluster_id AND x.yr = date_trunc('year', g.period)::DATE
                        AND x.from_period <= g.period
    GROUP BY g.cluster_id, g.period
)
SELECT cluster_id, period, 'output_ytd', ytd, ytd, NULL, ytd_firms,
       list_filter([CASE WHEN partial_ytd THEN 'partial_window' END,
                    CASE WHEN ytd IS NULL THEN 'undefined:no_records' END], x -> x IS NOT NULL)
FROM t
UNION ALL
SELECT cluster_id, period, 'output_ytd_yoy',
       CASE WHEN n_comparable > 0 THEN cur / nullif(prev, 0) - 1 END,
       CASE WHEN n_comparable > 0 THEN cur END,
       CASE WHEN n_comparable > 0 THEN prev END,
       n_comparable,
       list_filter([CASE WHEN partial_yoy THEN 'partial_window' END,
                    CASE WHEN n_comparable = 0 THEN 'undefined:no_comparable_firms'
                         WHEN coalesce(prev, 0) = 0 THEN 'undefined:zero_base' END], x -> x IS NOT NULL)
FROM t;

-- output_ttm: records ending inside the 12 months ending with m (window flags from cluster_ttm).
INSERT INTO ind_new
SELECT cluster_id, period, 'output_ttm', output, output, NULL, coalesce(n_firms, 0),
       list_concat(window_flags, CASE WHEN output IS NULL THEN ['undefined:no_records'] ELSE [] END)
FROM cluster_ttm;
