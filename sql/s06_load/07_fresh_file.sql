-- fresh_file.sql: whether file $file_id (kind $kind: monthly or tax) goes to core as reported (fresh_reported.sql)
-- before its firm-years are worked out (derive_flows.sql, touched_reworked.sql): none of its reported rows with a
-- value is 累计, and {table} holds no row from the earliest month of those rows on. Then no stored month of any
-- firm-year is at or after the file's months for it, which is what touched_reworked.sql finds firm-year by
-- firm-year (`after` everywhere), in one look at the rows from that month on (on the usual night none: their row
-- groups are skipped by the period's zone maps). The usual night's new month and a first night's months in order:
-- derive_flows.sql grouped a nation file's 485 k rows by firm and year to find no firm-year reaching back (≈ 0.2
-- CPU-s a file). False when {table} holds a row of the file's months or later (another file of the month, a
-- revision, a late month) or the file reports 累计: the firm-years decide, as before. A file with no value is
-- fresh (nothing to store), as touched_reworked.sql finds it. {measures} are the kind's measure columns.
-- reads: history.reported_rows, {table}
-- writes: (none)
WITH f AS (
    SELECT basis, period
    FROM history.reported_rows
    WHERE kind = $kind AND file_id = $file_id AND coalesce({measures}) IS NOT NULL
)
SELECT NOT EXISTS (SELECT 1 FROM f WHERE basis = 'ytd')
       AND NOT EXISTS (SELECT 1 FROM {table} WHERE period >= (SELECT min(period) FROM f)) AS fresh;
