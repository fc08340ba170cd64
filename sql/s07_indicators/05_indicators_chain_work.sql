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
-- Per cluster, month, non-local outside supplier (group province / other_province / unknown) and buyer segment,
-- with the least name, registered uscc and location of the group's rows and its buying firms (fids, ascending).
-- The least over a lead's window is the least of these; a distinct count does not add up across months (a firm
-- buying in two months of a window is one buying firm), so each row keeps its buyers themselves and a lead's
-- n_buying_firms is the number of distinct fids in its window's rows: exact. So sql/indicators_chain.sql never
-- reads core.procurement again.
CREATE OR REPLACE TABLE work.chain_supplier_month (
    cidx INTEGER, period DATE, supplier_key VARCHAR, buyer_segment VARCHAR, amount DOUBLE, n_rows BIGINT,
    supplier_name VARCHAR, supplier_uscc VARCHAR, supplier_adcode VARCHAR, buyer_fids INTEGER[]
);
