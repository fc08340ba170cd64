-- chain_leads.sql: the ranked supply leads of the clusters in $clusters in month $period (internal edition), one
-- query for the whole section, with the columns the lead table shows (600 clusters × 100 leads at nation scale:
-- turning rows into Python objects is most of the query's cost).
-- reads: mart.supply_leads
-- writes: (none)

SELECT cluster_id, rank, supplier_name, supplier_uscc, province, city, amount_ttm, share_of_purchases,
       n_buying_firms, segments, amount_prev_ttm, change_rate
FROM mart.supply_leads WHERE period = $period AND list_contains($clusters, cluster_id)
ORDER BY cluster_id, rank;
