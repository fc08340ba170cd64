-- indicators_lead_amounts.sql: the supply leads' candidates and their TTM amounts at every target (lead_cur), when
-- the night has more than one target (a full recompute, a revised old month); with one target
-- flows/stages/s07_indicators.py runs indicators_lead_amounts_one.sql instead, which reads the rolled window.
-- reads: bounds, cfg_chain, cluster_map, grid, tp, work.chain_supplier_month
-- writes: lead_bounds, lead_cur, lead_kept, lead_per_key

-- Leads: non-local outside suppliers ranked by their TTM amount (stored per supplier and month), ranked on
-- the amount rounded to 0.01 元 (6 decimals of 万元), so suppliers with the same amount tie whatever the order of
-- the floating-point sum, and ties go by supplier_key. Names, location and the segments supplied are then read
-- for the kept leads only; the window a year earlier likewise (lead_prev). Only the suppliers at or above the
-- max_leads-th rounded amount of their cluster and target (cut: a top-N per group, max(x, n)) are sorted to rank.
-- Most suppliers sell to a cluster in one month only, far below its leads, so before the window sums a supplier is
-- dropped when no window can lift it to the cut (exactly: both bounds are exact DECIMAL sums, and round(x, 6) of a
-- DOUBLE never decreases as x grows). Its TTM amount at any target is at most pos, the sum of its positive
-- months in lo_ttm..hi; the max_leads-th amount at target m is at least floor_m, the max_leads-th of the lower
-- bounds lb = amount in m + the supplier's negative months other than m (max_leads distinct suppliers reach
-- theirs). A supplier with round(pos, 6) below every target's floor_m of its cluster is never kept; a cluster
-- with a target of fewer than max_leads suppliers in its month (floor NULL) and a supplier with a NULL month are
-- kept whole.
-- Suppliers are their integer ids (sid) until the ranking needs the keys of the candidates; the bounds lb are
-- needed in the target months only. The candidates (lead_kept) get their TTM amounts below; indicators_leads.sql
-- ranks them and writes mart.supply_leads.
CREATE OR REPLACE TEMP TABLE lead_per_key AS
SELECT cidx, period, sid, amount
FROM work.chain_supplier_month
WHERE period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds);

CREATE OR REPLACE TEMP TABLE lead_bounds AS
SELECT cidx, sid, sum(greatest(amount, 0)) AS pos, coalesce(sum(least(amount, 0)), 0) AS neg,
       count(*) > count(amount) AS has_null, sum(amount) AS total
FROM lead_per_key GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE lead_kept AS
WITH floors AS (
    SELECT g.period, c.cidx,
           CASE WHEN count(k.lb) >= (SELECT max_leads FROM cfg_chain)
                THEN list_min(max(round(k.lb::DOUBLE, 6), (SELECT max_leads FROM cfg_chain))) END AS floor_m
    FROM grid g
    JOIN cluster_map c USING (cluster_id)
    LEFT JOIN (SELECT k.cidx, k.period, k.amount + b.neg - least(k.amount, 0) AS lb
               FROM (SELECT * FROM lead_per_key WHERE period IN (SELECT period FROM tp)) k
               JOIN lead_bounds b USING (cidx, sid)) k
           ON k.cidx = c.cidx AND k.period = g.period
    GROUP BY ALL
),
cluster_floor AS (
    SELECT cidx, CASE WHEN bool_and(floor_m IS NOT NULL) THEN min(floor_m) END AS floor_all
    FROM floors GROUP BY ALL
)
SELECT b.cidx, b.sid, b.total
FROM lead_bounds b LEFT JOIN cluster_floor f USING (cidx)
WHERE b.has_null OR f.floor_all IS NULL OR round(b.pos::DOUBLE, 6) >= f.floor_all;

DROP TABLE lead_bounds;

-- The TTM amount of every kept candidate at every target of its cluster, the sum of its stored monthly amounts in
-- the window.
CREATE OR REPLACE TEMP TABLE lead_cur AS
SELECT g.cluster_id, c.cidx, g.period, k.sid, sum(k.amount)::DOUBLE AS amount
FROM grid g
JOIN cluster_map c USING (cluster_id)
JOIN (SELECT * FROM lead_per_key SEMI JOIN lead_kept USING (cidx, sid)) k
  ON k.cidx = c.cidx AND k.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
GROUP BY ALL;

DROP TABLE lead_per_key; DROP TABLE lead_kept;
