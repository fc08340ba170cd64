-- indicators_procurement.sql: local_supporting_rate, unknown_supplier_share, local_supporting_rate_leaders,
-- local_supplier_count over TTM procurement by F(c) (DESIGN §5). Reads the pre-aggregates
-- work.proc_buyer_month and work.proc_local_supplier (indicators_base.sql), never core.procurement, so the
-- cost does not grow with the number of procurement rows. Appends to ind_new.
-- Distinct counts over a sliding window (buyers, local suppliers) use interval events: a key seen in month p
-- whose next appearance is month q counts for target months p .. min(p + 11, q − 1); summing +1/−1 events
-- up to m counts every key once.

CREATE OR REPLACE TEMP TABLE cpm AS
SELECT b.cluster_id, b.period, sum(b.amount) AS amount, sum(b.local_amount) AS local_amount,
       sum(b.unknown_amount) AS unknown_amount,
       sum(b.amount) FILTER (WHERE f.chain_leader) AS leader_amount,
       sum(b.local_amount) FILTER (WHERE f.chain_leader) AS leader_local_amount
FROM work.proc_buyer_month b
JOIN firm_cluster f ON f.uscc = b.buyer_uscc AND f.cluster_id = b.cluster_id
WHERE b.period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE proc_ttm AS
WITH sums AS (
    SELECT g.cluster_id, g.period, sum(p.amount) AS amount, sum(p.local_amount) AS local_amount,
           sum(p.unknown_amount) AS unknown_amount, sum(p.leader_amount) AS leader_amount,
           sum(p.leader_local_amount) AS leader_local_amount
    FROM grid g
    JOIN cpm p ON p.cluster_id = g.cluster_id AND p.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY ALL
),
buyers AS (
    SELECT b.cluster_id, b.buyer_uscc, b.period, f.chain_leader,
           lead(b.period) OVER (PARTITION BY b.cluster_id, b.buyer_uscc ORDER BY b.period) AS next_period
    FROM work.proc_buyer_month b
    JOIN firm_cluster f ON f.uscc = b.buyer_uscc AND f.cluster_id = b.cluster_id
    WHERE b.period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
),
buyer_events AS (
    SELECT cluster_id, period AS at_month, 1 AS d, CASE WHEN chain_leader THEN 1 ELSE 0 END AS dl FROM buyers
    UNION ALL
    SELECT cluster_id, least((period + INTERVAL 12 MONTH)::DATE, coalesce(next_period, DATE '9999-12-01')),
           -1, CASE WHEN chain_leader THEN -1 ELSE 0 END
    FROM buyers
),
buyer_deltas AS (SELECT cluster_id, at_month, sum(d) AS d, sum(dl) AS dl FROM buyer_events GROUP BY ALL),
buyer_counts AS (
    SELECT g.cluster_id, g.period, sum(e.d) AS n_buyers, sum(e.dl) AS n_leader_buyers
    FROM grid g JOIN buyer_deltas e ON e.cluster_id = g.cluster_id AND e.at_month <= g.period
    GROUP BY ALL
),
suppliers AS (
    SELECT cluster_id, period,
           lead(period) OVER (PARTITION BY cluster_id, supplier_key ORDER BY period) AS next_period
    FROM work.proc_local_supplier
    WHERE period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
),
supplier_events AS (
    SELECT cluster_id, period AS at_month, 1 AS d FROM suppliers
    UNION ALL
    SELECT cluster_id, least((period + INTERVAL 12 MONTH)::DATE, coalesce(next_period, DATE '9999-12-01')), -1
    FROM suppliers
),
supplier_deltas AS (SELECT cluster_id, at_month, sum(d) AS d FROM supplier_events GROUP BY ALL),
supplier_counts AS (
    SELECT g.cluster_id, g.period, sum(e.d) AS n_local_suppliers
    FROM grid g JOIN supplier_deltas e ON e.cluster_id = g.cluster_id AND e.at_month <= g.period
    GROUP BY ALL
)
SELECT g.cluster_id, g.period, s.amount, s.local_amount, s.unknown_amount, s.leader_amount,
       s.leader_local_amount, coalesce(b.n_buyers, 0) AS n_buyers,
       coalesce(b.n_leader_buyers, 0) AS n_leader_buyers,
       coalesce(sc.n_local_suppliers, 0) AS n_local_suppliers,
       list_filter([CASE WHEN (g.period - INTERVAL 11 MONTH)::DATE < (SELECT first_period FROM bounds)
                         THEN 'partial_window' END], x -> x IS NOT NULL) AS base_flags
FROM grid g
LEFT JOIN sums s USING (cluster_id, period)
LEFT JOIN buyer_counts b USING (cluster_id, period)
LEFT JOIN supplier_counts sc USING (cluster_id, period);

INSERT INTO ind_new
SELECT cluster_id, period, 'local_supporting_rate', local_amount / nullif(amount, 0), local_amount, amount,
       n_buyers,
       list_concat(base_flags, list_filter([CASE WHEN n_buyers = 0 THEN 'undefined:no_procurement'
                                                 WHEN coalesce(amount, 0) = 0 THEN 'undefined:zero_amount' END],
                                           x -> x IS NOT NULL))
FROM proc_ttm
UNION ALL
SELECT cluster_id, period, 'unknown_supplier_share', unknown_amount / nullif(amount, 0), unknown_amount, amount,
       n_buyers,
       list_concat(base_flags, list_filter([CASE WHEN n_buyers = 0 THEN 'undefined:no_procurement'
                                                 WHEN coalesce(amount, 0) = 0 THEN 'undefined:zero_amount' END],
                                           x -> x IS NOT NULL))
FROM proc_ttm
UNION ALL
SELECT cluster_id, period, 'local_supporting_rate_leaders', leader_local_amount / nullif(leader_amount, 0),
       leader_local_amount, leader_amount, n_leader_buyers,
       list_concat(base_flags, list_filter([CASE WHEN n_leader_buyers = 0 THEN 'undefined:no_leader_procurement'
                                                 WHEN coalesce(leader_amount, 0) = 0 THEN 'undefined:zero_amount'
                                            END], x -> x IS NOT NULL))
FROM proc_ttm
UNION ALL
-- A count over nothing is 0 (flagged no_procurement), not undefined.
SELECT cluster_id, period, 'local_supplier_count', n_local_suppliers, n_local_suppliers, NULL, n_buyers,
       list_concat(base_flags, list_filter([CASE WHEN n_buyers = 0 THEN 'no_procurement' END],
                                           x -> x IS NOT NULL))
FROM proc_ttm;
