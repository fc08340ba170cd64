-- validation_history_whole.sql: validation_history.sql's answer when {table} holds no more distinct periods than
-- the window ($months is not needed): then every firm's reported months are all within its last $months, so each
-- measure's values are gathered with list() instead of the top-$months max_by … n, whose per-firm heap cost ≈ 25 %
-- more CPU for the same lists (a nation monthly file's two measures over 12 stored months: 1.74–1.78 CPU-s →
-- 1.38–1.42). Same columns: per measure a struct {recent_median, months}; NULL values are left out of the list as
-- max_by leaves out a month whose measure is NULL. flows.stages.s05_validate._history_medians picks the file.
-- reads: _validate_firms, {table}
-- writes: (none)
-- registered: _validate_firms
WITH r AS (
    SELECT t.uscc, greatest(coalesce(t.span_months, 1), 1) AS _span, {columns}
    FROM {table} t
    SEMI JOIN _validate_firms f ON f.uscc = t.uscc
), h AS (
    SELECT uscc,
           list(COLUMNS(* EXCLUDE (uscc, _span)) / _span) FILTER (WHERE COLUMNS(* EXCLUDE (uscc, _span)) IS NOT NULL)
    FROM r
    GROUP BY uscc
)
SELECT uscc,
       {'recent_median': list_median(COLUMNS(* EXCLUDE (uscc))), 'months': len(COLUMNS(* EXCLUDE (uscc)))}
FROM h;
