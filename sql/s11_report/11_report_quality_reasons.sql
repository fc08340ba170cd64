-- report_quality_reasons.sql: quarantined rows by rule and kind, most frequent first.
-- reads: quarantine.rows
-- writes: (none)
SELECT rule, coalesce(kind, '?') AS kind, count(*) AS n
FROM quarantine.rows
GROUP BY ALL
ORDER BY n DESC, rule;
