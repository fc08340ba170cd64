-- indicators_lead_amounts_one.sql: lead_cur for a night with one target (flows/stages/s07_indicators.py runs it instead
-- of indicators_lead_amounts.sql; the same rows). Its window is then the whole range lo_ttm..hi of lead_per_key, so a
-- kept candidate's TTM amount is its total (lead_kept.total, the same exact DECIMAL sum over the same rows) and no
-- stored month is read again.
-- reads: bounds, cluster_map, lead_kept
-- writes: lead_cur

CREATE OR REPLACE TEMP TABLE lead_cur AS
SELECT c.cluster_id, k.cidx, (SELECT hi FROM bounds) AS period, k.sid, k.total::DOUBLE AS amount
FROM lead_kept k
JOIN cluster_map c USING (cidx);
