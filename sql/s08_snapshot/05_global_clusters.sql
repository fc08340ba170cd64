-- global_clusters.sql: the global reference clusters loaded into the warehouse, in their reference order.
-- reads: mart.global_clusters
-- writes: (none)

SELECT * FROM mart.global_clusters ORDER BY seq;
