-- derive_appended.sql: the append path of derive_flows.sql (read its header): the file's rows of appended
-- firm-years derived into temp table derived_flows(uscc, period, measure, value, span_months), long, for
-- pivot_<kind>.sql (derive_rework.sql adds every month of reworked ones). A 累计 value subtracts what is stored
-- for its year; a 当月 value is itself. file_rows: the file's reported values, long.
-- reads: history.reported_values, touched, {table}
-- writes: derived_flows, file_rows
CREATE OR REPLACE TEMP TABLE file_rows AS
SELECT uscc, period, basis, measure, value
FROM history.reported_values
WHERE kind = $kind AND file_id = $file_id;

CREATE OR REPLACE TEMP TABLE derived_flows AS
WITH ytd_years AS (   -- appended firm-years the file reports 累计: only their values subtract what is stored
    SELECT DISTINCT r.uscc, t.yr
    FROM file_rows r
    JOIN touched t ON t.appended AND r.uscc = t.uscc AND year(r.period) = t.yr
    WHERE r.basis = 'ytd'
), so_far AS (   -- those firm-years: per measure the running YTD and the month of the last record
    SELECT uscc, year(period) AS yr, measure, sum(value) AS ytd, max(month(period)) AS last_mo
    FROM (UNPIVOT (SELECT s.* EXCLUDE (span_months)
                   FROM {table} s
                   JOIN ytd_years y ON s.uscc = y.uscc AND year(s.period) = y.yr)
          ON COLUMNS(* EXCLUDE (uscc, period)) INTO NAME measure VALUE value)
    GROUP BY ALL
), appended AS (
    SELECT r.uscc, r.period, r.measure,
           CASE WHEN list_contains($flows, r.measure) AND r.basis = 'ytd'
                THEN r.value - coalesce(p.ytd, 0) ELSE r.value END AS value,
           CASE WHEN list_contains($flows, r.measure) AND r.basis = 'ytd'
                THEN month(r.period) - coalesce(p.last_mo, 0) ELSE 1 END AS span_months
    FROM file_rows r
    JOIN touched t ON t.appended AND r.uscc = t.uscc AND year(r.period) = t.yr
    LEFT JOIN so_far p ON p.uscc = r.uscc AND p.yr = t.yr AND p.measure = r.measure
)
-- Stored to 6 decimals (万元 to 0.01 元): the two paths subtract in different orders, and without rounding a
-- re-derived month differed from the stored one by float noise (875.3199999999997 vs 875.32), which
-- store_flows.sql would record as a change.
SELECT uscc, period, measure, round(value, 6) AS value, span_months
FROM appended;
