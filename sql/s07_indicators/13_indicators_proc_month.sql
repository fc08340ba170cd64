-- indicators_proc_month.sql: the procurement aggregates of one month ($month, kept in temp table month_now; flows/stages/s07_indicators.py runs it for
-- every month in sp, so memory stays bounded by a month of rows). One scan of core.procurement locates and
-- classifies the month's rows (chain_rows, by chain_located of indicators_chain_maps.sql, which
-- sql/indicators_chain_month.sql then reads too, so the month's rows are joined with the registry once); they are
-- aggregated per buyer into new_buyer_rows and, for local purchases, into distinct (cluster, supplier) pairs in
-- new_supplier_rows (prv is set later by indicators_proc_keys.sql).
-- A supplier's location: the registry adcode when its supplier_uscc is registered, else supplier_adcode;
-- unknown (NULL or blank) is not local. A supplier is its supplier_uscc when given, else its supplier_name.
-- Amounts are summed exactly, as DECIMAL(38,12), and stored back as DOUBLE (flows/stages/s07_indicators.py: exact
-- sums), so the sums do not depend on the order DuckDB's threads add in.
-- reads: chain_located, firm_cluster, work.supplier_ids
-- writes: chain_rows, month_now, new_buyer_rows, new_supplier_rows, work.supplier_ids

CREATE OR REPLACE TEMP TABLE month_now AS SELECT $month::DATE AS period;

-- Only the columns the month's aggregates read, and the supplier's name, registered uscc and location only on the
-- rows of the outside suppliers, whose least values sql/indicators_chain_month.sql stores (no_adcode stands for a
-- missing location on every row): a month of rows costs by its width to materialise, most in its text columns.
CREATE OR REPLACE TEMP TABLE chain_rows AS
SELECT cidx, fid, buyer_segment, amount, supplier_key, is_local, supplier_group, member_segment,
       supplier_adcode IS NULL AS no_adcode,
       CASE WHEN supplier_group IN ('province', 'other_province', 'unknown') THEN supplier_name END AS supplier_name,
       CASE WHEN supplier_group IN ('province', 'other_province', 'unknown') THEN supplier_uscc END AS supplier_uscc,
       CASE WHEN supplier_group IN ('province', 'other_province', 'unknown') THEN supplier_adcode END AS supplier_adcode
FROM chain_located('core.procurement', (SELECT period FROM month_now), (SELECT period FROM month_now));

INSERT INTO new_buyer_rows
SELECT f.uscc, (SELECT period FROM month_now), b.amount::DOUBLE, b.local_amount::DOUBLE, b.unknown_amount::DOUBLE,
       b.n_rows, b.fid
FROM (
    SELECT fid, sum(amount::DECIMAL(38,12)) AS amount,
           coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE is_local), 0) AS local_amount,
           coalesce(sum(amount::DECIMAL(38,12)) FILTER (WHERE no_adcode), 0) AS unknown_amount,
           count(*) AS n_rows
    FROM chain_rows GROUP BY fid
) b
JOIN firm_cluster f USING (fid);

-- New supplier keys get the next ids (the order among them is immaterial: ids only need to be distinct): local
-- suppliers (counted here) and non-local outside ones (the leads' keys, sql/indicators_chain_month.sql).
INSERT INTO work.supplier_ids
SELECT supplier_key, (SELECT coalesce(max(sid), 0) FROM work.supplier_ids) + row_number() OVER ()
FROM (SELECT DISTINCT supplier_key FROM chain_rows
      WHERE (is_local OR supplier_group IN ('province', 'other_province', 'unknown')) AND supplier_key IS NOT NULL) k
ANTI JOIN work.supplier_ids USING (supplier_key);

INSERT INTO new_supplier_rows
SELECT DISTINCT r.cidx, coalesce(s.sid, 0), (SELECT period FROM month_now)
FROM chain_rows r LEFT JOIN work.supplier_ids s USING (supplier_key)
WHERE r.is_local;
