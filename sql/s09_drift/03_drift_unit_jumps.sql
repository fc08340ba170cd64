-- Firms whose monthly output rate is $low..$high times their own median over the $months preceding months:
-- the signature of 千元 figures reported under a 万元 header (×10). Evidence for the drift alert, only for the
-- (cluster_id, period) rows of the registered frame drift_targets (the months in which the rule holds); per
-- cluster and month: the count and the firms (internal evidence, never in a message). $since..$until: the
-- first target month less $months .. the last target month (NULL: no targets), so the scans skip other months.
-- reads: core.firm_monthly, core.firms, drift_targets
-- writes: (none)
-- registered: drift_targets
WITH cur AS (
    SELECT t.cluster_id, m.uscc, m.period, m.output / m.span_months AS rate
    FROM drift_targets t
    JOIN core.firms f ON f.cluster_id = t.cluster_id
    JOIN core.firm_monthly m ON m.uscc = f.uscc AND m.period = t.period::DATE
    WHERE m.output > 0 AND m.period BETWEEN $since AND $until),
base AS (
    SELECT cur.cluster_id, cur.uscc, cur.period, any_value(cur.rate) AS rate,
           median(h.output / h.span_months) AS base
    FROM cur
    JOIN (SELECT * FROM core.firm_monthly WHERE period BETWEEN $since AND $until) h
      ON h.uscc = cur.uscc AND h.output > 0
     AND h.period BETWEEN cur.period - to_months($months::INTEGER) AND cur.period - INTERVAL 1 MONTH
    GROUP BY cur.cluster_id, cur.uscc, cur.period)
SELECT cluster_id, period, count(*) AS n_firms, list(uscc ORDER BY uscc) AS firms
FROM base
WHERE rate / base BETWEEN $low AND $high
GROUP BY ALL;
