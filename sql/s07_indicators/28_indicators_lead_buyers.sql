-- indicators_lead_buyers.sql: per lead (lead_rank, indicators_lead_rank.sql) the number of distinct firms of its
-- cluster that bought from it in the TTM window ending at its target period (a firm buying in several months counts
-- once), from the stored monthly buyers (work.chain_supplier_buyer). A night with one target, the data range's last
-- period, runs indicators_lead_buyers_one.sql instead (flows/stages/s07_indicators.py): the same counts.
-- The window's rows are first cut to the leads' keys by a semi join, then joined to the leads with the targets' months
-- as the join's range condition: joined directly, night 1's twelve targets cost 6.2 -> 10.2 CPU-s (each row meets
-- every target of its key before the range condition).
-- reads: bounds, lead_rank, work.chain_supplier_buyer
-- writes: lead_buyers

CREATE OR REPLACE TEMP TABLE lead_buyers AS
SELECT l.cidx, l.sid, l.period, count(DISTINCT b.fid) AS n_buying_firms
FROM lead_rank l
JOIN (SELECT * FROM work.chain_supplier_buyer
      SEMI JOIN (SELECT DISTINCT cidx, sid FROM lead_rank) k USING (cidx, sid)
      WHERE period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)) b
  ON b.cidx = l.cidx AND b.sid = l.sid AND b.period BETWEEN (l.period - INTERVAL 11 MONTH)::DATE AND l.period
GROUP BY l.cidx, l.sid, l.period;
