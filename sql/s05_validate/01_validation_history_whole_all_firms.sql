-- validation_history_whole_all_firms.sql: validation_history_whole.sql's answer for a file that names nearly every
-- firm of {table} (a nation-wide monthly or tax file): every firm's months are gathered first and the file's firms
-- picked from the 0.5 M groups after, instead of probing each of the table's 5.8 M rows against them before. A
-- nation 2025-12 file against 12 stored months, CPU-s (3 runs each, load 14-18): firm_monthly's two measures
-- 1.32-1.48 -> 1.07-1.17, tax 1.01-1.17 -> 0.78-0.80; on a file of fewer firms it loses (57 % of a period's
-- firms: 0.84-0.93 against 0.96-0.99; 28 %: 0.47-0.52 against 0.72-0.79), hence HISTORY_ALL_FIRMS_SHARE
-- (flows/support/settings.py). Same columns and the same lists: per measure a struct {recent_median, months}.
-- reads: _validate_firms, {table}
-- writes: (none)
-- registered: _validate_firms
WITH h AS (
    SELECT uscc,
           list(COLUMNS(* EXCLUDE (uscc, _span)) / _span) FILTER (WHERE COLUMNS(* EXCLUDE (uscc, _span)) IS NOT NULL)
    FROM (SELECT uscc, greatest(coalesce(span_months, 1), 1) AS _span, {columns} FROM {table})
    GROUP BY uscc
)
SELECT uscc,
       {'recent_median': list_median(COLUMNS(* EXCLUDE (uscc))), 'months': len(COLUMNS(* EXCLUDE (uscc)))}
FROM h
SEMI JOIN _validate_firms f USING (uscc);
