-- procurement_supersede.sql: a file's procurement rows (view `incoming`) replace the rows an earlier file held
-- for the same (buyer, period): procurement has no row key, so a buyer's month is revised as a whole. The
-- replaced rows move to history.procurement_superseded. Run before load_procurement.sql inserts the file's rows,
-- and only when core.procurement holds a row of one of the file's months (procurement_periods.sql).
-- reads: core.procurement, incoming, incoming_periods
-- writes: core.procurement, history.procurement_superseded, incoming_keys
-- registered: incoming
CREATE OR REPLACE TEMP TABLE incoming_keys AS SELECT DISTINCT buyer_uscc, period FROM incoming;

INSERT INTO history.procurement_superseded BY NAME
SELECT p.*, $file_id AS superseded_by FROM core.procurement p
WHERE p.period IN (SELECT period FROM incoming_periods)
  AND (p.buyer_uscc, p.period) IN (SELECT (buyer_uscc, period) FROM incoming_keys);

DELETE FROM core.procurement p
WHERE p.period IN (SELECT period FROM incoming_periods)
  AND (p.buyer_uscc, p.period) IN (SELECT (buyer_uscc, period) FROM incoming_keys);
