-- report_contributions.sql: firm-level contributions behind the report's additive sums, for the dominance
-- rule of disclosure control (docs/architecture.md#disclosure-control, flows/support/disclosure.py). Expects temp table report_periods(period).
-- Each monthly record is expanded to the 12 target months whose TTM window holds it (an equality join).
-- For every group (a cluster, 'P:<province>', 'ALL'), period and measure: the sum over the group's firms
-- and the sum of its two largest firm contributions. Measures (money 万元, energy tce): output_month,
-- output_ytd, output_ttm, revenue_ttm, energy_ttm, rd_ttm, tax_ttm and output_ttm_land (firms with
-- land_area > 0, the per-mu population), proc_ttm and proc_local_ttm (from work.proc_buyer_month), and
-- employees_ttm (Σ of a firm's monthly headcounts over the window: its share of the mean headcount that
-- labour productivity divides by).
-- reads: core.clusters, core.firm_monthly, core.firms, core.tax, report_periods, work.proc_buyer_month
-- writes: (none)
-- registered: report_periods
WITH fc AS (
    SELECT f.uscc, f.cluster_id, c.province, coalesce(f.land_area, 0) > 0 AS has_land
    FROM core.firms f JOIN core.clusters c USING (cluster_id)
),
monthly AS (
    SELECT fm.uscc, p.period,
           sum(fm.output) FILTER (WHERE fm.period = p.period) AS output_month,
           sum(fm.output) FILTER (WHERE year(fm.period) = year(p.period)) AS output_ytd,
           sum(fm.output) AS output_ttm, sum(fm.revenue) AS revenue_ttm, sum(fm.energy) AS energy_ttm,
           sum(fm.rd_expense) AS rd_ttm, sum(fm.employees) AS employees_ttm
    FROM core.firm_monthly fm, unnest(generate_series(fm.period, fm.period + INTERVAL 11 MONTH, INTERVAL 1 MONTH)) AS w(target)
    JOIN report_periods p ON p.period = w.target::DATE
    GROUP BY ALL
),
tax AS (
    SELECT t.uscc, p.period, sum(t.tax_paid) AS tax_ttm
    FROM core.tax t, unnest(generate_series(t.period, t.period + INTERVAL 11 MONTH, INTERVAL 1 MONTH)) AS w(target)
    JOIN report_periods p ON p.period = w.target::DATE
    GROUP BY ALL
),
proc AS (
    SELECT b.buyer_uscc AS uscc, p.period, sum(b.amount) AS proc_ttm, sum(b.local_amount) AS proc_local_ttm
    FROM work.proc_buyer_month b, unnest(generate_series(b.period, b.period + INTERVAL 11 MONTH, INTERVAL 1 MONTH)) AS w(target)
    JOIN report_periods p ON p.period = w.target::DATE
    GROUP BY ALL
),
long AS (
    SELECT uscc, period, measure, v FROM monthly
    UNPIVOT (v FOR measure IN (output_month, output_ytd, output_ttm, revenue_ttm, energy_ttm, rd_ttm,
                               employees_ttm))
    UNION ALL
    SELECT m.uscc, m.period, 'output_ttm_land', m.output_ttm FROM monthly m JOIN fc USING (uscc) WHERE fc.has_land
    UNION ALL
    SELECT t.uscc, t.period, 'tax_ttm', t.tax_ttm FROM tax t JOIN fc USING (uscc) WHERE fc.has_land
    UNION ALL
    SELECT uscc, period, measure, v FROM proc UNPIVOT (v FOR measure IN (proc_ttm, proc_local_ttm))
),
grouped AS (
    SELECT unnest([fc.cluster_id, 'P:' || fc.province, 'ALL']) AS grp, l.period, l.measure, abs(l.v) AS v
    FROM long l JOIN fc USING (uscc)
    WHERE l.v IS NOT NULL AND l.v <> 0
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY grp, period, measure ORDER BY v DESC) AS rn FROM grouped
)
SELECT grp, period, measure, sum(v) AS total, sum(v) FILTER (WHERE rn <= 2) AS top2, count(*) AS n_contributors
FROM ranked
GROUP BY ALL
