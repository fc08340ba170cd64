-- indicators_lead_amounts_one.sql: lead_cur for a night with one target, the data range's last period
-- (flows/stages/s07_indicators.py runs it instead of indicators_lead_amounts.sql; the same ranking). A supplier's TTM
-- amount there is its sum in the rolled window (work.chain_supplier_window: the exact DECIMAL sum of its stored months
-- in the window, NULL when no month has an amount), so no stored month is read again. Only the suppliers at or above
-- their cluster's max_leads-th rounded amount (or without an amount, or of a cluster with none) can be ranked by
-- indicators_leads.sql, which takes the same cut over these rows: the others are left out here.
-- reads: bounds, cfg_chain, cluster_map, work.chain_supplier_window
-- writes: lead_cur

-- Each amount is rounded once, for the cut and the filter (nation: 6.9 M window rows, 0.87 -> 0.77 CPU-s).
CREATE OR REPLACE TEMP TABLE lead_cur AS
WITH w AS (
    SELECT cidx, sid, amount, round(amount, 6) AS rounded
    FROM (SELECT cidx, sid, (CASE WHEN n_amount > 0 THEN amount END)::DOUBLE AS amount FROM work.chain_supplier_window)
),
cut AS (
    SELECT cidx, list_min(max(rounded, (SELECT max_leads FROM cfg_chain))) AS least_kept FROM w GROUP BY cidx
)
SELECT c.cluster_id, w.cidx, (SELECT last_period FROM bounds) AS period, w.sid, w.amount
FROM w
JOIN cut USING (cidx)
JOIN cluster_map c USING (cidx)
WHERE w.rounded >= cut.least_kept OR w.amount IS NULL OR cut.least_kept IS NULL;
