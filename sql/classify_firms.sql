-- classify_firms.sql: mart.firm_ratings for the target periods — per-mu efficiency class A/B/C/D
-- (亩均效益评价) on each firm's TTM ending at the period. Config from flows/classification.toml via temp
-- tables cfg_rating (one row), cfg_weight(metric, weight), cfg_class(class, upto). Reads firm_ttm
-- (indicators_base.sql): one row per firm with monthly or tax data in the window.

DELETE FROM mart.firm_ratings
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);

INSERT INTO mart.firm_ratings
WITH base AS (
    SELECT f.uscc, f.cluster_id, f.period, f.land_area,
           CASE WHEN cfg.require_above_scale AND NOT f.above_scale THEN 'not_above_scale'
                WHEN coalesce(f.land_area, 0) < cfg.min_land_mu THEN 'land_below_minimum'
                WHEN f.n_records = 0 THEN 'no_monthly_records' END AS reason,
           CASE WHEN cfg.grp = 'all' THEN 'all' ELSE f.cluster_id END AS rating_group,
           f.tax_paid / nullif(f.land_area, 0) AS per_mu_tax,
           CASE WHEN f.n_value_added > 0 THEN f.value_added ELSE f.output END / nullif(f.land_area, 0)
               AS per_mu_value_added,
           CASE WHEN f.n_value_added > 0 THEN 'value_added' ELSE 'output' END AS value_added_basis,
           f.output / nullif(f.energy, 0) AS output_per_tce,
           f.output / nullif(f.employees_sum / nullif(f.n_employees, 0), 0) AS labour_productivity,
           f.rd_expense / nullif(f.revenue, 0) AS rd_intensity
    FROM firm_ttm f CROSS JOIN cfg_rating cfg
),
long AS (
    SELECT b.uscc, b.period, b.rating_group, w.metric, w.weight,
           CASE w.metric WHEN 'per_mu_tax' THEN b.per_mu_tax WHEN 'per_mu_value_added' THEN b.per_mu_value_added
                         WHEN 'output_per_tce' THEN b.output_per_tce
                         WHEN 'labour_productivity' THEN b.labour_productivity
                         WHEN 'rd_intensity' THEN b.rd_intensity END AS value
    FROM base b CROSS JOIN cfg_weight w
    WHERE b.reason IS NULL
),
scored AS (
    SELECT l.*, avg(l.value) OVER (PARTITION BY l.rating_group, l.period, l.metric) AS group_mean
    FROM long l
),
firm_scores AS (
    SELECT s.uscc, s.period,
           sum(s.weight * CASE WHEN s.value IS NULL OR NOT coalesce(s.group_mean > 0, false) THEN 1.0
                               ELSE least(greatest(s.value / s.group_mean, 0), cfg.cap) END) AS score,
           list_sort(list('undefined:' || s.metric) FILTER (WHERE s.value IS NULL
                                                              OR NOT coalesce(s.group_mean > 0, false))) AS flags
    FROM scored s CROSS JOIN cfg_rating cfg
    GROUP BY ALL
),
ranked AS (
    SELECT b.uscc, b.period, b.rating_group, s.score, s.flags,
           rank() OVER (PARTITION BY b.rating_group, b.period ORDER BY s.score DESC) AS rank_in_group,
           count(*) OVER (PARTITION BY b.rating_group, b.period) AS n_rated
    FROM base b JOIN firm_scores s USING (uscc, period)
)
SELECT b.uscc, b.period, b.cluster_id, r.score,
       (SELECT arg_min(c.class, c.upto) FROM cfg_class c WHERE r.rank_in_group / r.n_rated <= c.upto + 1e-12),
       b.reason IS NULL, b.reason, b.rating_group, r.rank_in_group, r.n_rated, b.land_area, b.per_mu_tax,
       b.per_mu_value_added, b.value_added_basis, b.output_per_tce, b.labour_productivity, b.rd_intensity,
       coalesce(r.flags, []::VARCHAR[])
FROM base b LEFT JOIN ranked r USING (uscc, period);
