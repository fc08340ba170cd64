-- load_procurement.sql: a file's procurement rows (view `incoming`) into core.procurement, and their months
-- (incoming_periods, procurement_periods.sql) into meta.changes. The rows an earlier file held for the same
-- (buyer, period) were moved out first (procurement_supersede.sql, when there were any).
-- reads: incoming, incoming_periods
-- writes: core.procurement, meta.changes
-- registered: incoming
INSERT INTO core.procurement (buyer_uscc, supplier_uscc, supplier_name, supplier_adcode, period, amount, file_id,
                              row_number)
SELECT buyer_uscc, supplier_uscc, supplier_name, supplier_adcode, period, amount, $file_id, _row FROM incoming;

INSERT INTO meta.changes (run_id, kind, period) SELECT $run_id, 'procurement', period FROM incoming_periods;
