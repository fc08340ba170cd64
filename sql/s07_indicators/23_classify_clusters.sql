-- classify_clusters.sql: mart.cluster_classes for the target periods — scale tier by output_ttm and the
-- stage 集聚/过渡/集群 from three tests (linkage, leadership, innovation support). Thresholds come from
-- flows/registry/classification.toml via temp tables (indicators_config.sql) cfg_tier(name, name_en, min_wan, ord) and cfg_stage (one row).
-- Reads ind_new (indicators of the target periods).
-- reads: bounds, cfg_stage, cfg_tier, ind_new, tp
-- writes: mart.cluster_classes

DELETE FROM mart.cluster_classes
WHERE period IN (SELECT period FROM tp)
   OR period < (SELECT first_period FROM bounds) OR period > (SELECT last_period FROM bounds);

INSERT INTO mart.cluster_classes (cluster_id, period, output_ttm, scale_tier, scale_tier_en, local_supporting_rate,
                                  n_chain_leaders, n_platforms, rd_intensity, test_linkage, test_leadership,
                                  test_innovation, tests_passed, stage, stage_en)
WITH w AS (
    SELECT cluster_id, period,
           max(value) FILTER (WHERE indicator = 'output_ttm') AS output_ttm,
           max(value) FILTER (WHERE indicator = 'local_supporting_rate') AS local_supporting_rate,
           max(value) FILTER (WHERE indicator = 'n_chain_leaders')::BIGINT AS n_chain_leaders,
           max(value) FILTER (WHERE indicator = 'n_platforms')::BIGINT AS n_platforms,
           max(value) FILTER (WHERE indicator = 'rd_intensity') AS rd_intensity
    FROM ind_new
    WHERE indicator IN ('output_ttm', 'local_supporting_rate', 'n_chain_leaders', 'n_platforms', 'rd_intensity')
    GROUP BY ALL
),
tests AS (
    SELECT w.*,
           coalesce(w.local_supporting_rate >= s.linkage_min_local_supporting_rate, false) AS test_linkage,
           coalesce(w.n_chain_leaders >= s.leadership_min_chain_leaders, false) AS test_leadership,
           coalesce(w.n_platforms >= s.innovation_min_platforms, false)
               OR coalesce(w.rd_intensity >= s.innovation_min_rd_intensity, false) AS test_innovation
    FROM w CROSS JOIN cfg_stage s
),
tiered AS (
    SELECT t.*,
           (SELECT arg_min(c.name, c.ord) FROM cfg_tier c WHERE t.output_ttm >= c.min_wan) AS tier,
           (SELECT arg_min(c.name_en, c.ord) FROM cfg_tier c WHERE t.output_ttm >= c.min_wan) AS tier_en
    FROM tests t
)
SELECT t.cluster_id, t.period, t.output_ttm,
       CASE WHEN t.output_ttm IS NOT NULL THEN coalesce(t.tier, s.below_name) END,
       CASE WHEN t.output_ttm IS NOT NULL THEN coalesce(t.tier_en, s.below_en) END,
       t.local_supporting_rate, t.n_chain_leaders, t.n_platforms, t.rd_intensity,
       t.test_linkage, t.test_leadership, t.test_innovation,
       t.test_linkage::INTEGER + t.test_leadership::INTEGER + t.test_innovation::INTEGER AS passed,
       CASE WHEN passed = 3 THEN s.cluster_name WHEN passed = 2 THEN s.transition_name ELSE s.agglomeration_name END,
       CASE WHEN passed = 3 THEN s.cluster_en WHEN passed = 2 THEN s.transition_en ELSE s.agglomeration_en END
FROM tiered t CROSS JOIN cfg_stage s;
