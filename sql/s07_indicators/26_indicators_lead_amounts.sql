-- indicators_lead_amounts.sql: the TTM amount of every kept lead candidate (lead_kept, indicators_chain.sql) at every
-- target of its cluster, the sum of its stored monthly amounts in the window. With one target
-- flows/stages/s07_indicators.py runs indicators_lead_amounts_one.sql instead (the same rows).
-- reads: cluster_map, grid, lead_kept, lead_per_key
-- writes: lead_cur

CREATE OR REPLACE TEMP TABLE lead_cur AS
SELECT g.cluster_id, c.cidx, g.period, k.sid, sum(k.amount)::DOUBLE AS amount
FROM grid g
JOIN cluster_map c USING (cluster_id)
JOIN (SELECT * FROM lead_per_key SEMI JOIN lead_kept USING (cidx, sid)) k
  ON k.cidx = c.cidx AND k.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
GROUP BY ALL;
