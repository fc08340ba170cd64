-- indicators_state.sql: a fingerprint of the registries (hash and count of every row of core.firms, core.clusters
-- and core.platforms) and the state the marts were last computed with (work.indicator_state). The work tables
-- hold registry-derived ids and cluster assignments, so a changed registry forces a full recompute.
-- reads: core.firms, core.clusters, core.platforms, work.indicator_state
-- writes: (none)

SELECT (SELECT sum(hash(f)::HUGEINT) FROM core.firms f), (SELECT count(*) FROM core.firms),
       (SELECT sum(hash(c)::HUGEINT) FROM core.clusters c), (SELECT count(*) FROM core.clusters),
       (SELECT sum(hash(p)::HUGEINT) FROM core.platforms p), (SELECT count(*) FROM core.platforms),
       (SELECT any_value(config_hash) FROM work.indicator_state);
