-- indicators_work.sql: the indicator stage's stored inputs in schema `work` — firm facts and procurement
-- aggregates under integer ids — (re)created empty on every full recompute (flows/stages/s07_indicators.py), so a changed
-- layout never meets old rows. An ordinary night rebuilds only the changed months (sql/indicators_firm_month.sql,
-- sql/indicators_proc_*.sql); a full recompute rebuilds them all.
-- Keys are integers from the run's registry maps (indicators_maps.sql: fid per firm, cidx per cluster) and from
-- work.supplier_ids; a registry change forces a full recompute, so stored ids always match the registry.
--
-- prv is the previous month in which the row's key (buyer; cluster and supplier) was seen, NULL if never: a
-- key-month row counts towards a TTM distinct count at m exactly when m − 11 ≤ period ≤ m and prv < m − 11,
-- which lets sql/indicators_procurement.sql count distinct keys without a distinct aggregation.
-- reads: (none)
-- writes: work.cluster_month, work.firm_month, work.proc_buyer_month, work.proc_cluster_month,
--         work.proc_local_supplier, work.supplier_ids

CREATE SCHEMA IF NOT EXISTS work;

-- One row per buyer and month (the buyer's cluster: firm_cluster by fid). Also read by
-- sql/report_contributions.sql (buyer_uscc, period, amount, local_amount).
CREATE OR REPLACE TABLE work.proc_buyer_month (
    buyer_uscc VARCHAR, period DATE, amount DOUBLE, local_amount DOUBLE,
    unknown_amount DOUBLE, n_rows BIGINT, fid INTEGER, prv DATE
);
-- One row per cluster, local supplier and month (a supplier is its supplier_uscc when given, else its name).
CREATE OR REPLACE TABLE work.proc_local_supplier (cidx INTEGER, sid INTEGER, period DATE, prv DATE);
-- Those rows summed per cluster, month and counts_from = max(period, prv + 12 months), the first target at
-- which a row counts towards a TTM distinct count (sql/indicators_proc_clusters.sql): the procurement
-- indicators read only this.
CREATE OR REPLACE TABLE work.proc_cluster_month (
    cidx INTEGER, period DATE, counts_from DATE, buyers BIGINT, leader_buyers BIGINT, suppliers BIGINT,
    amount DOUBLE, local_amount DOUBLE, unknown_amount DOUBLE, leader_amount DOUBLE, leader_local_amount DOUBLE
);
-- Supplier keys → dense integer ids (sid 0 is the NULL key: no supplier_uscc and no supplier_name).
CREATE OR REPLACE TABLE work.supplier_ids (supplier_key VARCHAR, sid INTEGER);
-- One row per firm of F(c) and month with a monthly record (is_record) or a tax record (is_tax) ending in the
-- month, with the registry's cluster and land flag: the firm facts every indicator and rating reads.
CREATE OR REPLACE TABLE work.firm_month (
    fid INTEGER, cluster_id VARCHAR, has_land BOOLEAN, period DATE,
    is_record BOOLEAN, span_months INTEGER, output DOUBLE, value_added DOUBLE, revenue DOUBLE, employees DOUBLE,
    energy DOUBLE, rd_expense DOUBLE,
    is_tax BOOLEAN, tax_span_months INTEGER, tax_paid DOUBLE
);
-- Their sums per cluster and month (see indicators_firm_month.sql): n_records, output … covers_from_land over
-- the records ending in the month, tax_land, n_tax_land, tax_covers_from over the land-holding firms' tax.
CREATE OR REPLACE TABLE work.cluster_month (
    cluster_id VARCHAR, period DATE, n_records BIGINT, output DOUBLE, n_output BIGINT, has_span BOOLEAN,
    employees DOUBLE, revenue DOUBLE, rd_expense DOUBLE, energy DOUBLE, output_land DOUBLE, n_records_land BIGINT,
    covers_from DATE, covers_from_land DATE, tax_land DOUBLE, n_tax_land BIGINT, tax_covers_from DATE
);
