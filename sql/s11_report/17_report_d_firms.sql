-- report_d_firms.sql: class D firms by name and score (internal edition only: firm names never reach the public).
-- reads: mart.firm_ratings, core.firms
-- writes: (none)
SELECT r.cluster_id, f.firm_name, r.score
FROM mart.firm_ratings r
JOIN core.firms f USING (uscc)
WHERE r.period = $period AND r.class = 'D' AND r.cluster_id IN (SELECT unnest($clusters::VARCHAR[]))
ORDER BY r.cluster_id, r.score, r.uscc
LIMIT 60;
