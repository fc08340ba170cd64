-- indicators_output.sql: output_month, n_reporting, output_ytd, output_ytd_yoy, output_ttm (DESIGN §5).
-- Reads grid, fm, cm, cluster_ttm, bounds (indicators_base.sql); appends to ind_new.
-- Flags: span (a record ending in m covers more than one month, e.g. 1–2月), span_edge (a TTM record
-- reaches back before the window), partial_window (the window starts before the first month with data),
-- undefined:no_records, undefined:no_comparable_firms, undefined:zero_base.

-- output_month and n_reporting: records ending in m only.
INSERT INTO ind_new
SELECT g.cluster_id, g.period, 'output_month', cm.output, cm.output, NULL, coalesce(cm.n_output, 0),
       list_filter([CASE WHEN cm.has_span THEN 'span' END,
                    CASE WHEN cm.output IS NULL THEN 'undefined:no_records' END], x -> x IS NOT NULL)
FROM grid g LEFT JOIN cm USING (cluster_id, period)
UNION ALL
SELECT g.cluster_id, g.period, 'n_reporting', coalesce(cm.n_records, 0), coalesce(cm.n_records, 0), NULL,
       coalesce(cm.n_records, 0), []::VARCHAR[]
FROM grid g LEFT JOIN cm USING (cluster_id, period);

-- output_ytd: records ending in months 1..m of m's year. A firm counts from its first record of the year.
CREATE OR REPLACE TEMP TABLE firm_year AS
SELECT fid, cluster_id, date_trunc('year', period)::DATE AS yr, min(period) AS first_period
FROM fm GROUP BY ALL;

INSERT INTO ind_new
WITH sums AS (
    SELECT g.cluster_id, g.period, sum(cm.output) AS output
    FROM grid g
    JOIN cm ON cm.cluster_id = g.cluster_id AND cm.period BETWEEN date_trunc('year', g.period)::DATE AND g.period
    GROUP BY ALL
),
firms AS (
    SELECT g.cluster_id, g.period, count(*) AS n_firms
    FROM grid g
    JOIN firm_year y ON y.cluster_id = g.cluster_id AND y.yr = date_trunc('year', g.period)::DATE
                     AND y.first_period <= g.period
    GROUP BY ALL
)
SELECT g.cluster_id, g.period, 'output_ytd', s.output, s.output, NULL, coalesce(f.n_firms, 0),
       list_filter([CASE WHEN date_trunc('year', g.period)::DATE < (SELECT first_period FROM bounds)
                         THEN 'partial_window' END,
                    CASE WHEN s.output IS NULL THEN 'undefined:no_records' END], x -> x IS NOT NULL)
FROM grid g LEFT JOIN sums s USING (cluster_id, period) LEFT JOIN firms f USING (cluster_id, period);

-- output_ytd_yoy on the comparable basis. A firm is comparable at m once it has a record in months 1..m of
-- m's year and in months 1..m of the year before: from month k = max(first record this year, first record
-- last year + 12 months). This year's record at p counts from max(p, k); last year's record at p counts
-- from max(p + 12 months, k). Cumulating those contributions gives Σ ytd(m) and Σ ytd(m − 12) over the
-- firms comparable at m, in one pass.
CREATE OR REPLACE TEMP TABLE comparable AS
SELECT a.fid, a.cluster_id, a.yr, greatest(a.first_period, (b.first_period + INTERVAL 12 MONTH)::DATE) AS k
FROM firm_year a
JOIN firm_year b ON b.fid = a.fid AND b.yr = (a.yr - INTERVAL 1 YEAR)::DATE;

INSERT INTO ind_new
WITH contrib AS (
    SELECT c.cluster_id, c.yr, greatest(f.period, c.k) AS from_period, f.output AS cur, 0.0 AS prev
    FROM comparable c JOIN fm f ON f.fid = c.fid AND date_trunc('year', f.period)::DATE = c.yr
    UNION ALL
    SELECT c.cluster_id, c.yr, greatest((f.period + INTERVAL 12 MONTH)::DATE, c.k), 0.0, f.output
    FROM comparable c
    JOIN fm f ON f.fid = c.fid AND date_trunc('year', f.period)::DATE = (c.yr - INTERVAL 1 YEAR)::DATE
),
sums AS (
    SELECT g.cluster_id, g.period, sum(x.cur) AS cur, sum(x.prev) AS prev
    FROM grid g
    JOIN contrib x ON x.cluster_id = g.cluster_id AND x.yr = date_trunc('year', g.period)::DATE
                   AND x.from_period <= g.period
    GROUP BY ALL
),
firms AS (
    SELECT g.cluster_id, g.period, count(*) AS n_firms
    FROM grid g
    JOIN comparable c ON c.cluster_id = g.cluster_id AND c.yr = date_trunc('year', g.period)::DATE
                      AND c.k <= g.period
    GROUP BY ALL
)
SELECT g.cluster_id, g.period, 'output_ytd_yoy',
       CASE WHEN coalesce(f.n_firms, 0) > 0 THEN s.cur / nullif(s.prev, 0) - 1 END,
       CASE WHEN coalesce(f.n_firms, 0) > 0 THEN s.cur END,
       CASE WHEN coalesce(f.n_firms, 0) > 0 THEN s.prev END,
       coalesce(f.n_firms, 0),
       list_filter([CASE WHEN (date_trunc('year', g.period) - INTERVAL 1 YEAR)::DATE
                              < (SELECT first_period FROM bounds) THEN 'partial_window' END,
                    CASE WHEN coalesce(f.n_firms, 0) = 0 THEN 'undefined:no_comparable_firms'
                         WHEN coalesce(s.prev, 0) = 0 THEN 'undefined:zero_base' END], x -> x IS NOT NULL)
FROM grid g LEFT JOIN sums s USING (cluster_id, period) LEFT JOIN firms f USING (cluster_id, period);

-- output_ttm: records ending inside the 12 months ending with m.
INSERT INTO ind_new
SELECT cluster_id, period, 'output_ttm', output, output, NULL, coalesce(n_firms, 0),
       list_filter([CASE WHEN partial_window THEN 'partial_window' END,
                    CASE WHEN span_edge THEN 'span_edge' END,
                    CASE WHEN output IS NULL THEN 'undefined:no_records' END], x -> x IS NOT NULL)
FROM cluster_ttm;
