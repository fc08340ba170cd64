-- indicators_leads.sql: mart.supply_leads for the target periods tp(period): per lead (lead_rank,
-- indicators_lead_rank.sql) the segments supplied, names, location, buying firms (lead_buyers,
-- indicators_lead_buyers.sql) and the TTM a year earlier, from the stored monthly aggregates (see indicators_chain.sql,
-- which deletes the target periods of mart.supply_leads first). Expects adcode_names(prefix, name) from
-- indicators_config.sql.
-- reads: adcode_names, bounds, chain_flow_ttm, cluster_map, lead_buyers, lead_rank, work.chain_supplier_month,
--        work.chain_supplier_segment, work.chain_supplier_text, work.supplier_text
-- writes: lead_buyers, lead_cur, lead_prev, lead_rank, lead_ttm, mart.supply_leads

-- Per lead: the segments supplied, by their TTM amounts, the name, registered uscc and location (the least of each
-- over the window's rows, as the rows may differ: the least of the months' least values), from the stored
-- per-segment rows of the leads' suppliers (read in the query that groups them: a temp table of their text columns
-- cost three times the query) and, for the name, uscc and location, their months (work.chain_supplier_month) with
-- each month's text (the supplier's, or the cluster's own where its rows differ); the number of distinct buying
-- firms (lead_buyers); the TTM a year earlier from the monthly amounts (lead_prev). Grouped on
-- the integer keys (cluster id, supplier id, period). The per-segment rows are joined to lead_rank directly (one
-- hash probe per row, the targets' months as the join's range condition) instead of a semi join on the leads'
-- distinct keys first: nation leads' segments 2.41 -> 2.18 CPU-s (night 2), 15.9 -> 9.8 (night 1).
CREATE OR REPLACE TEMP TABLE lead_ttm AS
WITH per_segment AS (
    SELECT l.cidx, l.sid, l.period, s.buyer_segment, sum(s.amount::DECIMAL(38,12))::DOUBLE AS amount
    FROM work.chain_supplier_segment s
    JOIN lead_rank l
      ON s.cidx = l.cidx AND s.sid = l.sid AND s.period BETWEEN (l.period - INTERVAL 11 MONTH)::DATE AND l.period
    WHERE s.period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
    GROUP BY l.cidx, l.sid, l.period, s.buyer_segment
),
segments AS (
    -- by amount, largest first (a NULL amount last), then name: the list of (amount is NULL, −amount, segment)
    -- sorted ascending, as an ordered aggregate would give it (nation night 2: 1.15-1.23 -> 0.95-1.03 CPU-s for
    -- per_segment and segments, which DuckDB's ordered list aggregate sorted group by group)
    SELECT cidx, sid, period,
           list_transform(list_sort(list({'no_amount': amount IS NULL, 'neg_amount': -amount,
                                          'segment': buyer_segment}), 'ASC'), x -> x.segment) AS segments
    FROM per_segment GROUP BY cidx, sid, period
),
names AS (  -- per month of its stored rows (work.chain_supplier_month) the cluster's own text where it has one
    -- (work.chain_supplier_text), else its supplier's (work.supplier_text, indicators_chain_work.sql)
    SELECT l.cidx, l.sid, l.period,
           min(CASE WHEN d.sid IS NULL THEN t.supplier_name ELSE d.supplier_name END) AS supplier_name,
           min(CASE WHEN d.sid IS NULL THEN t.supplier_uscc ELSE d.supplier_uscc END) AS supplier_uscc,
           min(CASE WHEN d.sid IS NULL THEN t.supplier_adcode ELSE d.supplier_adcode END) AS supplier_adcode
    FROM lead_rank l
    JOIN (SELECT cidx, sid, period FROM work.chain_supplier_month
          SEMI JOIN (SELECT DISTINCT cidx, sid FROM lead_rank) k USING (cidx, sid)
          WHERE period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)) m
      ON m.cidx = l.cidx AND m.sid = l.sid AND m.period BETWEEN (l.period - INTERVAL 11 MONTH)::DATE AND l.period
    JOIN work.supplier_text t ON t.sid = m.sid
    LEFT JOIN work.chain_supplier_text d ON d.cidx = m.cidx AND d.sid = m.sid AND d.period = m.period
    GROUP BY l.cidx, l.sid, l.period
)
SELECT l.*, n.supplier_name, n.supplier_uscc, n.supplier_adcode, s.segments,
       coalesce(b.n_buying_firms, 0) AS n_buying_firms
FROM lead_rank l
JOIN segments s USING (cidx, sid, period)
JOIN names n USING (cidx, sid, period)
LEFT JOIN lead_buyers b USING (cidx, sid, period);

CREATE OR REPLACE TEMP TABLE lead_prev AS
SELECT l.cluster_id, l.period, l.supplier_key, sum(s.amount)::DOUBLE AS amount
FROM lead_ttm l
JOIN (SELECT * FROM work.chain_supplier_month
      SEMI JOIN (SELECT DISTINCT cidx, sid FROM lead_rank) k USING (cidx, sid)
      WHERE period BETWEEN ((SELECT lo_ttm FROM bounds) - INTERVAL 12 MONTH)::DATE
                       AND ((SELECT hi FROM bounds) - INTERVAL 12 MONTH)::DATE) s
  ON s.cidx = l.cidx AND s.sid = l.sid
 AND s.period BETWEEN (l.period - INTERVAL 23 MONTH)::DATE AND (l.period - INTERVAL 12 MONTH)::DATE
GROUP BY ALL;

INSERT INTO mart.supply_leads (cluster_id, period, rank, supplier_key, supplier_name, supplier_uscc,
                               supplier_adcode, province, city, location_class, amount_ttm, share_of_purchases,
                               n_buying_firms, segments, main_segment, amount_prev_ttm, change_amount, change_rate)
WITH totals AS (
    SELECT cluster_id, period, sum(amount::DECIMAL(38,12))::DOUBLE AS purchases FROM chain_flow_ttm GROUP BY ALL
),
with_prev AS (
    SELECT l.*, CASE WHEN (l.period - INTERVAL 23 MONTH)::DATE >= (SELECT first_period FROM bounds)
                     THEN coalesce(p.amount, 0) END AS amount_prev
    FROM lead_ttm l LEFT JOIN lead_prev p USING (cluster_id, period, supplier_key)
)
SELECT l.cluster_id, l.period, l.rank, l.supplier_key, l.supplier_name, l.supplier_uscc, l.supplier_adcode,
       pv.name, ci.name,
       CASE WHEN l.supplier_adcode IS NULL THEN 'unknown'
            WHEN starts_with(l.supplier_adcode, left(c.adcode, 2)) THEN 'province' ELSE 'other_province' END,
       l.amount, l.amount / nullif(t.purchases, 0), l.n_buying_firms, l.segments, l.segments[1],
       l.amount_prev, l.amount - l.amount_prev, (l.amount - l.amount_prev) / nullif(l.amount_prev, 0)
FROM with_prev l
JOIN cluster_map c USING (cluster_id)
JOIN totals t USING (cluster_id, period)
LEFT JOIN adcode_names pv ON pv.prefix = left(l.supplier_adcode, 2)
LEFT JOIN adcode_names ci ON ci.prefix = left(l.supplier_adcode, 4);

DROP TABLE lead_cur; DROP TABLE lead_rank;
DROP TABLE lead_buyers; DROP TABLE lead_ttm; DROP TABLE lead_prev;
