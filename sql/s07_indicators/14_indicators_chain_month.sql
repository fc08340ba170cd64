-- indicators_chain_month.sql: the supply-chain aggregates of one month ($month, kept in temp table month_now; flows/stages/s07_indicators.py runs it
-- for every rebuilt month, so memory stays bounded by a month of rows): the month's rows of the stored tables
-- (indicators_chain_work.sql) are replaced from one scan of core.procurement (chain_located,
-- indicators_chain_maps.sql).
-- reads: chain_located
-- writes: chain_rows, month_now, work.chain_flow_month, work.chain_supplier_month

CREATE OR REPLACE TEMP TABLE month_now AS SELECT $month::DATE AS period;

DELETE FROM work.chain_flow_month WHERE period = (SELECT period FROM month_now);
DELETE FROM work.chain_supplier_month WHERE period = (SELECT period FROM month_now);

CREATE OR REPLACE TEMP TABLE chain_rows AS
SELECT * FROM chain_located('core.procurement', (SELECT period FROM month_now), (SELECT period FROM month_now));

INSERT INTO work.chain_flow_month
SELECT cidx, (SELECT period FROM month_now), buyer_segment, supplier_group,
       CASE supplier_group WHEN 'member' THEN member_segment WHEN 'local' THEN '外部·本地非成员'
            WHEN 'province' THEN '外部·省内其他地区' WHEN 'other_province' THEN '外部·外省'
            ELSE '外部·所在地不明' END,
       sum(amount::DECIMAL(38,12))::DOUBLE, coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE is_local), 0)::DOUBLE,
       count(*)
FROM chain_rows
GROUP BY ALL;

INSERT INTO work.chain_supplier_month
SELECT cidx, (SELECT period FROM month_now), supplier_key, buyer_segment, sum(amount::DECIMAL(38,12))::DOUBLE, count(*), min(supplier_name), min(supplier_uscc),
       min(supplier_adcode)
FROM chain_rows
WHERE supplier_group IN ('province', 'other_province', 'unknown') AND supplier_key IS NOT NULL
GROUP BY ALL;

DROP TABLE chain_rows;
