-- load_procurement.sql: a file's procurement rows (view `incoming`) replace the rows an earlier file held
-- for the same (buyer, period): procurement has no row key, so a buyer's month is revised as a whole.
-- The replaced rows move to history.procurement_superseded.
-- reads: core.procurement, incoming
-- writes: core.procurement, history.procurement_superseded, incoming_keys, meta.changes
-- registered: incoming
CREATE OR REPLACE TEMP TABLE incoming_keys AS SELECT DISTINCT buyer_uscc, period FROM incoming;

INSERT INTO history.procurement_superseded BY NAME
SELECT p.*, $file_id AS superseded_by FROM core.procurement p
WHERE p.period IN (SELECT DISTINCT period FROM incoming_keys)
  AND (p.buyer_uscc, p.period) IN (SELECT (buyer_uscc, period) FROM incoming_keys);

DELETE FROM core.procurement p
WHERE p.period IN (SELECT DISTINCT period FROM incoming_keys)
  AND (p.buyer_uscc, p.period) IN (SELECT (buyer_uscc, period) FROM incoming_keys);

INSERT INTO core.procurement (buyer_uscc, supplier_uscc, supplier_name, supplier_adcode, period, amount, file_id,
                              row_number)
SELECT buyer_uscc, supplier_uscc, supplier_name, supplier_adcode, period, amount, $file_id, _row FROM incoming;

INSERT INTO meta.changes (run_id, kind, period) SELECT $run_id, 'procurement', period FROM (SELECT DISTINCT period FROM incoming_keys);
