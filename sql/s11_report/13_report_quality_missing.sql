-- report_quality_missing.sql: per cluster, registered firms, those reporting this month, those not, and those
-- that reported last month but not this month.
-- reads: core.firms, core.firm_monthly
-- writes: (none)
WITH f AS (SELECT uscc, cluster_id FROM core.firms WHERE cluster_id IN (SELECT unnest($clusters::VARCHAR[]))),
     now AS (SELECT DISTINCT uscc FROM core.firm_monthly WHERE period = $period),
     prev AS (SELECT DISTINCT uscc FROM core.firm_monthly WHERE period = $previous)
SELECT f.cluster_id, count(*) AS n_firms, count(now.uscc) AS n_reporting,
       count(*) - count(now.uscc) AS n_missing,
       count(*) FILTER (WHERE prev.uscc IS NOT NULL AND now.uscc IS NULL) AS lost
FROM f LEFT JOIN now USING (uscc) LEFT JOIN prev USING (uscc)
GROUP BY f.cluster_id
ORDER BY f.cluster_id;
