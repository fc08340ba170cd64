-- derive_flows.sql: monthly values from the latest reported values (DESIGN §3), for the firm-years that
-- file $file_id reported (kind = $kind: monthly or tax). Run after each file, so the next file of the
-- night is validated against a history that already includes this one.
--   * latest: per (firm, month, measure) the value of the latest file wins (a revision replaces).
--   * 累计 (ytd) reports are differenced within a year: value(m) = YTD(m) − YTD(previous record of that
--     year), where YTD of a 当月 record is the previous YTD plus its own value. span_months = months since
--     the previous record (a 1–2月 report gives one record on February with span 2). Nothing is invented
--     for the months inside a span.
--   * stocks (measures not in $flows, e.g. employees) are never differenced.
-- Output: temp table derived_flows(uscc, period, measure, value, span_months) and touched(uscc, yr).
CREATE OR REPLACE TEMP TABLE touched AS
SELECT DISTINCT uscc, year(period) AS yr
FROM history.reported_values
WHERE kind = $kind AND file_id = $file_id;

CREATE OR REPLACE TEMP TABLE derived_flows AS
WITH latest AS (
    SELECT r.uscc, r.period, r.measure,
           arg_max(r.value, r.file_id) AS value,
           arg_max(r.basis, r.file_id) AS basis
    FROM history.reported_values r
    JOIN touched t ON r.uscc = t.uscc AND year(r.period) = t.yr
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
)
SELECT uscc, period, measure,
       CASE WHEN list_contains($flows, measure)
            THEN ytd - coalesce(lag(ytd) OVER w, 0) ELSE value END AS value,
       CASE WHEN list_contains($flows, measure) AND basis = 'ytd'
            THEN mo - coalesce(prev_mo, 0) ELSE 1 END AS span_months
FROM running
WINDOW w AS (PARTITION BY uscc, measure, yr ORDER BY period);

INSERT INTO meta.changes
SELECT DISTINCT $run_id, $kind, period FROM derived_flows;
