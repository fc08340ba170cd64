-- 0007_fact_tables_without_key_index.sql: core.firm_monthly and core.tax lose their PRIMARY KEY (uscc, period).
-- The key stays unique by construction — the load derives one row per (firm, month) (pivot_monthly.sql,
-- pivot_tax.sql group by it), appends only months after every stored month of the firm-year (derive_flows.sql)
-- and otherwise deletes a changed row before it inserts its new version (store_flows.sql); a file whose rows
-- repeat a key never reaches the derivation (flows/stages/s06_load.py prepare refuses it, naming the rows) — and
-- tests/test_load.py checks it after revisions, re-derivations and a double load. The index guarded nothing
-- beyond that and cost, at nation scale (5.85 M rows each, measured with one month inserted on 11 stored): 0.7
-- CPU-s more per month inserted plus 0.5 s at its commit and checkpoint, 131 MB of ART in memory for one
-- month's insert, and 212 MB of the 403 MB file of core.firm_monthly (the published warehouse is copied whole
-- every night). DuckDB cannot drop a primary key in place, so each table is made again: its rows are copied in
-- their order (≈ 6 s for both at nation scale, once).
-- reads: core.firm_monthly, core.tax
-- writes: core.firm_monthly, core.tax

CREATE TABLE core.firm_monthly_0007 (
    uscc VARCHAR, period DATE, span_months INTEGER,
    output DOUBLE, value_added DOUBLE, revenue DOUBLE, profit DOUBLE, employees DOUBLE, energy DOUBLE,
    rd_expense DOUBLE
);
INSERT INTO core.firm_monthly_0007 BY NAME SELECT * FROM core.firm_monthly;
DROP TABLE core.firm_monthly;
ALTER TABLE core.firm_monthly_0007 RENAME TO firm_monthly;

CREATE TABLE core.tax_0007 (uscc VARCHAR, period DATE, span_months INTEGER, tax_paid DOUBLE);
INSERT INTO core.tax_0007 BY NAME SELECT * FROM core.tax;
DROP TABLE core.tax;
ALTER TABLE core.tax_0007 RENAME TO tax;

COMMENT ON TABLE core.firm_monthly IS '企业月度数据（万元；累计已差分；每个企业每月一行）/ firm monthly facts in 万元, year-to-date reports differenced; one row per (uscc, period)';
COMMENT ON TABLE core.tax IS '企业月度实缴税金（万元；每个企业每月一行）/ firm monthly tax paid in 万元; one row per (uscc, period)';
COMMENT ON COLUMN core.firm_monthly.span_months IS '覆盖月数（1–2月合报为2）/ months the record covers (2 for a 1–2月 report)';
COMMENT ON COLUMN core.tax.span_months IS '覆盖月数 / months the record covers';
