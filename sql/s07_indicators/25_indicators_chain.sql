-- indicators_chain.sql: mart.chain_segments, mart.chain_flows and mart.supply_leads for the target periods
-- tp(period), from the stored monthly aggregates (indicators_chain_work.sql), firm_ttm (indicators_base.sql)
-- and the registry (chain_firm, indicators_chain_maps.sql). Replaces the target periods and drops periods
-- outside the data range (bounds); the flows and segments are written here, the leads by
-- indicators_lead_amounts.sql (or indicators_lead_amounts_one.sql) and indicators_leads.sql. Expects
-- cfg_chain(unlabelled_segment, max_leads, weak_ratio, min_peers) and adcode_names(prefix, name) from
-- indicators_config.sql. Everything is read from the stored monthly aggregates, never from core.procurement: sums
-- over the TTM window are sums of a few rows per cluster and month, and the kept leads' names and buying firms come
-- from the months' least names and buyers (work.chain_supplier_segment, work.chain_supplier_buyer), so a night with
-- one new month reads that month's procurement only.
-- reads: bounds, cfg_chain, chain_firm, cluster_map, firm_ttm, grid, tp, work.chain_flow_month
-- writes: chain_flow_ttm, mart.chain_flows, mart.chain_segments, mart.supply_leads

DELETE FROM mart.chain_segments
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);
DELETE FROM mart.chain_flows
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);
DELETE FROM mart.supply_leads
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);

-- Flows per cluster, target, buyer segment and supplier side over the TTM window.
CREATE OR REPLACE TEMP TABLE chain_flow_ttm AS
SELECT g.cluster_id, g.period, w.buyer_segment, w.supplier_group, w.supplier_segment,
       sum(w.amount::DECIMAL(38,12))::DOUBLE AS amount, sum(w.local_amount::DECIMAL(38,12))::DOUBLE AS local_amount,
       sum(w.n_rows) AS n_rows
FROM grid g
JOIN cluster_map c USING (cluster_id)
JOIN work.chain_flow_month w ON w.cidx = c.cidx AND w.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
GROUP BY ALL;

INSERT INTO mart.chain_flows (cluster_id, period, buyer_segment, supplier_group, supplier_segment, amount_ttm,
                              local_amount_ttm, n_rows, share_of_buyer_segment, share_of_cluster, local_share,
                              buyer_segment_local_share)
SELECT cluster_id, period, buyer_segment, supplier_group, supplier_segment, amount, local_amount, n_rows,
       amount / nullif(segment_amount, 0), amount / nullif(cluster_amount, 0), local_amount / nullif(amount, 0),
       segment_local_amount / nullif(segment_amount, 0)
FROM (
    SELECT *, (sum(amount::DECIMAL(38,12)) OVER s)::DOUBLE AS segment_amount,
           (sum(local_amount::DECIMAL(38,12)) OVER s)::DOUBLE AS segment_local_amount,
           (sum(amount::DECIMAL(38,12)) OVER (PARTITION BY cluster_id, period))::DOUBLE AS cluster_amount
    FROM chain_flow_ttm
    WINDOW s AS (PARTITION BY cluster_id, period, buyer_segment)
);

-- Segments: registry counts, TTM output of the segment's firms (firm_ttm), purchases, and the weak-link test
-- against the same segment in the other clusters of the domain.
INSERT INTO mart.chain_segments (cluster_id, period, segment, n_firms, n_srdi, n_chain_leaders, output_ttm,
                                 n_firms_contrib, top2_output_ttm, purchases_ttm, local_purchases_ttm, local_share,
                                 peer_local_share, n_peers, weak_link, weak_reason)
WITH reg AS (
    SELECT cidx, segment, count(*) AS n_firms,
           count(*) FILTER (WHERE srdi_level IN ('provincial', 'national')) AS n_srdi,
           count(*) FILTER (WHERE chain_leader) AS n_chain_leaders
    FROM chain_firm GROUP BY ALL
),
seg_grid AS (
    SELECT g.cluster_id, g.period, c.domain, r.*
    FROM grid g JOIN cluster_map c USING (cluster_id) JOIN reg r USING (cidx)
),
firm_out AS (
    SELECT t.cluster_id, t.period, f.segment, t.output,
           row_number() OVER (PARTITION BY t.cluster_id, t.period, f.segment ORDER BY t.output DESC NULLS LAST) AS k
    FROM firm_ttm t JOIN chain_firm f USING (fid)
),
out AS (
    SELECT cluster_id, period, segment, sum(output::DECIMAL(38,12))::DOUBLE AS output_ttm, count(*) AS n_firms_contrib,
           (sum(output::DECIMAL(38,12)) FILTER (WHERE k <= 2))::DOUBLE AS top2_output_ttm
    FROM firm_out GROUP BY ALL
),
buy AS (
    SELECT cluster_id, period, buyer_segment AS segment, sum(amount::DECIMAL(38,12))::DOUBLE AS purchases,
           sum(local_amount::DECIMAL(38,12))::DOUBLE AS local_purchases
    FROM chain_flow_ttm GROUP BY ALL
),
s AS (
    SELECT sg.cluster_id, sg.period, sg.domain, sg.segment, sg.n_firms, sg.n_srdi, sg.n_chain_leaders,
           o.output_ttm, coalesce(o.n_firms_contrib, 0) AS n_firms_contrib, o.top2_output_ttm,
           b.purchases, b.local_purchases, b.local_purchases / nullif(b.purchases, 0) AS local_share
    FROM seg_grid sg
    LEFT JOIN out o USING (cluster_id, period, segment)
    LEFT JOIN buy b USING (cluster_id, period, segment)
),
peers AS (
    SELECT a.cluster_id, a.period, a.segment, median(p.local_share) AS peer_local_share,
           count(p.local_share) AS n_peers
    FROM s a
    LEFT JOIN s p ON p.domain = a.domain AND p.period = a.period AND p.segment = a.segment
                 AND p.cluster_id <> a.cluster_id AND p.local_share IS NOT NULL
    GROUP BY ALL
)
SELECT s.cluster_id, s.period, s.segment, s.n_firms, s.n_srdi, s.n_chain_leaders, s.output_ttm, s.n_firms_contrib,
       s.top2_output_ttm, s.purchases, s.local_purchases, s.local_share,
       CASE WHEN p.n_peers > 0 THEN p.peer_local_share END, p.n_peers,
       CASE WHEN s.local_share IS NOT NULL AND p.n_peers >= (SELECT min_peers FROM cfg_chain)
            THEN s.local_share < (SELECT weak_ratio FROM cfg_chain) * p.peer_local_share END,
       CASE WHEN s.local_share IS NULL THEN 'no_purchases'
            WHEN p.n_peers < (SELECT min_peers FROM cfg_chain) THEN 'too_few_peers' END
FROM s JOIN peers p USING (cluster_id, period, segment);
