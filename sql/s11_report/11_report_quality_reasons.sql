-- report_quality_reasons.sql: quarantined rows by rule and kind, most frequent first (then by rule and kind: the
-- same order every run).
-- reads: quarantine.rows
-- writes: (none)
SELECT rule, coalesce(kind, '?') AS kind, count(*) AS n
FROM quarantine.rows
GROUP BY ALL
ORDER BY n DESC, rule, kind;
