-- report_classes.sql: each cluster's scale tier and stage in the report's month (mart.cluster_classes).
-- reads: mart.cluster_classes
-- writes: (none)
SELECT cluster_id, scale_tier, scale_tier_en, stage, stage_en FROM mart.cluster_classes WHERE period = $period;
