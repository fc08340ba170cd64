-- indicators_base.sql: the shared inputs of every indicator query, built once per run.
-- Expects temp tables from flows/indicators.py:
--   tp(period)      target periods to (re)compute
--   sp(period)      months whose procurement pre-aggregates must be rebuilt (all months on a full run)
--   bounds          first_period, last_period (data range), lo_ytd (January of the year before the first
--                   target), lo_ttm (first target − 11 months), hi (last target)
-- Builds: firm_cluster (F(c) with the cluster's adcode and local scope), grid (cluster × target period),
-- fm (monthly records of F(c) from lo_ytd), cm (per cluster and month), firm_ttm (per firm and target
-- period: TTM sums), cluster_ttm, and refreshes work.proc_buyer_month / work.proc_local_supplier for sp.

CREATE OR REPLACE TEMP TABLE firm_cluster AS
SELECT f.uscc, f.cluster_id, f.land_area, coalesce(f.above_scale, false) AS above_scale,
       coalesce(f.chain_leader, false) AS chain_leader, f.srdi_level,
       c.adcode AS cluster_adcode, c.domain, c.province,
       CASE lower(coalesce(nullif(trim(c.local_scope), ''), 'city'))
           WHEN 'county' THEN 6 WHEN 'province' THEN 2 ELSE 4 END AS scope_len
FROM core.firms f
JOIN core.clusters c USING (cluster_id);

CREATE OR REPLACE TEMP TABLE grid AS
SELECT c.cluster_id, tp.period FROM core.clusters c CROSS JOIN tp;

-- Procurement, pre-aggregated once per buyer and month (local / unknown amounts) and per cluster, local
-- supplier and month. A supplier's location: the registry adcode when supplier_uscc is registered, else
-- supplier_adcode; unknown (NULL or blank) is not local.
DELETE FROM work.proc_buyer_month WHERE period IN (SELECT period FROM sp);
DELETE FROM work.proc_local_supplier WHERE period IN (SELECT period FROM sp);

INSERT INTO work.proc_buyer_month
WITH located AS (
    SELECT p.buyer_uscc, b.cluster_id, p.period, p.amount, b.cluster_adcode, b.scope_len,
           coalesce(nullif(trim(s.adcode), ''), nullif(trim(p.supplier_adcode), '')) AS supplier_adcode
    FROM core.procurement p
    JOIN firm_cluster b ON b.uscc = p.buyer_uscc
    LEFT JOIN core.firms s ON s.uscc = p.supplier_uscc
    WHERE p.period IN (SELECT period FROM sp)
)
SELECT buyer_uscc, cluster_id, period, sum(amount) AS amount,
       coalesce(sum(amount) FILTER (WHERE length(supplier_adcode) >= scope_len
                                      AND left(supplier_adcode, scope_len) = left(cluster_adcode, scope_len)),
                0) AS local_amount,
       coalesce(sum(amount) FILTER (WHERE supplier_adcode IS NULL), 0) AS unknown_amount,
       count(*) AS n_rows
FROM located
GROUP BY ALL;

INSERT INTO work.proc_local_supplier
WITH located AS (
    SELECT b.cluster_id, p.period, b.cluster_adcode, b.scope_len,
           coalesce(nullif(trim(p.supplier_uscc), ''), p.supplier_name) AS supplier_key,
           coalesce(nullif(trim(s.adcode), ''), nullif(trim(p.supplier_adcode), '')) AS supplier_adcode
    FROM core.procurement p
    JOIN firm_cluster b ON b.uscc = p.buyer_uscc
    LEFT JOIN core.firms s ON s.uscc = p.supplier_uscc
    WHERE p.period IN (SELECT period FROM sp)
)
SELECT DISTINCT cluster_id, supplier_key, period
FROM located
WHERE length(supplier_adcode) >= scope_len AND left(supplier_adcode, scope_len) = left(cluster_adcode, scope_len);

-- Monthly records of F(c) reaching back far enough for YTD year-on-year and TTM windows.
CREATE OR REPLACE TEMP TABLE fm AS
SELECT f.cluster_id, m.uscc, m.period, coalesce(m.span_months, 1) AS span_months, m.output,
       m.value_added, m.revenue, m.employees, m.energy, m.rd_expense
FROM core.firm_monthly m
JOIN firm_cluster f USING (uscc)
WHERE m.period BETWEEN (SELECT lo_ytd FROM bounds) AND (SELECT hi FROM bounds);

CREATE OR REPLACE TEMP TABLE cm AS
SELECT cluster_id, period, sum(output) AS output, count(output) AS n_output, count(*) AS n_records,
       bool_or(span_months > 1) AS has_span, sum(employees) AS employees
FROM fm
GROUP BY ALL;

-- Per firm and target period: sums over records ending inside the TTM window (tax included).
CREATE OR REPLACE TEMP TABLE firm_ttm AS
WITH facts AS (
    SELECT coalesce(m.uscc, t.uscc) AS uscc, coalesce(m.period, t.period) AS period, m.output,
           m.value_added, m.revenue, m.employees, m.energy, m.rd_expense, t.tax_paid,
           CASE WHEN m.uscc IS NOT NULL THEN 1 ELSE 0 END AS is_record,
           CASE WHEN t.uscc IS NOT NULL THEN 1 ELSE 0 END AS is_tax,
           least(
               CASE WHEN m.uscc IS NOT NULL THEN
                   (m.period - to_months(coalesce(m.span_months, 1) - 1))::DATE END,
               CASE WHEN t.uscc IS NOT NULL THEN
                   (t.period - to_months(coalesce(t.span_months, 1) - 1))::DATE END
           ) AS covers_from
    FROM (SELECT m.* FROM fm m WHERE m.period >= (SELECT lo_ttm FROM bounds)) m
    FULL JOIN (
        SELECT t.* FROM core.tax t JOIN firm_cluster f USING (uscc)
        WHERE t.period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
    ) t ON m.uscc = t.uscc AND m.period = t.period
),
spine AS (
    SELECT u.uscc, tp.period, NULL::DOUBLE AS output, NULL::DOUBLE AS value_added, NULL::DOUBLE AS revenue,
           NULL::DOUBLE AS employees, NULL::DOUBLE AS energy, NULL::DOUBLE AS rd_expense,
           NULL::DOUBLE AS tax_paid, 0 AS is_record, 0 AS is_tax, NULL::DATE AS covers_from, true AS is_target
    FROM (SELECT DISTINCT uscc FROM facts) u CROSS JOIN tp
    UNION ALL
    SELECT *, false AS is_target FROM facts
),
win AS (
    SELECT uscc, period, is_target,
           sum(output) OVER w AS output, count(value_added) OVER w AS n_value_added,
           sum(value_added) OVER w AS value_added, sum(revenue) OVER w AS revenue,
           sum(employees) OVER w AS employees_sum, count(employees) OVER w AS n_employees,
           sum(energy) OVER w AS energy, sum(rd_expense) OVER w AS rd_expense,
           sum(tax_paid) OVER w AS tax_paid, sum(is_record) OVER w AS n_records, sum(is_tax) OVER w AS n_tax,
           min(covers_from) OVER w AS covers_from
    FROM spine
    WINDOW w AS (PARTITION BY uscc ORDER BY period
                 RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW)
)
SELECT w.uscc, f.cluster_id, w.period, w.output, w.n_value_added, w.value_added, w.revenue, w.employees_sum,
       w.n_employees, w.energy, w.rd_expense, w.tax_paid, w.n_records, w.n_tax,
       w.covers_from < (w.period - INTERVAL 11 MONTH)::DATE AS span_edge,
       f.land_area, f.above_scale
FROM win w
JOIN firm_cluster f USING (uscc)
WHERE w.is_target AND (w.n_records > 0 OR w.n_tax > 0);

CREATE OR REPLACE TEMP TABLE cluster_ttm AS
WITH firms AS (
    SELECT cluster_id, period,
           sum(output) FILTER (WHERE n_records > 0) AS output,
           count(*) FILTER (WHERE n_records > 0) AS n_firms,
           max(output) FILTER (WHERE n_records > 0) AS max_output,
           sum(output * output) FILTER (WHERE n_records > 0) AS sum_sq_output,
           sum(revenue) AS revenue, sum(rd_expense) AS rd_expense, sum(energy) AS energy,
           sum(tax_paid) FILTER (WHERE land_area > 0) AS tax_land,
           count(*) FILTER (WHERE land_area > 0 AND n_tax > 0) AS n_tax_land,
           sum(output) FILTER (WHERE land_area > 0) AS output_land,
           count(*) FILTER (WHERE land_area > 0 AND n_records > 0) AS n_output_land,
           bool_or(span_edge) FILTER (WHERE n_records > 0) AS span_edge,
           bool_or(span_edge) FILTER (WHERE land_area > 0 AND n_tax > 0) AS span_edge_tax
    FROM firm_ttm
    GROUP BY ALL
),
emp AS (
    SELECT g.cluster_id, g.period, avg(cm.employees) AS employees_mean
    FROM grid g
    JOIN cm ON cm.cluster_id = g.cluster_id
           AND cm.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY ALL
),
land AS (
    SELECT cluster_id, sum(land_area) AS land_area, count(*) AS n_land
    FROM firm_cluster WHERE land_area > 0 GROUP BY ALL
)
SELECT g.cluster_id, g.period, firms.* EXCLUDE (cluster_id, period), emp.employees_mean,
       land.land_area, coalesce(land.n_land, 0) AS n_land,
       (g.period - INTERVAL 11 MONTH)::DATE < (SELECT first_period FROM bounds) AS partial_window
FROM grid g
LEFT JOIN firms USING (cluster_id, period)
LEFT JOIN emp USING (cluster_id, period)
LEFT JOIN land USING (cluster_id);

CREATE OR REPLACE TEMP TABLE ind_new (
    cluster_id VARCHAR, period DATE, indicator VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
    n_firms BIGINT, flags VARCHAR[]
);
