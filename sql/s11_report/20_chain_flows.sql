-- chain_flows.sql: cluster $cluster_id's purchase flows between chain segments in month $period (internal edition).
-- reads: mart.chain_flows
-- writes: (none)

SELECT * FROM mart.chain_flows
WHERE cluster_id = $cluster_id AND period = $period
ORDER BY buyer_segment, supplier_group, supplier_segment;
