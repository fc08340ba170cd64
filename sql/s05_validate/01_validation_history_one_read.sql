-- validation_history_one_read.sql: validation_history.sql's answer read in one pass over {table}, for a table of
-- at most HISTORY_ONE_READ_ROWS rows (flows/support/settings.py): every row of the file's firms, each firm's
-- latest up-to-$months reported months of each measure by a top-$months aggregate (max_by … n; a row whose
-- measure is NULL has no period to rank, so max_by skips it), whatever the number of stored periods. Same
-- columns: per measure a struct {recent_median, months}; the caller applies min_months. On a small table this
-- one query costs less than the periods count and the window read it replaces (the sample's 36-month
-- firm_monthly, a province file's 850 firms: 8.5 ms CPU against 12.0); on a large one the window read skips
-- the older row groups and wins (docs: the settings' comment).
-- reads: _validate_firms, {table}
-- writes: (none)
-- registered: _validate_firms
WITH r AS (
    SELECT t.uscc, t.period, greatest(coalesce(t.span_months, 1), 1) AS _span, {columns}
    FROM {table} t
    JOIN _validate_firms f ON f.uscc = t.uscc
), h AS (
    SELECT uscc,
           max_by(COLUMNS(* EXCLUDE (uscc, period, _span)) / _span,
                  CASE WHEN COLUMNS(* EXCLUDE (uscc, period, _span)) IS NOT NULL THEN period END, $months)
    FROM r
    GROUP BY uscc
)
SELECT uscc,
       {'recent_median': list_median(COLUMNS(* EXCLUDE (uscc))), 'months': len(COLUMNS(* EXCLUDE (uscc)))}
FROM h;
