-- chain_flows.sql: the purchase flows between chain segments of the clusters in $clusters in month $period
-- (internal edition), one query for the whole section (one per cluster cost ≈ 2 s at nation scale).
-- reads: mart.chain_flows
-- writes: (none)

SELECT * FROM mart.chain_flows
WHERE period = $period AND list_contains($clusters, cluster_id)
ORDER BY cluster_id, buyer_segment, supplier_group, supplier_segment;
