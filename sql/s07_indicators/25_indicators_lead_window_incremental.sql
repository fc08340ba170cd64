-- indicators_lead_window_incremental.sql: on an incremental night, roll the supply leads' window
-- (work.chain_supplier_window, indicators_chain_work.sql) to the data range's last period: lead_window_delta
-- (indicators_lead_window_out.sql: the stored rows of the months that left the window or were rebuilt, negated, as
-- they were before the rebuild) gets the rows of the months that entered the window or were rebuilt (sp), as they
-- are now; its sum per cluster and supplier is added to the window, and a supplier left with no month in the window
-- goes. Exact DECIMAL sums, so the rolled window equals the sum of its twelve stored months
-- (indicators_lead_window_full.sql) whatever the nights before.
-- reads: bounds, lead_window_delta, sp, work.chain_supplier_month, work.chain_window
-- writes: lead_window_delta, lead_window_months, work.chain_supplier_window, work.chain_window

-- The months added (the one entering, the rebuilt ones), then their stored rows (a scan bounded by their range).
CREATE OR REPLACE TEMP TABLE lead_window_months AS
SELECT period
FROM (SELECT unnest(generate_series(last_period - INTERVAL 11 MONTH, last_period::TIMESTAMP,
                                     INTERVAL 1 MONTH))::DATE AS period
      FROM bounds)
WHERE NOT coalesce(period BETWEEN ((SELECT max(period) FROM work.chain_window) - INTERVAL 11 MONTH)::DATE
                              AND (SELECT max(period) FROM work.chain_window), false)
   OR period IN (SELECT period FROM sp);

INSERT INTO lead_window_delta
SELECT cidx, sid, amount, (amount IS NOT NULL)::INTEGER, 1
FROM work.chain_supplier_month
WHERE period BETWEEN (SELECT min(period) FROM lead_window_months) AND (SELECT max(period) FROM lead_window_months)
  AND period IN (SELECT period FROM lead_window_months);

MERGE INTO work.chain_supplier_window w
USING (SELECT cidx, sid, coalesce(sum(amount), 0) AS amount, sum(n_amount) AS n_amount, sum(n_months) AS n_months
       FROM lead_window_delta GROUP BY cidx, sid) d
ON w.cidx = d.cidx AND w.sid = d.sid
WHEN MATCHED AND w.n_months + d.n_months = 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET amount = w.amount + d.amount, n_amount = w.n_amount + d.n_amount,
                             n_months = w.n_months + d.n_months
WHEN NOT MATCHED THEN INSERT (cidx, sid, amount, n_amount, n_months)
                      VALUES (d.cidx, d.sid, d.amount, d.n_amount, d.n_months);

DELETE FROM work.chain_window;
INSERT INTO work.chain_window SELECT last_period FROM bounds;

DROP TABLE lead_window_delta; DROP TABLE lead_window_months;
