-- indicators_rollup.sql: the one roll-up formula of an indicator over a group of clusters (a province, all
-- clusters), by its registry roll-up type (flows/registry/indicators.toml `rollup`). Read by indicators_publish.sql
-- (mart.province_indicators) and sql/s11_report/03_report_panel.sql (the all-cluster row). The arguments are the
-- group's aggregates: sum of values, Σ numerators, Σ denominators, the largest numerator. Ratios are never
-- averaged; a sum over no value is NULL.
-- reads: (none)
-- writes: rollup_value

CREATE OR REPLACE TEMP MACRO rollup_value(rollup, sum_value, numerator, denominator, max_numerator) AS
    CASE rollup
        WHEN 'sum' THEN sum_value
        WHEN 'ratio' THEN numerator / nullif(denominator, 0)
        WHEN 'growth' THEN numerator / nullif(denominator, 0) - 1
        WHEN 'max_share' THEN max_numerator / nullif(denominator, 0)
        WHEN 'hhi' THEN numerator / nullif(denominator * denominator, 0)
    END;
