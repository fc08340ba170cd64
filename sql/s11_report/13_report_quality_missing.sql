-- report_quality_missing.sql: per cluster, registered firms, those reporting this month, those not, and those
-- that reported last month but not this month.
-- Each firm is looked up in the two months' firms (IN: a mark join, as many rows out as firms in), not joined to
-- them made distinct first: the nation's 485 k firms a month made distinct and joined twice cost 0.24 CPU-s warm,
-- the lookups 0.13 (the same counts whether or not a firm repeats in a month). uscc IS NOT NULL keeps the lookup
-- true or false, never unknown.
-- reads: core.firms, core.firm_monthly
-- writes: (none)
WITH f AS (SELECT uscc, cluster_id FROM core.firms WHERE cluster_id IN (SELECT unnest($clusters::VARCHAR[]))),
     flags AS (
         SELECT cluster_id,
                uscc IN (SELECT uscc FROM core.firm_monthly WHERE period = $period AND uscc IS NOT NULL) AS now,
                uscc IN (SELECT uscc FROM core.firm_monthly WHERE period = $previous AND uscc IS NOT NULL) AS prev
         FROM f)
SELECT cluster_id, count(*) AS n_firms, count(*) FILTER (WHERE now) AS n_reporting,
       count(*) FILTER (WHERE NOT now) AS n_missing,
       count(*) FILTER (WHERE prev AND NOT now) AS lost
FROM flags
GROUP BY cluster_id
ORDER BY cluster_id;
