-- indicators_chain_work.sql: the supply-chain view's stored inputs in schema `work`, (re)created empty on
-- every full recompute (flows/stages/s07_indicators.py) like sql/indicators_work.sql. sql/indicators_chain_month.sql
-- rebuilds the changed months, one month of procurement rows per statement; sql/indicators_chain.sql sums
-- them over the TTM windows of the target periods. cidx is the run's cluster id (indicators_maps.sql); a
-- registry change forces a full recompute, so stored ids always match the registry.
-- reads: (none)
-- writes: work.chain_flow_month, work.chain_supplier_month

CREATE SCHEMA IF NOT EXISTS work;

-- Per cluster, month, buyer segment and supplier side (member segment, or an outside group).
CREATE OR REPLACE TABLE work.chain_flow_month (
    cidx INTEGER, period DATE, buyer_segment VARCHAR, supplier_group VARCHAR, supplier_segment VARCHAR,
    amount DOUBLE, local_amount DOUBLE, n_rows BIGINT
);
-- Per cluster, month and non-local outside supplier (group province / other_province / unknown; sid from
-- work.supplier_ids): the month's amount (the exact sum of its buyer segments' amounts), the segments with their
-- amounts, the least name, registered uscc and location of its rows, and its buying firms (fids, ascending).
-- sql/indicators_chain.sql ranks the leads on integer keys from this table alone and reads their details from it:
-- the least over a window is the least of the months' least values, and a distinct count does not add up across
-- months (a firm buying in two months of a window is one buying firm), so each row keeps its buyers themselves and
-- a lead's n_buying_firms is the number of distinct fids in its window's rows: exact. So the leads never read
-- core.procurement again.
CREATE OR REPLACE TABLE work.chain_supplier_month (
    cidx INTEGER, period DATE, sid INTEGER, amount DECIMAL(38,12),
    segments STRUCT(segment VARCHAR, amount DOUBLE)[],
    supplier_name VARCHAR, supplier_uscc VARCHAR, supplier_adcode VARCHAR, buyer_fids INTEGER[]
);
