-- Firms whose monthly output rate is $low..$high times their own median over the $months preceding months:
-- the signature of 千元 figures reported under a 万元 header (×10). Evidence for the drift alert, months
-- $from..$to; per cluster and month: the count and the firms (internal evidence, never in a message).
WITH r AS (
    SELECT f.cluster_id, m.uscc, m.period, m.output / m.span_months AS rate
    FROM core.firm_monthly m JOIN core.firms f USING (uscc)
    WHERE m.period BETWEEN $from - to_months($months::INTEGER) AND $to AND m.output > 0),
w AS (
    SELECT *, median(rate) OVER (PARTITION BY uscc ORDER BY period
              RANGE BETWEEN to_months($months::INTEGER) PRECEDING AND INTERVAL 1 MONTH PRECEDING) AS base
    FROM r)
SELECT cluster_id, period, count(*) AS n_firms, list(uscc ORDER BY uscc) AS firms
FROM w
WHERE period BETWEEN $from AND $to AND rate / base BETWEEN $low AND $high
GROUP BY ALL;
