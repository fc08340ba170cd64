-- chain_segments.sql: month $period's chain segments of every cluster, for the report's chain section.
-- reads: mart.chain_segments
-- writes: (none)

SELECT * FROM mart.chain_segments WHERE period = $period ORDER BY cluster_id, segment;
