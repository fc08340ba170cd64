-- report_firm_growth.sql: the firms that moved a cluster's year-to-date output most against the same months a
-- year earlier, on the comparable basis of output_ytd_yoy (firms with a record ending in months 1..m of both
-- years; docs/architecture.md#indicators). For the internal edition's contribution analysis only (firm names never reach the public
-- edition). Parameters: $period (first day of m), $clusters (cluster ids), $top (firms per cluster).
-- Output: cluster_id, uscc, firm_name, ytd_now, ytd_before (万元), change (万元), rank (1 = largest |change|).
-- reads: core.firm_monthly, core.firms
-- writes: (none)
WITH f AS (
    SELECT uscc, firm_name, cluster_id FROM core.firms WHERE list_contains($clusters, cluster_id)
),
ytd AS (
    SELECT m.uscc,
           sum(m.output) FILTER (WHERE year(m.period) = year($period::DATE)) AS ytd_now,
           sum(m.output) FILTER (WHERE year(m.period) = year($period::DATE) - 1) AS ytd_before,
           count(*) FILTER (WHERE year(m.period) = year($period::DATE)) AS n_now,
           count(*) FILTER (WHERE year(m.period) = year($period::DATE) - 1) AS n_before
    FROM core.firm_monthly m SEMI JOIN f USING (uscc)
    WHERE month(m.period) <= month($period::DATE)
      AND year(m.period) IN (year($period::DATE), year($period::DATE) - 1)
    GROUP BY m.uscc
),
ranked AS (
    SELECT f.cluster_id, f.uscc, f.firm_name, y.ytd_now, y.ytd_before, y.ytd_now - y.ytd_before AS change,
           row_number() OVER (PARTITION BY f.cluster_id ORDER BY abs(y.ytd_now - y.ytd_before) DESC, f.uscc) AS rank
    FROM ytd y JOIN f USING (uscc)
    WHERE y.n_now > 0 AND y.n_before > 0
)
SELECT * FROM ranked WHERE rank <= $top ORDER BY cluster_id, rank
