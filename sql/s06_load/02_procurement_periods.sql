-- procurement_periods.sql: the months a file's procurement rows (view `incoming`) are for, and whether
-- core.procurement holds any row of them: only then can the file revise a buyer's month (procurement_supersede.sql).
-- The usual file brings a month not stored yet, and its 4.1 M rows' distinct (buyer, period) keys, which the
-- revision needs, cost a nation file ≈ 0.2 CPU-s for nothing (plus ≈ 0.1 for the two statements finding no row).
-- load_procurement.sql records these months in meta.changes.
-- reads: core.procurement, incoming
-- writes: incoming_periods
-- registered: incoming
CREATE OR REPLACE TEMP TABLE incoming_periods AS SELECT DISTINCT period FROM incoming;

SELECT EXISTS (FROM core.procurement p SEMI JOIN incoming_periods i ON i.period = p.period) AS revises;
