-- indicators_chain_work.sql: the supply-chain view's stored inputs in schema `work`, (re)created empty on
-- every full recompute (flows/stages/s07_indicators.py) like sql/indicators_work.sql. sql/indicators_chain_month.sql
-- rebuilds the changed months, one month of procurement rows per statement; sql/indicators_chain.sql sums
-- them over the TTM windows of the target periods. cidx is the run's cluster id (indicators_maps.sql); a
-- registry change forces a full recompute, so stored ids always match the registry.
-- reads: (none)
-- writes: work.chain_flow_month, work.chain_supplier_buyer, work.chain_supplier_month, work.chain_supplier_segment,
--         work.chain_supplier_text, work.chain_supplier_window, work.chain_window, work.supplier_text

CREATE SCHEMA IF NOT EXISTS work;

-- Per cluster, month, buyer segment and supplier side (member segment, or an outside group).
CREATE OR REPLACE TABLE work.chain_flow_month (
    cidx INTEGER, period DATE, buyer_segment VARCHAR, supplier_group VARCHAR, supplier_segment VARCHAR,
    amount DOUBLE, local_amount DOUBLE, n_rows BIGINT
);
-- The non-local outside suppliers (group province / other_province / unknown) under their integer ids (sid, from
-- work.supplier_ids), so sql/indicators_chain.sql ranks and joins the leads on integers and never reads
-- core.procurement again:
-- per cluster, month and supplier, the month's amount (the exact sum of its buyer segments' amounts) the ranking
-- reads;
CREATE OR REPLACE TABLE work.chain_supplier_month (cidx INTEGER, period DATE, sid INTEGER, amount DECIMAL(38,12));
-- a lead's name, registered uscc and location are the least of each over its window's rows, that is the least of
-- the months' least values per cluster. A supplier is spelled the same in nearly all its rows, in every cluster and
-- month (nation: 722,069 outside suppliers a month; new ones 124 k in the second month, a handful by the twelfth), so its
-- text is kept once (work.supplier_text: the least name, uscc and location of the rows of the first month it was
-- seen in, never changed until a full recompute), and a cluster's month gets its own least values
-- (work.chain_supplier_text) only where its rows differ from that text: writing text columns was most of the cost
-- of storing the month's rows (945 k per cluster, supplier and month at nation).
CREATE OR REPLACE TABLE work.supplier_text (sid INTEGER, supplier_name VARCHAR, supplier_uscc VARCHAR,
                                            supplier_adcode VARCHAR);
CREATE OR REPLACE TABLE work.chain_supplier_text (
    cidx INTEGER, period DATE, sid INTEGER, supplier_name VARCHAR, supplier_uscc VARCHAR, supplier_adcode VARCHAR
);
-- per cluster, month, supplier and buyer segment, the amount (the segments a lead supplies);
CREATE OR REPLACE TABLE work.chain_supplier_segment (cidx INTEGER, period DATE, sid INTEGER, buyer_segment VARCHAR,
                                                     amount DOUBLE);
-- and the buying firms, one row per cluster, month, supplier and buyer (fid). A distinct count does not add up
-- across months (a firm buying in two months of a window is one buying firm), so each month keeps its buyers
-- themselves and a lead's n_buying_firms is the number of distinct fids in its window's rows: exact.
CREATE OR REPLACE TABLE work.chain_supplier_buyer (cidx INTEGER, period DATE, sid INTEGER, fid INTEGER);
-- The supply leads' window at the last period L of the data (work.chain_window holds L; no row: no window yet): per
-- cluster and outside supplier with a stored month in L − 11 … L, the exact sum of its monthly amounts there, the
-- months with an amount and the months with a row. A sum is additive, so a night rolls it
-- (indicators_lead_window_out.sql takes out the months that leave the window or are rebuilt,
-- indicators_lead_window_incremental.sql adds the months that enter it or were rebuilt) instead of summing twelve
-- stored months again; an ordinary night's leads are ranked on it (indicators_lead_amounts_one.sql).
CREATE OR REPLACE TABLE work.chain_supplier_window (
    cidx INTEGER, sid INTEGER, amount DECIMAL(38,12), n_amount INTEGER, n_months INTEGER
);
CREATE OR REPLACE TABLE work.chain_window (period DATE);
