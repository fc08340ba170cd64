-- indicators_config.sql: the registry and the configuration as temp tables, so the indicator SQL reads them as
-- data. Every table comes from list parameters (one element per row, zipped by unnest) or scalars, bound by
-- flows/stages/s07_indicators.py from flows/registry/indicators.toml, classification.toml and chain_index.toml and
-- from the offline division table (flows/support/adcodes.py).
--   ind_reg        indicator, direction, rollup (registry order)
--   cfg_tier       scale tiers: name, name_en, min_wan (万元), ord
--   cfg_stage      the 集聚/过渡/集群 thresholds and names (one row)
--   cfg_rating     firm 亩均 rating rules (one row; class_names / class_upto sorted by upto)
--   cfg_weight     rating metric weights
--   cfg_chain      supply-chain rules (one row); cfg_index (one row), cfg_index_dim, cfg_index_ind: the
--                  development index
--   adcode_names   2-digit adcode prefix → province, 4-digit → city
-- reads: (none)
-- writes: ind_reg, cfg_tier, cfg_stage, cfg_rating, cfg_weight, cfg_chain, cfg_index, cfg_index_dim,
--         cfg_index_ind, adcode_names

CREATE OR REPLACE TEMP TABLE ind_reg AS
SELECT unnest($ind_codes::VARCHAR[]) AS indicator, unnest($ind_directions::VARCHAR[]) AS direction,
       unnest($ind_rollups::VARCHAR[]) AS rollup;

CREATE OR REPLACE TEMP TABLE cfg_tier AS
SELECT unnest($tier_names::VARCHAR[]) AS name, unnest($tier_names_en::VARCHAR[]) AS name_en,
       unnest($tier_min_wan::DOUBLE[]) AS min_wan, unnest(range(len($tier_names::VARCHAR[])))::INTEGER AS ord;

CREATE OR REPLACE TEMP TABLE cfg_stage AS SELECT
    $linkage_min_local_supporting_rate::DOUBLE AS linkage_min_local_supporting_rate,
    $leadership_min_chain_leaders::DOUBLE AS leadership_min_chain_leaders,
    $innovation_min_platforms::DOUBLE AS innovation_min_platforms,
    $innovation_min_rd_intensity::DOUBLE AS innovation_min_rd_intensity,
    $cluster_name::VARCHAR AS cluster_name, $cluster_en::VARCHAR AS cluster_en,
    $transition_name::VARCHAR AS transition_name, $transition_en::VARCHAR AS transition_en,
    $agglomeration_name::VARCHAR AS agglomeration_name, $agglomeration_en::VARCHAR AS agglomeration_en,
    $below_name::VARCHAR AS below_name, $below_en::VARCHAR AS below_en;

CREATE OR REPLACE TEMP TABLE cfg_rating AS SELECT
    $require_above_scale::BOOLEAN AS require_above_scale, $min_land_mu::DOUBLE AS min_land_mu,
    $cap::DOUBLE AS cap, $rating_group::VARCHAR AS grp, $class_names::VARCHAR[] AS class_names,
    $class_upto::DOUBLE[] AS class_upto;

CREATE OR REPLACE TEMP TABLE cfg_weight AS
SELECT unnest($weight_metrics::VARCHAR[]) AS metric, unnest($weights::DOUBLE[]) AS weight;

CREATE OR REPLACE TEMP TABLE cfg_chain AS SELECT
    $unlabelled_segment::VARCHAR AS unlabelled_segment, $max_leads::BIGINT AS max_leads,
    $weak_ratio::DOUBLE AS weak_ratio, $min_peers::BIGINT AS min_peers;

CREATE OR REPLACE TEMP TABLE cfg_index AS SELECT $index_method::VARCHAR AS method;

CREATE OR REPLACE TEMP TABLE cfg_index_dim AS
SELECT unnest($dim_codes::VARCHAR[]) AS dimension, unnest($dim_weights::DOUBLE[]) AS weight;

CREATE OR REPLACE TEMP TABLE cfg_index_ind AS
SELECT unnest($dim_ind_dimensions::VARCHAR[]) AS dimension, unnest($dim_ind_codes::VARCHAR[]) AS indicator,
       unnest($dim_ind_weights::DOUBLE[]) AS weight, unnest($dim_ind_transforms::VARCHAR[]) AS transform;

CREATE OR REPLACE TEMP TABLE adcode_names AS
SELECT unnest($adcode_prefixes::VARCHAR[]) AS prefix, unnest($adcode_names::VARCHAR[]) AS name;
