-- load_begin.sql: before the night's files are loaded. Each file's load is one transaction, and a commit whose
-- log passes checkpoint_threshold (16 MB by default) also checkpoints the database: on the sample night that
-- was most files, 65 ms a commit against 21 ms without. The building copy is published only after its final
-- CHECKPOINT (flows.support.warehouse.building) and a night that dies is discarded whole, so the checkpoints in
-- between bought nothing; 256 MB keeps the log (and the uncheckpointed data in memory) bounded at nation scale.
-- reads: (none)
-- writes: (none)
SET checkpoint_threshold = '256MB';
