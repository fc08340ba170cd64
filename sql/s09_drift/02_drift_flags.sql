-- The data-drift rule per cluster and month (flows/stages/s09_drift.py cluster_flags), over every row of
-- mart.drift_results; parameters from flows/registry/alerts.toml [rules.data_drift].
-- Column: its score s is the smaller of the two references' (only trailing_6m: that one). It raises when s ≥
-- $raise_score (no year-earlier month: ≥ $raise_score_no_seasonal) unless the same column a year earlier
-- already scored ≥ $keep_score against its own trailing months (the season, not news); it keeps when s ≥
-- $keep_score. Kind: raises/keeps when ≥ $drift_share of its columns do; score = median s of its columns.
-- Cluster: raises/keeps when any kind does; score = the largest raising kind's score (else the largest).
-- reads: mart.drift_results
-- writes: (none)
WITH col AS (
    SELECT period, cluster_id, kind, column_name,
           max(score) FILTER (WHERE reference = 'trailing_6m') AS t6,
           max(score) FILTER (WHERE reference = 'same_month_last_year') AS ly
    FROM mart.drift_results
    GROUP BY ALL),
judged AS (
    SELECT c.period, c.cluster_id, c.kind, c.column_name, c.ly IS NOT NULL AS has_ly,
           least(c.t6, c.ly) AS s,                                   -- least() skips a missing reference
           coalesce(last_year.t6, 0) >= $keep_score AS seasonal
    FROM col c
    LEFT JOIN col last_year
           ON last_year.cluster_id = c.cluster_id AND last_year.kind = c.kind
          AND last_year.column_name = c.column_name
          AND last_year.period = (c.period - INTERVAL 12 MONTH)::DATE),
columns AS (
    SELECT period, cluster_id, kind, column_name, s,
           NOT seasonal AND coalesce(s >= CASE WHEN has_ly THEN $raise_score ELSE $raise_score_no_seasonal END,
                                     false) AS col_raise,
           coalesce(s >= $keep_score, false) AS col_keep
    FROM judged),
kinds AS (
    SELECT period, cluster_id, kind,
           avg(col_raise::INTEGER) >= $drift_share AS kind_raise,
           avg(col_keep::INTEGER) >= $drift_share AS kind_keep,
           median(s) AS kind_score,
           coalesce(string_agg(column_name, ',' ORDER BY column_name) FILTER (WHERE col_raise), '') AS kind_columns
    FROM columns
    GROUP BY ALL)
SELECT cluster_id, period, bool_or(kind_raise) AS "raise", bool_or(kind_keep) AS "keep",
       coalesce(max(kind_score) FILTER (WHERE kind_raise), max(kind_score)) AS score,
       coalesce(string_agg(kind, ',' ORDER BY kind) FILTER (WHERE kind_raise), '') AS kinds,
       coalesce(string_agg(kind_columns, ',' ORDER BY kind) FILTER (WHERE kind_raise AND kind_columns <> ''),
                '') AS "columns"
FROM kinds
GROUP BY ALL
ORDER BY cluster_id, period;
