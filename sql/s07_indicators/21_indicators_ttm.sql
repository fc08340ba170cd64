-- indicators_ttm.sql: TTM ratios — per_mu_tax, per_mu_output, rd_intensity, energy_intensity,
-- labour_productivity, top1_share, hhi (docs/architecture.md#indicators). Reads cluster_ttm (indicators_base.sql); appends to
-- ind_new. Every ratio stores numerator and denominator (the province roll-up recomputes from them) and is
-- NULL with an undefined:<reason> flag when its denominator is zero or empty, or when no firm reported the
-- numerator (e.g. bureaus that do not collect rd_expense: undefined:not_reported). Windows that start before the
-- first month with data are computed over what exists and flagged partial_window; span_edge as in cluster_ttm.
-- reads: cluster_ttm
-- writes: ind_new

INSERT INTO ind_new
WITH rows AS (
    -- per mu: firms of F(c) with land_area > 0, whether or not they reported; no land → undefined.
    SELECT cluster_id, period, 'per_mu_tax' AS indicator,
           CASE WHEN n_tax_land > 0 THEN coalesce(tax_land, 0) END AS numerator, land_area AS denominator,
           n_land AS n_firms, tax_window_flags AS window_flags,
           CASE WHEN n_land = 0 THEN 'no_land' WHEN n_tax_land = 0 THEN 'no_records' END AS undefined
    FROM cluster_ttm
    UNION ALL
    SELECT cluster_id, period, 'per_mu_output',
           CASE WHEN n_output_land > 0 THEN coalesce(output_land, 0) END, land_area, n_land, land_window_flags,
           CASE WHEN n_land = 0 THEN 'no_land' WHEN coalesce(n_output_land, 0) = 0 THEN 'no_records' END
    FROM cluster_ttm
    UNION ALL
    -- over the firms of F(c) with records in the window: (indicator, numerator, denominator, reason when the
    -- denominator is zero, whether a missing numerator means not reported).
    SELECT t.cluster_id, t.period, r.indicator, r.numerator, r.denominator, coalesce(t.n_firms, 0), t.window_flags,
           CASE WHEN coalesce(t.n_firms, 0) = 0 THEN 'no_records'
                WHEN coalesce(r.denominator, 0) = 0 THEN r.zero_denominator
                WHEN r.numerator_reported AND r.numerator IS NULL THEN 'not_reported' END
    FROM cluster_ttm t,
         unnest([{'indicator': 'rd_intensity', 'numerator': t.rd_expense, 'denominator': t.revenue,
                  'zero_denominator': 'zero_revenue', 'numerator_reported': true},
                 {'indicator': 'energy_intensity', 'numerator': t.energy, 'denominator': t.output,
                  'zero_denominator': 'zero_output', 'numerator_reported': true},
                 {'indicator': 'labour_productivity', 'numerator': t.output, 'denominator': t.employees_mean,
                  'zero_denominator': 'zero_employees', 'numerator_reported': false},
                 {'indicator': 'top1_share', 'numerator': t.max_output, 'denominator': t.output,
                  'zero_denominator': 'zero_output', 'numerator_reported': false},
                 -- hhi = Σ x_i² / (Σ x_i)²: numerator Σ x_i², denominator Σ x_i (squared when dividing).
                 {'indicator': 'hhi', 'numerator': t.sum_sq_output, 'denominator': t.output,
                  'zero_denominator': 'zero_output', 'numerator_reported': false}]) AS u(r)
)
SELECT cluster_id, period, indicator,
       CASE WHEN undefined IS NOT NULL THEN NULL
            WHEN indicator = 'hhi' THEN numerator / (denominator * denominator)
            ELSE numerator / denominator END AS value,
       numerator, denominator, n_firms,
       list_concat(window_flags, CASE WHEN undefined IS NOT NULL THEN ['undefined:' || undefined] ELSE [] END)
FROM rows;
