-- indicators_chain_month.sql: the supply-chain aggregates of one month (month_now), run by
-- flows/stages/s07_indicators.py right after sql/indicators_proc_month.sql for every rebuilt month, so memory stays
-- bounded by a month of rows: the month's rows of the stored tables (indicators_chain_work.sql), deleted for all
-- months of sp by sql/indicators_proc_begin.sql, are inserted from the month's located procurement rows
-- (chain_rows, from that file's one scan of core.procurement). sql/indicators_chain.sql reads only these stored
-- rows (never core.procurement), so a month's procurement is read when the month is rebuilt and not again.
-- reads: chain_rows, month_now, work.supplier_ids
-- writes: chain_rows, outside_rows, outside_segments, work.chain_flow_month, work.chain_supplier_buyer,
--         work.chain_supplier_month, work.chain_supplier_segment

INSERT INTO work.chain_flow_month
SELECT cidx, (SELECT period FROM month_now), buyer_segment, supplier_group,
       CASE supplier_group WHEN 'member' THEN member_segment WHEN 'local' THEN '外部·本地非成员'
            WHEN 'province' THEN '外部·省内其他地区' WHEN 'other_province' THEN '外部·外省'
            ELSE '外部·所在地不明' END,
       sum(amount::DECIMAL(38,12))::DOUBLE, coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE is_local), 0)::DOUBLE,
       count(*)
FROM chain_rows
GROUP BY ALL;

-- The outside suppliers' rows under their ids (one join on the key per row), then their aggregates on integers.
CREATE OR REPLACE TEMP TABLE outside_rows AS
SELECT r.cidx, i.sid, r.fid, r.buyer_segment, r.amount, r.supplier_name, r.supplier_uscc, r.supplier_adcode
FROM chain_rows r
JOIN work.supplier_ids i USING (supplier_key)
WHERE r.supplier_group IN ('province', 'other_province', 'unknown');

CREATE OR REPLACE TEMP TABLE outside_segments AS
SELECT cidx, sid, buyer_segment, sum(amount::DECIMAL(38,12))::DOUBLE AS amount, min(supplier_name) AS supplier_name,
       min(supplier_uscc) AS supplier_uscc, min(supplier_adcode) AS supplier_adcode
FROM outside_rows
GROUP BY cidx, sid, buyer_segment;

INSERT INTO work.chain_supplier_segment
SELECT cidx, (SELECT period FROM month_now), sid, buyer_segment, amount
FROM outside_segments;

INSERT INTO work.chain_supplier_month
SELECT cidx, (SELECT period FROM month_now), sid, sum(amount::DECIMAL(38,12)), min(supplier_name), min(supplier_uscc),
       min(supplier_adcode)
FROM outside_segments
GROUP BY cidx, sid;

INSERT INTO work.chain_supplier_buyer
SELECT DISTINCT cidx, (SELECT period FROM month_now), sid, fid
FROM outside_rows;

DROP TABLE outside_rows; DROP TABLE outside_segments;
DROP TABLE chain_rows;
