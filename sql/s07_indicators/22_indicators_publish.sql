-- indicators_publish.sql: replace the target periods in mart.cluster_indicators with ind_new, adding each
-- value's percentile rank among clusters of the same domain, and rebuild the province roll-up for those
-- periods. Periods outside the data range are dropped. Reads ind_reg(indicator, direction, rollup) from the
-- registry (flows/registry/indicators.toml).
-- reads: bounds, core.clusters, ind_new, ind_reg, tp
-- writes: ind_rounded, mart.cluster_indicators, mart.province_indicators, sig12

DELETE FROM mart.cluster_indicators
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);

-- Values, numerators and denominators are stored rounded to 12 significant digits, so a recomputed value
-- equals the stored one unless the data changed: float noise (875.3199999999997 against 875.32) would otherwise
-- show up as a revision. 12 digits keep 1 元 of a 1万亿元 total, far more than any table shows.
-- Ranks are taken over the rounded values.
CREATE OR REPLACE TEMP MACRO sig12(x) AS
    CASE WHEN x IS NULL OR x = 0 OR isnan(x) OR isinf(x) THEN x
         ELSE round(x, 11 - floor(log10(abs(x)))::INTEGER) END;

CREATE OR REPLACE TEMP TABLE ind_rounded AS
SELECT cluster_id, period, indicator, sig12(value) AS value, sig12(numerator) AS numerator,
       sig12(denominator) AS denominator, n_firms, flags
FROM ind_new;

-- Rank 1.0 = best in the domain by the indicator's direction (highest value for neutral indicators);
-- NULL when fewer than two clusters of the domain have a value.
INSERT INTO mart.cluster_indicators (cluster_id, period, indicator, value, numerator, denominator, n_firms, flags,
                                     pct_rank_in_domain)
SELECT n.cluster_id, n.period, n.indicator, n.value, n.numerator, n.denominator, n.n_firms, list_sort(n.flags),
       CASE WHEN n.value IS NOT NULL AND count(n.value) OVER d >= 2 THEN
           (rank() OVER (PARTITION BY c.domain, n.period, n.indicator, n.value IS NULL
                         ORDER BY CASE WHEN r.direction = 'lower_better' THEN -n.value ELSE n.value END) - 1)
           / (count(n.value) OVER d - 1)
       END
FROM ind_rounded n
JOIN core.clusters c USING (cluster_id)
JOIN ind_reg r USING (indicator)
WINDOW d AS (PARTITION BY c.domain, n.period, n.indicator);

DELETE FROM mart.province_indicators
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);

-- Additive indicators are summed; ratios are recomputed from summed numerators and denominators
-- (rollup_value: sql/s07_indicators/07_indicators_rollup.sql, defined before this file runs).
INSERT INTO mart.province_indicators (province, period, indicator, value, numerator, denominator, n_firms,
                                      n_clusters, flags)
WITH agg AS (
    SELECT c.province, n.period, n.indicator, r.rollup,
           sum(n.value::DECIMAL(38,12))::DOUBLE AS sum_value, sum(n.numerator::DECIMAL(38,12))::DOUBLE AS numerator,
           sum(n.denominator::DECIMAL(38,12))::DOUBLE AS denominator, max(n.numerator) AS max_numerator,
           sum(n.n_firms) AS n_firms, count(*) AS n_clusters,
           list_distinct(flatten(list(list_filter(n.flags, f -> f IN ('partial_window', 'span', 'span_edge')))))
               AS flags
    FROM ind_rounded n
    JOIN core.clusters c USING (cluster_id)
    JOIN ind_reg r USING (indicator)
    GROUP BY ALL
),
v AS (
    SELECT *, rollup_value(rollup, sum_value, numerator, denominator, max_numerator) AS value
    FROM agg
)
SELECT province, period, indicator, sig12(value),
       sig12(CASE WHEN rollup = 'max_share' THEN max_numerator ELSE numerator END), sig12(denominator),
       n_firms, n_clusters,
       list_sort(list_concat(flags, CASE WHEN value IS NULL THEN ['undefined:' || CASE
                 WHEN rollup = 'sum' THEN 'no_values' ELSE 'zero_denominator' END] ELSE [] END))
FROM v;
