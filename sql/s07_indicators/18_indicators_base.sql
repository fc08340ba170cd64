-- indicators_base.sql: the shared inputs of the indicator queries, built once per run from the registry maps
-- (indicators_maps.sql) and the stored firm facts (work.firm_month and work.cluster_month, rebuilt for the
-- changed months by indicators_firm_month.sql).
-- Expects temp tables from indicators_targets.sql:
--   tp(period)      target periods to (re)compute
--   bounds          first_period, last_period (data range), lo_ytd (January of the year before the first
--                   target), lo_ttm (first target − 11 months), hi (last target)
-- Builds: fm (monthly records of F(c) from lo_ytd) and cm (per cluster and month), views of the work tables
-- (then indicators_firm_ttm.sql and indicators_cluster_ttm.sql).
-- reads: bounds, work.cluster_month, work.firm_month
-- writes: cm, fm

-- Monthly records of F(c) reaching back far enough for YTD year-on-year and TTM windows.
CREATE OR REPLACE TEMP VIEW fm AS
SELECT fid, cluster_id, has_land, period, span_months, output, value_added, revenue, employees, energy, rd_expense
FROM work.firm_month
WHERE is_record AND period BETWEEN (SELECT lo_ytd FROM bounds) AND (SELECT hi FROM bounds);

-- Per cluster and month: the months with records (work.cluster_month, rebuilt with work.firm_month).
CREATE OR REPLACE TEMP VIEW cm AS
SELECT cluster_id, period, output, n_output, n_records, has_span, employees, revenue, rd_expense, energy,
       output_land, n_records_land, covers_from, covers_from_land
FROM work.cluster_month
WHERE n_records > 0 AND period BETWEEN (SELECT lo_ytd FROM bounds) AND (SELECT hi FROM bounds);
