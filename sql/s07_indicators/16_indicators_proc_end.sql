-- indicators_proc_end.sql: drop the staging tables of the procurement rebuild (indicators_proc_begin.sql,
-- indicators_proc_month.sql), which hold a month of procurement rows each, before the indicator queries run.
-- reads: (none)
-- writes: new_buyer_rows, new_supplier_rows, old_buyer_rows, old_supplier_rows

DROP TABLE IF EXISTS new_buyer_rows;
DROP TABLE IF EXISTS new_supplier_rows;
DROP TABLE IF EXISTS old_buyer_rows;
DROP TABLE IF EXISTS old_supplier_rows;
