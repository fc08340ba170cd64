-- indicators_proc_clusters.sql: rebuild work.proc_cluster_month (indicators_work.sql) for the months in
-- proc_months(period) (the rebuilt months and those of re-linked rows, from indicators_proc_keys.sql): the
-- stored buyer-month and (cluster, local supplier)-month rows summed per cluster, month and counts_from.
-- A key-month row at p whose key was seen before at prv counts towards the TTM distinct counts at the targets
-- m with counts_from = max(p, prv + 12 months) ≤ m ≤ p + 11 months: the windows that hold p but no earlier row
-- of the key. So distinct counts need no distinct aggregation, and the sums are few rows.
-- reads: firm_cluster, proc_months, work.proc_buyer_month, work.proc_local_supplier
-- writes: proc_months, work.proc_cluster_month

DELETE FROM work.proc_cluster_month WHERE period IN (SELECT period FROM proc_months);

INSERT INTO work.proc_cluster_month
WITH key_rows AS (
    SELECT f.cidx, b.period, greatest(b.period, (b.prv + INTERVAL 12 MONTH)::DATE) AS counts_from,
           1 AS buyers, f.chain_leader::INTEGER AS leader_buyers, 0 AS suppliers,
           b.amount, b.local_amount, b.unknown_amount,
           CASE WHEN f.chain_leader THEN b.amount END AS leader_amount,
           CASE WHEN f.chain_leader THEN b.local_amount END AS leader_local_amount
    FROM work.proc_buyer_month b SEMI JOIN proc_months USING (period) JOIN firm_cluster f USING (fid)
    UNION ALL
    SELECT cidx, period, greatest(period, (prv + INTERVAL 12 MONTH)::DATE), 0, 0, 1,
           NULL, NULL, NULL, NULL, NULL
    FROM work.proc_local_supplier SEMI JOIN proc_months USING (period)
)
SELECT cidx, period, counts_from, sum(buyers), sum(leader_buyers), sum(suppliers),
       sum(amount::DECIMAL(38,12))::DOUBLE, sum(local_amount::DECIMAL(38,12))::DOUBLE,
       sum(unknown_amount::DECIMAL(38,12))::DOUBLE, sum(leader_amount::DECIMAL(38,12))::DOUBLE,
       sum(leader_local_amount::DECIMAL(38,12))::DOUBLE
FROM key_rows
GROUP BY cidx, period, counts_from;

DROP TABLE proc_months;
