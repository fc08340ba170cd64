-- indicators_clear.sql: empty every indicator mart, for a warehouse that holds no monthly, tax or procurement
-- data any more (the marts must never show periods the facts no longer support).
-- reads: (none)
-- writes: mart.cluster_indicators, mart.province_indicators, mart.cluster_classes, mart.firm_ratings,
--         mart.chain_segments, mart.chain_flows, mart.supply_leads, mart.cluster_index

DELETE FROM mart.cluster_indicators;
DELETE FROM mart.province_indicators;
DELETE FROM mart.cluster_classes;
DELETE FROM mart.firm_ratings;
DELETE FROM mart.chain_segments;
DELETE FROM mart.chain_flows;
DELETE FROM mart.supply_leads;
DELETE FROM mart.cluster_index;
