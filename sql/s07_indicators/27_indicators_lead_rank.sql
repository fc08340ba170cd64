-- indicators_lead_rank.sql: the supply leads of the target periods tp(period): the kept candidates' TTM amounts
-- (lead_cur, indicators_lead_amounts.sql or indicators_lead_amounts_one.sql) ranked per cluster and target, at most
-- cfg_chain(max_leads) each (ties on the amount rounded to 6 decimals broken by the supplier key). Read by
-- indicators_lead_buyers.sql (or indicators_lead_buyers_one.sql) and indicators_leads.sql.
-- reads: cfg_chain, lead_cur, work.supplier_ids
-- writes: lead_rank

CREATE OR REPLACE TEMP TABLE lead_rank AS
WITH cur AS (SELECT * FROM lead_cur),
cut AS (
    SELECT cluster_id, period, list_min(max(round(amount, 6), (SELECT max_leads FROM cfg_chain))) AS least_kept
    FROM cur GROUP BY ALL
)
SELECT * FROM (
    SELECT c.*, i.supplier_key,
           row_number() OVER (PARTITION BY c.cluster_id, c.period ORDER BY round(c.amount, 6) DESC, i.supplier_key)
               AS rank
    FROM cur c JOIN cut USING (cluster_id, period) JOIN work.supplier_ids i USING (sid)
    WHERE round(c.amount, 6) >= cut.least_kept OR c.amount IS NULL
)
WHERE rank <= (SELECT max_leads FROM cfg_chain);
