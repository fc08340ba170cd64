-- indicators_digital.sql: cloud_rate, transformation_done_rate, maturity_mean, digital_coverage (docs/architecture.md#indicators).
-- Population at m: firms of F(c) with a digital survey dated on or before the end of m; each firm's latest
-- such survey counts. A survey holds from its month until the month of the firm's next survey, so the state
-- at m is a running sum of +/− events (no firm × month expansion). Appends to ind_new.
-- reads: core.digital_surveys, firm_cluster, grid
-- writes: ind_new

INSERT INTO ind_new
WITH s AS (
    SELECT f.cluster_id, date_trunc('month', d.survey_date)::DATE AS valid_from,
           date_trunc('month', lead(d.survey_date) OVER (PARTITION BY d.uscc ORDER BY d.survey_date))::DATE
               AS valid_to,
           CASE WHEN d.cloud THEN 1 ELSE 0 END AS cloud,
           CASE WHEN d.transformation = '已完成' THEN 1 ELSE 0 END AS done,
           d.maturity::DOUBLE AS maturity, CASE WHEN d.maturity IS NOT NULL THEN 1 ELSE 0 END AS has_maturity
    FROM core.digital_surveys d
    JOIN firm_cluster f USING (uscc)
),
events AS (
    SELECT cluster_id, valid_from AS at_month, 1 AS n, cloud, done, coalesce(maturity, 0) AS maturity, has_maturity
    FROM s
    UNION ALL
    SELECT cluster_id, valid_to, -1, -cloud, -done, -coalesce(maturity, 0), -has_maturity
    FROM s WHERE valid_to IS NOT NULL
),
deltas AS (
    SELECT cluster_id, at_month, sum(n) AS n, sum(cloud) AS cloud, sum(done) AS done, sum(maturity) AS maturity,
           sum(has_maturity) AS has_maturity
    FROM events GROUP BY ALL
),
state AS (
    SELECT g.cluster_id, g.period, sum(e.n) AS n_surveyed, sum(e.cloud) AS n_cloud, sum(e.done) AS n_done,
           sum(e.maturity) AS maturity_sum, sum(e.has_maturity) AS n_maturity
    FROM grid g JOIN deltas e ON e.cluster_id = g.cluster_id AND e.at_month <= g.period
    GROUP BY ALL
),
population AS (SELECT cluster_id, count(*) AS n_firms FROM firm_cluster GROUP BY ALL),
t AS (
    SELECT g.cluster_id, g.period, coalesce(s.n_surveyed, 0) AS n_surveyed, coalesce(s.n_cloud, 0) AS n_cloud,
           coalesce(s.n_done, 0) AS n_done, coalesce(s.maturity_sum, 0) AS maturity_sum,
           coalesce(s.n_maturity, 0) AS n_maturity, coalesce(p.n_firms, 0) AS n_firms
    FROM grid g LEFT JOIN state s USING (cluster_id, period) LEFT JOIN population p USING (cluster_id)
)
SELECT cluster_id, period, 'cloud_rate', n_cloud / nullif(n_surveyed, 0), n_cloud, n_surveyed, n_surveyed,
       CASE WHEN n_surveyed = 0 THEN ['undefined:no_survey'] ELSE [] END::VARCHAR[]
FROM t
UNION ALL
SELECT cluster_id, period, 'transformation_done_rate', n_done / nullif(n_surveyed, 0), n_done, n_surveyed,
       n_surveyed, CASE WHEN n_surveyed = 0 THEN ['undefined:no_survey'] ELSE [] END::VARCHAR[]
FROM t
UNION ALL
SELECT cluster_id, period, 'maturity_mean', maturity_sum / nullif(n_maturity, 0), maturity_sum, n_maturity,
       n_maturity,
       CASE WHEN n_surveyed = 0 THEN ['undefined:no_survey']
            WHEN n_maturity = 0 THEN ['undefined:no_maturity'] ELSE [] END::VARCHAR[]
FROM t
UNION ALL
SELECT cluster_id, period, 'digital_coverage', n_surveyed / nullif(n_firms, 0), n_surveyed, n_firms, n_firms,
       CASE WHEN n_firms = 0 THEN ['undefined:no_firms'] ELSE [] END::VARCHAR[]
FROM t;
