-- indicators_targets.sql: what this run computes, as temp tables every later file reads (bound by
-- flows/stages/s07_indicators.py):
--   tp(period)   the target periods ($targets), whose indicators are (re)computed
--   sp(period)   the source months ($sources), whose stored inputs in schema work are rebuilt
--   rp(period)   the rated periods ($rated: Decembers and the latest period; classify_firms.sql)
--   bounds       first_period, last_period (the data range), lo_ytd (January of the year before the first
--                target), lo_ttm (first target − 11 months), hi (last target), sp_lo / sp_hi (the range of sp),
--                drop_unrated_periods (whether firm ratings of other periods than Decembers and the latest go:
--                true on a night, false when rate_firms adds one period on demand)
-- The SQL reads the bounds as constant subqueries, (SELECT lo_ttm FROM bounds), which DuckDB evaluates first and
-- pushes into the scans, so row groups outside the range are skipped by their zone maps.
-- reads: (none)
-- writes: tp, sp, rp, bounds

CREATE OR REPLACE TEMP TABLE tp AS SELECT unnest($targets::DATE[]) AS period;
CREATE OR REPLACE TEMP TABLE sp AS SELECT unnest($sources::DATE[]) AS period;
CREATE OR REPLACE TEMP TABLE rp AS SELECT unnest($rated::DATE[]) AS period;
CREATE OR REPLACE TEMP TABLE bounds AS SELECT
    $first_period::DATE AS first_period, $last_period::DATE AS last_period,
    make_date(year($lo::DATE) - 1, 1, 1) AS lo_ytd, ($lo::DATE - INTERVAL 11 MONTH)::DATE AS lo_ttm,
    $hi::DATE AS hi, $sp_lo::DATE AS sp_lo, $sp_hi::DATE AS sp_hi,
    $drop_unrated_periods::BOOLEAN AS drop_unrated_periods;
