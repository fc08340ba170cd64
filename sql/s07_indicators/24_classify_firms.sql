-- classify_firms.sql: mart.firm_ratings for the rated target periods (rp) — per-mu efficiency class A/B/C/D
-- (亩均效益评价) on each firm's TTM ending at the period, for every firm with a monthly record in that
-- window (class NULL when not evaluated). Config from flows/registry/classification.toml via temp
-- tables cfg_rating (one row, with class_names / class_upto lists sorted by upto), cfg_weight(metric,
-- weight). Reads work.firm_month, firm_ttm (indicators_base.sql) and firm_cluster (indicators_maps.sql).
-- reads: bounds, cfg_rating, cfg_weight, firm_cluster, firm_ttm, rp, tp, work.firm_month
-- writes: mart.firm_ratings, rating_ttm

-- Rated periods (temp table rp, from indicators_targets.sql): the target periods that are a December (the annual
-- rating) or the latest period of the data (the running year's provisional rating). A period that stopped
-- being the latest is dropped unless it is a December, so an incremental night equals a full recompute;
-- flows.stages.s07_indicators.rate_firms computes any other month on demand.
DELETE FROM mart.firm_ratings
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds)
   OR ((SELECT drop_unrated_periods FROM bounds) AND month(period) <> 12 AND period <> (SELECT last_period FROM bounds));

-- TTM sums per evaluated firm and target period (evaluated: above scale if required, enough land), over its
-- monthly and tax records. rp holds a few periods (Decembers and the latest one): an equality-free range join
-- of the firm-months with them is cheaper than a window over every firm-month. A firm without facts in a
-- window gets no row (it is not in firm_ttm either, so it is not rated). The output is firm_ttm's (the exact sum of
-- the same values: a row without a monthly record has no output), so it is not summed again here.
CREATE OR REPLACE TEMP TABLE rating_ttm AS
WITH evaluated AS (
    SELECT f.fid FROM firm_cluster f CROSS JOIN cfg_rating cfg
    WHERE (f.above_scale OR NOT cfg.require_above_scale) AND coalesce(f.land_area, 0) >= cfg.min_land_mu
)
SELECT w.fid, rp.period,
       count(w.value_added) AS n_value_added,
       sum(w.value_added::DECIMAL(38,12))::DOUBLE AS value_added, sum(w.revenue::DECIMAL(38,12))::DOUBLE AS revenue,
       sum(w.employees::DECIMAL(38,12))::DOUBLE AS employees_sum, count(w.employees) AS n_employees,
       sum(w.energy::DECIMAL(38,12))::DOUBLE AS energy, sum(w.rd_expense::DECIMAL(38,12))::DOUBLE AS rd_expense,
       sum(w.tax_paid::DECIMAL(38,12))::DOUBLE AS tax_paid
FROM work.firm_month w
SEMI JOIN evaluated USING (fid)
JOIN rp ON w.period BETWEEN (rp.period - INTERVAL 11 MONTH)::DATE AND rp.period
WHERE w.period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
GROUP BY w.fid, rp.period;

-- Rows: every firm with a monthly record in the window (firm_ttm); values only for the evaluated ones.
INSERT INTO mart.firm_ratings (uscc, period, cluster_id, score, class, rated, reason, rating_group, rank_in_group,
                               n_rated_in_group, land_area, per_mu_tax, per_mu_value_added, value_added_basis,
                               output_per_tce, labour_productivity, rd_intensity, flags)
WITH base AS (
    SELECT f.fid, l.uscc, f.cluster_id, f.period, l.land_area,
           CASE WHEN cfg.require_above_scale AND NOT l.above_scale THEN 'not_above_scale'
                WHEN coalesce(l.land_area, 0) < cfg.min_land_mu THEN 'land_below_minimum' END AS reason,
           CASE WHEN cfg.grp = 'all' THEN 'all' ELSE f.cluster_id END AS rating_group,
           r.tax_paid / nullif(l.land_area, 0) AS per_mu_tax,
           CASE WHEN r.n_value_added > 0 THEN r.value_added ELSE r.output END / nullif(l.land_area, 0)
               AS per_mu_value_added,
           CASE WHEN r.fid IS NULL THEN NULL WHEN r.n_value_added > 0 THEN 'value_added' ELSE 'output' END
               AS value_added_basis,
           r.output / nullif(r.energy, 0) AS output_per_tce,
           r.output / nullif(r.employees_sum / nullif(r.n_employees, 0), 0) AS labour_productivity,
           r.rd_expense / nullif(r.revenue, 0) AS rd_intensity
    FROM (SELECT * FROM firm_ttm WHERE period IN (SELECT period FROM rp)) f
    JOIN firm_cluster l USING (fid)
    -- an evaluated firm's window sums, with the output of its firm_ttm row (NULL for a firm not evaluated)
    LEFT JOIN (SELECT r.*, f.output FROM rating_ttm r JOIN firm_ttm f USING (fid, period)) r
           ON r.fid = f.fid AND r.period = f.period
    CROSS JOIN cfg_rating cfg
),
-- The scores on one row per firm, a column per metric (no metric × firm rows, no window over them): a metric's
-- group mean is the exact DECIMAL mean over the group's evaluated firms, its term weight × (value / mean, within
-- 0 … cap; the neutral 1 when the value or a positive mean is missing, flagged undefined:<metric>) as DECIMAL(38,12),
-- and the score the exact sum of the terms of the metrics cfg_weight weighs (s07_indicators.py refuses an unknown
-- metric or no metric), so the same as summing them as rows.
weights AS (
    SELECT max(weight) FILTER (WHERE metric = 'per_mu_tax') AS w_tax,
           max(weight) FILTER (WHERE metric = 'per_mu_value_added') AS w_va,
           max(weight) FILTER (WHERE metric = 'output_per_tce') AS w_tce,
           max(weight) FILTER (WHERE metric = 'labour_productivity') AS w_lab,
           max(weight) FILTER (WHERE metric = 'rd_intensity') AS w_rd
    FROM cfg_weight
),
means AS (
    SELECT rating_group, period,
           avg(per_mu_tax::DECIMAL(38,12)) AS m_tax, avg(per_mu_value_added::DECIMAL(38,12)) AS m_va,
           avg(output_per_tce::DECIMAL(38,12)) AS m_tce, avg(labour_productivity::DECIMAL(38,12)) AS m_lab,
           avg(rd_intensity::DECIMAL(38,12)) AS m_rd
    FROM base WHERE reason IS NULL GROUP BY rating_group, period
),
undefined AS (
    SELECT b.fid, b.period, b.per_mu_tax, b.per_mu_value_added, b.output_per_tce, b.labour_productivity,
           b.rd_intensity, m.m_tax, m.m_va, m.m_tce, m.m_lab, m.m_rd,
           b.per_mu_tax IS NULL OR NOT coalesce(m.m_tax > 0, false) AS u_tax,
           b.per_mu_value_added IS NULL OR NOT coalesce(m.m_va > 0, false) AS u_va,
           b.output_per_tce IS NULL OR NOT coalesce(m.m_tce > 0, false) AS u_tce,
           b.labour_productivity IS NULL OR NOT coalesce(m.m_lab > 0, false) AS u_lab,
           b.rd_intensity IS NULL OR NOT coalesce(m.m_rd > 0, false) AS u_rd
    FROM base b JOIN means m USING (rating_group, period)
    WHERE b.reason IS NULL
),
firm_scores AS (
    SELECT u.fid, u.period,
           (coalesce((w.w_tax * CASE WHEN u.u_tax THEN 1.0
                                     ELSE least(greatest(u.per_mu_tax / u.m_tax, 0), cfg.cap) END)::DECIMAL(38,12), 0)
            + coalesce((w.w_va * CASE WHEN u.u_va THEN 1.0
                                      ELSE least(greatest(u.per_mu_value_added / u.m_va, 0), cfg.cap) END
                       )::DECIMAL(38,12), 0)
            + coalesce((w.w_tce * CASE WHEN u.u_tce THEN 1.0
                                       ELSE least(greatest(u.output_per_tce / u.m_tce, 0), cfg.cap) END
                       )::DECIMAL(38,12), 0)
            + coalesce((w.w_lab * CASE WHEN u.u_lab THEN 1.0
                                       ELSE least(greatest(u.labour_productivity / u.m_lab, 0), cfg.cap) END
                       )::DECIMAL(38,12), 0)
            + coalesce((w.w_rd * CASE WHEN u.u_rd THEN 1.0
                                      ELSE least(greatest(u.rd_intensity / u.m_rd, 0), cfg.cap) END)::DECIMAL(38,12), 0)
           )::DOUBLE AS score,
           list_sort(list_filter([CASE WHEN w.w_tax IS NOT NULL AND u.u_tax THEN 'undefined:per_mu_tax' END,
                                  CASE WHEN w.w_va IS NOT NULL AND u.u_va THEN 'undefined:per_mu_value_added' END,
                                  CASE WHEN w.w_tce IS NOT NULL AND u.u_tce THEN 'undefined:output_per_tce' END,
                                  CASE WHEN w.w_lab IS NOT NULL AND u.u_lab THEN 'undefined:labour_productivity' END,
                                  CASE WHEN w.w_rd IS NOT NULL AND u.u_rd THEN 'undefined:rd_intensity' END],
                                 x -> x IS NOT NULL)) AS flags
    FROM undefined u CROSS JOIN weights w CROSS JOIN cfg_rating cfg
),
ranked AS (
    SELECT b.fid, b.period, b.rating_group, s.score, s.flags,
           rank() OVER (PARTITION BY b.rating_group, b.period ORDER BY s.score DESC) AS rank_in_group,
           count(*) OVER (PARTITION BY b.rating_group, b.period) AS n_rated
    FROM base b JOIN firm_scores s USING (fid, period)
)
SELECT b.uscc, b.period, b.cluster_id, r.score,
       CASE WHEN r.rank_in_group IS NOT NULL THEN
           cfg.class_names[1 + len(list_filter(cfg.class_upto, u -> u < r.rank_in_group / r.n_rated - 1e-12))]
       END,
       b.reason IS NULL, b.reason, b.rating_group, r.rank_in_group, r.n_rated, b.land_area, b.per_mu_tax,
       b.per_mu_value_added, b.value_added_basis, b.output_per_tce, b.labour_productivity, b.rd_intensity,
       coalesce(r.flags, []::VARCHAR[])
FROM base b LEFT JOIN ranked r USING (fid, period) CROSS JOIN cfg_rating cfg;
