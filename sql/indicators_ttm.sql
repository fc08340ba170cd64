-- indicators_ttm.sql: TTM ratios — per_mu_tax, per_mu_output, rd_intensity, energy_intensity,
-- labour_productivity, top1_share, hhi (DESIGN §5). Reads cluster_ttm (indicators_base.sql); appends to
-- ind_new. Every ratio stores numerator and denominator (the province roll-up recomputes from them) and is
-- NULL with an undefined:<reason> flag when its denominator is zero or empty, or when no firm reported the
-- numerator (e.g. bureaus that do not collect rd_expense: undefined:not_reported). Windows that start before the
-- first month with data are computed over what exists and flagged partial_window.

INSERT INTO ind_new
WITH t AS (
    SELECT *, list_filter([CASE WHEN partial_window THEN 'partial_window' END,
                           CASE WHEN span_edge THEN 'span_edge' END], x -> x IS NOT NULL) AS base_flags
    FROM cluster_ttm
),
rows AS (
    -- per mu: firms of F(c) with land_area > 0, whether or not they reported; no land → undefined.
    SELECT cluster_id, period, 'per_mu_tax' AS indicator,
           CASE WHEN n_tax_land > 0 THEN coalesce(tax_land, 0) END AS numerator, land_area AS denominator,
           n_land AS n_firms,
           list_filter([CASE WHEN partial_window THEN 'partial_window' END,
                        CASE WHEN span_edge_tax THEN 'span_edge' END,
                        CASE WHEN n_land = 0 THEN 'undefined:no_land'
                             WHEN n_tax_land = 0 THEN 'undefined:no_records' END], x -> x IS NOT NULL) AS flags
    FROM t
    UNION ALL
    SELECT cluster_id, period, 'per_mu_output',
           CASE WHEN n_output_land > 0 THEN coalesce(output_land, 0) END, land_area, n_land,
           list_concat(list_filter([CASE WHEN partial_window THEN 'partial_window' END,
                                    CASE WHEN span_edge_land THEN 'span_edge' END], x -> x IS NOT NULL),
                       list_filter([CASE WHEN n_land = 0 THEN 'undefined:no_land'
                                                     WHEN coalesce(n_output_land, 0) = 0 THEN 'undefined:no_records' END],
                                               x -> x IS NOT NULL))
    FROM t
    UNION ALL
    SELECT cluster_id, period, 'rd_intensity', rd_expense, revenue, coalesce(n_firms, 0),
           list_concat(base_flags, list_filter([CASE WHEN coalesce(n_firms, 0) = 0 THEN 'undefined:no_records'
                                                     WHEN coalesce(revenue, 0) = 0 THEN 'undefined:zero_revenue'
                                                     WHEN rd_expense IS NULL THEN 'undefined:not_reported'
                                                END], x -> x IS NOT NULL))
    FROM t
    UNION ALL
    SELECT cluster_id, period, 'energy_intensity', energy, output, coalesce(n_firms, 0),
           list_concat(base_flags, list_filter([CASE WHEN coalesce(n_firms, 0) = 0 THEN 'undefined:no_records'
                                                     WHEN coalesce(output, 0) = 0 THEN 'undefined:zero_output'
                                                     WHEN energy IS NULL THEN 'undefined:not_reported'
                                                END], x -> x IS NOT NULL))
    FROM t
    UNION ALL
    SELECT cluster_id, period, 'labour_productivity', output, employees_mean, coalesce(n_firms, 0),
           list_concat(base_flags, list_filter([CASE WHEN coalesce(n_firms, 0) = 0 THEN 'undefined:no_records'
                                                     WHEN coalesce(employees_mean, 0) = 0
                                                     THEN 'undefined:zero_employees' END], x -> x IS NOT NULL))
    FROM t
    UNION ALL
    SELECT cluster_id, period, 'top1_share', max_output, output, coalesce(n_firms, 0),
           list_concat(base_flags, list_filter([CASE WHEN coalesce(n_firms, 0) = 0 THEN 'undefined:no_records'
                                                     WHEN coalesce(output, 0) = 0 THEN 'undefined:zero_output'
                                                END], x -> x IS NOT NULL))
    FROM t
    UNION ALL
    -- hhi = Σ x_i² / (Σ x_i)²: numerator Σ x_i², denominator Σ x_i (squared when dividing).
    SELECT cluster_id, period, 'hhi', sum_sq_output, output, coalesce(n_firms, 0),
           list_concat(base_flags, list_filter([CASE WHEN coalesce(n_firms, 0) = 0 THEN 'undefined:no_records'
                                                     WHEN coalesce(output, 0) = 0 THEN 'undefined:zero_output'
                                                END], x -> x IS NOT NULL))
    FROM t
)
SELECT cluster_id, period, indicator,
       CASE WHEN list_bool_or(list_transform(flags, f -> f LIKE 'undefined:%')) THEN NULL
            WHEN indicator = 'hhi' THEN numerator / (denominator * denominator)
            ELSE numerator / denominator END AS value,
       numerator, denominator, n_firms, flags
FROM rows;
