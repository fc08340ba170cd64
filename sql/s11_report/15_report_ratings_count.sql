-- report_ratings_count.sql: how many firm ratings a month has (the report uses the latest December that has them).
-- reads: mart.firm_ratings
-- writes: (none)
SELECT count(*) AS n FROM mart.firm_ratings WHERE period = $period;
