-- indicators_chain_month.sql: the supply-chain aggregates of one month (month_now), run by
-- flows/stages/s07_indicators.py right after sql/indicators_proc_month.sql for every rebuilt month, so memory stays
-- bounded by a month of rows: the month's rows of the stored tables (indicators_chain_work.sql), deleted for all
-- months of sp by sql/indicators_proc_begin.sql, are inserted from the month's located procurement rows
-- (chain_rows, from that file's one scan of core.procurement). sql/indicators_chain.sql reads only these stored
-- rows (never core.procurement), so a month's procurement is read when the month is rebuilt and not again.
-- reads: chain_rows, chain_segment, month_now, new_ids, work.supplier_text
-- writes: chain_rows, new_ids, outside_rows, outside_segments, work.chain_flow_month, work.chain_supplier_buyer,
--         work.chain_supplier_month, work.chain_supplier_segment, work.chain_supplier_text, work.supplier_text

-- Grouped on the segment ids (chain_segment holds their names).
INSERT INTO work.chain_flow_month
SELECT f.cidx, (SELECT period FROM month_now), b.segment, f.supplier_group,
       CASE f.supplier_group WHEN 'member' THEN m.segment WHEN 'local' THEN '外部·本地非成员'
            WHEN 'province' THEN '外部·省内其他地区' WHEN 'other_province' THEN '外部·外省'
            ELSE '外部·所在地不明' END,
       f.amount, f.local_amount, f.n_rows
FROM (
    SELECT cidx, buyer_seg, supplier_group, member_seg, sum(amount::DECIMAL(38,12))::DOUBLE AS amount,
           coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE is_local), 0)::DOUBLE AS local_amount, count(*) AS n_rows
    FROM chain_rows
    GROUP BY cidx, buyer_seg, supplier_group, member_seg
) f
JOIN chain_segment b ON b.seg = f.buyer_seg
LEFT JOIN chain_segment m ON m.seg = f.member_seg;

-- The outside suppliers' rows under their ids (those of new keys from new_ids, sql/indicators_proc_month.sql) and,
-- where a row is not spelled as its supplier's text (work.supplier_text) or the supplier has none yet, the row's own
-- name, uscc and location (own_text).
CREATE OR REPLACE TEMP TABLE outside_rows AS
SELECT r.cidx, coalesce(r.sid, n.sid) AS sid, r.fid, r.buyer_seg, r.amount, r.own_text, r.supplier_name,
       r.supplier_uscc, r.supplier_adcode
FROM chain_rows r
LEFT JOIN new_ids n USING (supplier_key)
WHERE r.supplier_group IN ('province', 'other_province', 'unknown') AND coalesce(r.sid, n.sid) IS NOT NULL;

-- A new supplier's text: the least name, uscc and location of its rows this month (kept until a full recompute).
INSERT INTO work.supplier_text
SELECT sid, min(supplier_name), min(supplier_uscc), min(supplier_adcode)
FROM outside_rows
ANTI JOIN work.supplier_text USING (sid)
WHERE own_text
GROUP BY sid;

-- A cluster's least name, uscc and location this month where they differ from its supplier's text: over the rows of
-- the cluster and supplier that have a row with its own text, each row's own text or (spelled as it) the supplier's.
INSERT INTO work.chain_supplier_text
SELECT m.cidx, (SELECT period FROM month_now), m.sid, m.supplier_name, m.supplier_uscc, m.supplier_adcode
FROM (
    SELECT r.cidx, r.sid,
           min(CASE WHEN r.own_text THEN r.supplier_name ELSE t.supplier_name END) AS supplier_name,
           min(CASE WHEN r.own_text THEN r.supplier_uscc ELSE t.supplier_uscc END) AS supplier_uscc,
           min(CASE WHEN r.own_text THEN r.supplier_adcode ELSE t.supplier_adcode END) AS supplier_adcode
    FROM outside_rows r
    SEMI JOIN (SELECT DISTINCT cidx, sid FROM outside_rows WHERE own_text) g USING (cidx, sid)
    JOIN work.supplier_text t USING (sid)
    GROUP BY r.cidx, r.sid
) m
JOIN work.supplier_text t USING (sid)
WHERE m.supplier_name IS DISTINCT FROM t.supplier_name OR m.supplier_uscc IS DISTINCT FROM t.supplier_uscc
   OR m.supplier_adcode IS DISTINCT FROM t.supplier_adcode;

CREATE OR REPLACE TEMP TABLE outside_segments AS
SELECT cidx, sid, buyer_seg, sum(amount::DECIMAL(38,12))::DOUBLE AS amount
FROM outside_rows
GROUP BY cidx, sid, buyer_seg;

INSERT INTO work.chain_supplier_segment
SELECT o.cidx, (SELECT period FROM month_now), o.sid, g.segment, o.amount
FROM outside_segments o JOIN chain_segment g ON g.seg = o.buyer_seg;

INSERT INTO work.chain_supplier_month
SELECT cidx, (SELECT period FROM month_now), sid, sum(amount::DECIMAL(38,12))
FROM outside_segments
GROUP BY cidx, sid;

INSERT INTO work.chain_supplier_buyer
SELECT DISTINCT cidx, (SELECT period FROM month_now), sid, fid
FROM outside_rows;

DROP TABLE outside_rows; DROP TABLE outside_segments;
DROP TABLE chain_rows; DROP TABLE new_ids;
