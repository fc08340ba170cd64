-- report_ratings.sql: per cluster, firms in each per-mu efficiency class (A/B/C/D) and firms rated, in a month.
-- reads: mart.firm_ratings
-- writes: (none)
SELECT cluster_id, count(*) FILTER (WHERE class = 'A') AS a, count(*) FILTER (WHERE class = 'B') AS b,
       count(*) FILTER (WHERE class = 'C') AS c, count(*) FILTER (WHERE class = 'D') AS d,
       count(*) FILTER (WHERE rated) AS rated
FROM mart.firm_ratings
WHERE period = $period AND cluster_id IN (SELECT unnest($clusters::VARCHAR[]))
GROUP BY cluster_id
ORDER BY cluster_id;
