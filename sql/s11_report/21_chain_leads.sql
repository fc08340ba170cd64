-- chain_leads.sql: cluster $cluster_id's ranked supply leads in month $period (internal edition).
-- reads: mart.supply_leads
-- writes: (none)

SELECT * FROM mart.supply_leads WHERE cluster_id = $cluster_id AND period = $period ORDER BY rank;
