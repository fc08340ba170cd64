-- validation_history.sql: each firm's recent level of the measures {columns}, for the unit_suspect rule, when
-- {table} holds more distinct periods than the window (else validation_history_whole.sql, the same answer).
-- Per measure, the median of the firm's last up-to-$months (12) reported months (per month of span) and how many
-- months it is over: one struct column per measure, {recent_median, months} (the rule needs $min_months, 6,
-- which the caller applies per measure). {table} and {columns} come from the suite's derived_columns (checked
-- identifiers); the firms to look at are in the registered relation _validate_firms(uscc).
-- $window_start is the earliest of the table's latest $months periods (validation_history_periods.sql). A firm
-- with $months values of every measure from it on has its latest $months there (every older row is older than
-- all of them), so only the other firms (new, gaps, empty cells) are read before it: the table is
-- stored in period order, so the recent read skips the older row groups by their zone maps, and a table of N
-- years is not read N times over for each file.
-- The latest months are a top-$months aggregate per firm (max_by … n): a window numbering every month of every
-- firm sorted the whole history for each file, 2.2× the CPU at nation scale for the same medians. The measures
-- of a table are read in one pass (COLUMNS expands per measure; a row whose measure is NULL has no period to
-- rank, so max_by skips it): one query per measure read the table and joined the firms once each, 2.5–2.7
-- CPU-s for a nation monthly file's two measures against 1.8.
-- reads: _validate_firms, {table}
-- writes: (none)
-- registered: _validate_firms
WITH recent AS (
    SELECT t.uscc, t.period, greatest(coalesce(t.span_months, 1), 1) AS _span, {columns}
    FROM {table} t
    SEMI JOIN _validate_firms f ON f.uscc = t.uscc
    WHERE t.period >= $window_start
), complete AS (
    -- firms with $months months of every measure here (COLUMNS in WHERE: the conditions joined by AND)
    SELECT uscc
    FROM recent
    WHERE COLUMNS(* EXCLUDE (uscc, period, _span)) IS NOT NULL
    GROUP BY uscc
    HAVING count(*) >= $months
), short AS (
    SELECT uscc FROM _validate_firms ANTI JOIN complete USING (uscc)
), r AS (
    SELECT * FROM recent
    UNION ALL
    SELECT t.uscc, t.period, greatest(coalesce(t.span_months, 1), 1) AS _span, {columns}
    FROM {table} t
    SEMI JOIN short s ON s.uscc = t.uscc
    WHERE t.period < $window_start
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
