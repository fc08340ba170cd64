-- derive_rework.sql: the rework path of derive_flows.sql (read its header): every month of the firm-years the
-- file reworks (touched, not appended) derived again from all their latest reported values, added to
-- derived_flows. Run only when touched holds such a firm-year.
--   * the latest file wins per (firm, month, measure): a revision replaces.
--   * 累计 (ytd) values are differenced within a year through the running YTD (a 当月 record adds its value).
-- Stored to 6 decimals like the append path (see derive_flows.sql).
-- reads: history.reported_values, touched
-- writes: derived_flows
INSERT INTO derived_flows
WITH latest AS (
    SELECT r.uscc, r.period, r.measure,
           arg_max(r.value, r.file_id) AS value,
           arg_max(r.basis, r.file_id) AS basis
    FROM history.reported_values r
    JOIN touched t ON NOT t.appended AND r.uscc = t.uscc AND year(r.period) = t.yr
    WHERE r.kind = $kind
    GROUP BY ALL
), ordered AS (
    SELECT *,
           year(period) AS yr,
           month(period) AS mo,
           lag(month(period)) OVER w AS prev_mo,
           count(*) FILTER (WHERE basis = 'ytd') OVER w AS grp
    FROM latest
    WINDOW w AS (PARTITION BY uscc, measure, year(period) ORDER BY period)
), running AS (
    SELECT *,
           coalesce(max(value) FILTER (WHERE basis = 'ytd') OVER g, 0)
             + coalesce(sum(value) FILTER (WHERE basis = 'month') OVER g, 0) AS ytd
    FROM ordered
    WINDOW g AS (PARTITION BY uscc, measure, yr, grp ORDER BY period
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), reworked AS (
    SELECT uscc, period, measure,
           CASE WHEN list_contains($flows, measure)
                THEN ytd - coalesce(lag(ytd) OVER w, 0) ELSE value END AS value,
           CASE WHEN list_contains($flows, measure) AND basis = 'ytd'
                THEN mo - coalesce(prev_mo, 0) ELSE 1 END AS span_months
    FROM running
    WINDOW w AS (PARTITION BY uscc, measure, yr ORDER BY period)
)
SELECT uscc, period, measure, round(value, 6) AS value, span_months
FROM reworked;
