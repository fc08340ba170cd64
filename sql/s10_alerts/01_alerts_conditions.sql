-- Threshold alert conditions (docs/architecture.md#snapshots-alerts-and-reports) for every cluster and month, parameters from flows/registry/alerts.toml.
-- Output: TEMP TABLE alert_conditions, one row per (rule, subject, period) that could be evaluated, with
-- `active` saying whether the condition holds; flows/stages/s10_alerts.py turns runs of active months into episodes.
-- Values built on a partial window (TTM or last year's YTD starting before the data) are not evaluated:
-- a rate over 4 months compared with one over 7 is not a change of the cluster.
-- $months: the months to evaluate (a night's incremental scope, see flows/stages/s10_alerts.py _scope); NULL for
-- every month. A month's rows read only that month, the month before, $lsr_lag_months and 12 months earlier.
-- reads: core.firm_monthly, core.firms, mart.cluster_indicators, meta.files
-- writes: alert_conditions
CREATE OR REPLACE TEMP TABLE alert_conditions (
    rule VARCHAR, subject VARCHAR, cluster_id VARCHAR, period DATE, active BOOLEAN,
    value DOUBLE, baseline DOUBLE, evidence JSON);

-- local_supporting_rate down ≥ drop_points against lag_months earlier
INSERT INTO alert_conditions
WITH r AS (
    SELECT cluster_id, period, value
    FROM mart.cluster_indicators
    WHERE indicator = 'local_supporting_rate' AND value IS NOT NULL
      AND NOT list_contains(coalesce(flags, []), 'partial_window'))
SELECT 'local_supporting_rate_drop', cur.cluster_id, cur.cluster_id, cur.period,
       (prev.value - cur.value) * 100 >= $lsr_drop_points, cur.value, prev.value,
       json_object('value', cur.value, 'baseline', prev.value, 'drop_pts', (prev.value - cur.value) * 100,
                   'lag_months', $lsr_lag_months::INTEGER, 'threshold_pts', $lsr_drop_points)
FROM r cur JOIN r prev
  ON prev.cluster_id = cur.cluster_id AND prev.period = cur.period - to_months($lsr_lag_months::INTEGER)
WHERE $months::DATE[] IS NULL OR list_contains($months::DATE[], cur.period);

-- output_ytd_yoy below min_yoy
INSERT INTO alert_conditions
SELECT 'output_ytd_yoy_low', cluster_id, cluster_id, period, value < $yoy_min, value, NULL,
       json_object('value', value, 'threshold', $yoy_min, 'n_firms', n_firms)
FROM mart.cluster_indicators
WHERE indicator = 'output_ytd_yoy' AND value IS NOT NULL
  AND NOT list_contains(coalesce(flags, []), 'partial_window')
  AND ($months::DATE[] IS NULL OR list_contains($months::DATE[], period));

-- per_mu_tax (TTM) down ≥ 15 % against the same month a year earlier
INSERT INTO alert_conditions
WITH t AS (
    SELECT cluster_id, period, value
    FROM mart.cluster_indicators
    WHERE indicator = 'per_mu_tax' AND value > 0
      AND NOT list_contains(coalesce(flags, []), 'partial_window'))
SELECT 'per_mu_tax_drop', cur.cluster_id, cur.cluster_id, cur.period, cur.value / prev.value - 1 <= $tax_max_yoy,
       cur.value, prev.value,
       json_object('value', cur.value, 'baseline', prev.value, 'drop_pct', 1 - cur.value / prev.value,
                   'threshold', $tax_max_yoy)
FROM t cur JOIN t prev ON prev.cluster_id = cur.cluster_id AND prev.period = cur.period - INTERVAL 12 MONTH
WHERE $months::DATE[] IS NULL OR list_contains($months::DATE[], cur.period);

-- reporting gap: firms of the cluster with a record ending last month and none ending this month (the firm rows
-- read are those of the months evaluated and of the months before them; the constant range from the month before
-- the first to the last lets the scan skip the other months' blocks)
INSERT INTO alert_conditions
WITH months AS (
    SELECT DISTINCT period FROM mart.cluster_indicators WHERE indicator = 'n_firms'),
scope AS (
    SELECT period FROM months WHERE $months::DATE[] IS NULL OR list_contains($months::DATE[], period)),
rep AS (
    SELECT f.cluster_id, m.uscc, m.period
    FROM core.firm_monthly m JOIN core.firms f USING (uscc)
    WHERE ($months::DATE[] IS NULL OR m.period BETWEEN (list_min($months::DATE[]) - INTERVAL 1 MONTH)::DATE
                                                   AND list_max($months::DATE[]))
      AND (m.period IN (SELECT period FROM scope)
           OR (m.period + INTERVAL 1 MONTH)::DATE IN (SELECT period FROM scope))),
missing AS (
    SELECT prev.cluster_id, scope.period, count(*) AS n_missing
    FROM rep prev
    JOIN scope ON scope.period = prev.period + INTERVAL 1 MONTH
    ANTI JOIN rep cur ON cur.uscc = prev.uscc AND cur.period = scope.period
    GROUP BY ALL),
base AS (
    SELECT cluster_id, period, value AS n_firms
    FROM mart.cluster_indicators
    WHERE indicator = 'n_firms' AND value > 0 AND period IN (SELECT period FROM scope))
SELECT 'reporting_gap', b.cluster_id, b.cluster_id, b.period,
       coalesce(g.n_missing, 0) / b.n_firms > $gap_max_share, coalesce(g.n_missing, 0) / b.n_firms, b.n_firms,
       json_object('value', coalesce(g.n_missing, 0) / b.n_firms, 'n_missing', coalesce(g.n_missing, 0),
                   'n_firms', b.n_firms, 'threshold', $gap_max_share)
FROM base b LEFT JOIN missing g USING (cluster_id, period)
WHERE b.period > (SELECT min(period) FROM months)
  AND NOT list_contains($gap_exempt_months::INTEGER[], month(b.period)::INTEGER);

-- quarantined share of a file; period = the month in the file name, else the latest month (every file, whatever
-- $months says: one row per file, and the latest month moves)
INSERT INTO alert_conditions
SELECT 'quarantine_share', file_name, NULL,
       coalesce(try_strptime(regexp_extract(file_name, '(\d{4}-\d{2})', 1), '%Y-%m')::DATE,
                (SELECT max(period) FROM mart.cluster_indicators)),
       rows_quarantined / rows_in > $q_max_share, rows_quarantined / rows_in, NULL,
       json_object('value', rows_quarantined / rows_in, 'n_quarantined', rows_quarantined, 'rows_in', rows_in,
                   'file_id', file_id, 'threshold', $q_max_share)
FROM meta.files
WHERE rows_in > 0 AND rows_quarantined / rows_in > $q_max_share;
