-- indicators_chain_month.sql: the supply-chain aggregates of one month (month_now), run by
-- flows/stages/s07_indicators.py right after sql/indicators_proc_month.sql for every rebuilt month, so memory stays
-- bounded by a month of rows: the month's rows of the stored tables (indicators_chain_work.sql), deleted for all
-- months of sp by sql/indicators_proc_begin.sql, are inserted from the month's located procurement rows
-- (chain_rows, from that file's one scan of core.procurement). sql/indicators_chain.sql reads only these stored
-- rows (never core.procurement), so a month's procurement is read when the month is rebuilt and not again.
-- reads: chain_rows, month_now, work.supplier_ids
-- writes: chain_rows, work.chain_flow_month, work.chain_supplier_month

INSERT INTO work.chain_flow_month
SELECT cidx, (SELECT period FROM month_now), buyer_segment, supplier_group,
       CASE supplier_group WHEN 'member' THEN member_segment WHEN 'local' THEN '外部·本地非成员'
            WHEN 'province' THEN '外部·省内其他地区' WHEN 'other_province' THEN '外部·外省'
            ELSE '外部·所在地不明' END,
       sum(amount::DECIMAL(38,12))::DOUBLE, coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE is_local), 0)::DOUBLE,
       count(*)
FROM chain_rows
GROUP BY ALL;

-- The outside suppliers: per buyer segment first (its amount an exact sum, stored as DOUBLE as the flows are),
-- then per supplier with the segments as a list; the supplier's amount is the exact sum of its segments' amounts.
INSERT INTO work.chain_supplier_month
SELECT s.cidx, (SELECT period FROM month_now), i.sid, sum(s.amount::DECIMAL(38,12)),
       list({'segment': s.buyer_segment, 'amount': s.amount} ORDER BY s.buyer_segment),
       min(s.supplier_name), min(s.supplier_uscc), min(s.supplier_adcode), list_sort(flatten(list(s.buyer_fids)))
FROM (
    SELECT cidx, supplier_key, buyer_segment, sum(amount::DECIMAL(38,12))::DOUBLE AS amount,
           min(supplier_name) AS supplier_name, min(supplier_uscc) AS supplier_uscc,
           min(supplier_adcode) AS supplier_adcode, list(DISTINCT fid) AS buyer_fids
    FROM chain_rows
    WHERE supplier_group IN ('province', 'other_province', 'unknown') AND supplier_key IS NOT NULL
    GROUP BY cidx, supplier_key, buyer_segment
) s
JOIN work.supplier_ids i USING (supplier_key)
GROUP BY s.cidx, i.sid;

DROP TABLE chain_rows;
