-- chain_available.sql: how many clusters have a chain index in month $period (none: the section is left out).
-- reads: mart.cluster_index
-- writes: (none)

SELECT count(*) FROM mart.cluster_index WHERE period = $period;
