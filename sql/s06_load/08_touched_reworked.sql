-- touched_reworked.sql: how many firm-years file's rows rework rather than append (touched, derive_flows.sql):
-- none on the usual night, and then the rework path (derive_rework.sql, store_flows.sql) is skipped.
-- reads: touched
-- writes: (none)
SELECT count(*) FROM touched WHERE NOT appended;
