-- indicators_procurement.sql: local_supporting_rate, unknown_supplier_share, local_supporting_rate_leaders,
-- local_supplier_count over TTM procurement by F(c) (docs/architecture.md#indicators). Reads the per-cluster and month pre-aggregate
-- work.proc_cluster_month (indicators_work.sql), never core.procurement, so the cost does not grow with the
-- number of procurement rows. Appends to ind_new.
-- Distinct counts over the TTM window (buyers, chain-leader buyers, local suppliers) come exact from
-- work.proc_cluster_month (sql/indicators_proc_clusters.sql): key-month rows summed per cluster, month and
-- counts_from, the first target whose window holds the row but no earlier row of its key; at target m the rows
-- of months m − 11..m with counts_from ≤ m count.
-- reads: bounds, cluster_map, grid, work.proc_cluster_month
-- writes: ind_new, proc_ttm

CREATE OR REPLACE TEMP TABLE proc_ttm AS
WITH sums AS (
    SELECT g.cluster_id, g.period, sum(p.amount::DECIMAL(38,12))::DOUBLE AS amount,
           sum(p.local_amount::DECIMAL(38,12))::DOUBLE AS local_amount,
           sum(p.unknown_amount::DECIMAL(38,12))::DOUBLE AS unknown_amount,
           sum(p.leader_amount::DECIMAL(38,12))::DOUBLE AS leader_amount,
           sum(p.leader_local_amount::DECIMAL(38,12))::DOUBLE AS leader_local_amount,
           coalesce(sum(p.buyers) FILTER (WHERE p.counts_from <= g.period), 0) AS n_buyers,
           coalesce(sum(p.leader_buyers) FILTER (WHERE p.counts_from <= g.period), 0) AS n_leader_buyers,
           coalesce(sum(p.suppliers) FILTER (WHERE p.counts_from <= g.period), 0) AS n_local_suppliers,
           (g.period - INTERVAL 11 MONTH)::DATE < (SELECT first_period FROM bounds) AS partial_window
    FROM grid g
    JOIN cluster_map c USING (cluster_id)
    LEFT JOIN work.proc_cluster_month p
           ON p.cidx = c.cidx AND p.period BETWEEN (g.period - INTERVAL 11 MONTH)::DATE AND g.period
    GROUP BY g.cluster_id, g.period
)
SELECT *,
       -- why a share of all purchases (local_supporting_rate, unknown_supplier_share) is undefined
       CASE WHEN n_buyers = 0 THEN 'undefined:no_procurement'
            WHEN coalesce(amount, 0) = 0 THEN 'undefined:zero_amount' END AS share_undefined,
       CASE WHEN partial_window THEN ['partial_window'] ELSE [] END AS base_flags
FROM sums;

INSERT INTO ind_new
SELECT cluster_id, period, 'local_supporting_rate', local_amount / nullif(amount, 0), local_amount, amount,
       n_buyers, list_concat(base_flags, list_filter([share_undefined], x -> x IS NOT NULL))
FROM proc_ttm
UNION ALL
SELECT cluster_id, period, 'unknown_supplier_share', unknown_amount / nullif(amount, 0), unknown_amount, amount,
       n_buyers, list_concat(base_flags, list_filter([share_undefined], x -> x IS NOT NULL))
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
