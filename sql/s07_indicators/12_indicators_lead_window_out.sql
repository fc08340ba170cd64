-- indicators_lead_window_out.sql: on an incremental night, before sql/indicators_proc_begin.sql deletes the rebuilt
-- months' stored rows, take out of the supply leads' window (work.chain_supplier_window, at the window's last month
-- in work.chain_window) the months that leave it — those outside the new window ending at the data range's last
-- period — and the months about to be rebuilt (sp), with the values they were summed in with: their stored rows,
-- negated, start the night's delta lead_window_delta, which sql/indicators_lead_window_incremental.sql completes
-- with the months that enter the window or were rebuilt and adds to the window. A full recompute builds the window
-- afresh (indicators_lead_window_full.sql) and runs no such file.
-- reads: bounds, sp, work.chain_supplier_month, work.chain_window
-- writes: lead_window_delta, lead_window_months

-- The months taken out (a few: the one leaving, the rebuilt ones), then their stored rows: the scan is bounded by their
-- range, so the row groups of the other months are skipped by their zone maps.
CREATE OR REPLACE TEMP TABLE lead_window_months AS
SELECT period
FROM (SELECT unnest(generate_series(max(period) - INTERVAL 11 MONTH, max(period)::TIMESTAMP,
                                     INTERVAL 1 MONTH))::DATE AS period
      FROM work.chain_window)
WHERE period NOT BETWEEN ((SELECT last_period FROM bounds) - INTERVAL 11 MONTH)::DATE
                      AND (SELECT last_period FROM bounds)
   OR period IN (SELECT period FROM sp);

CREATE OR REPLACE TEMP TABLE lead_window_delta AS
SELECT cidx, sid, -amount AS amount, -(amount IS NOT NULL)::INTEGER AS n_amount, -1 AS n_months
FROM work.chain_supplier_month
WHERE period BETWEEN (SELECT min(period) FROM lead_window_months) AND (SELECT max(period) FROM lead_window_months)
  AND period IN (SELECT period FROM lead_window_months);

DROP TABLE lead_window_months;
