-- run_finish.sql: close this night's meta.runs row with the file and row totals of the files it landed.
-- A night whose validation engines disagreed (meta.validation_problems, severity error) is recorded as such.
-- reads: meta.files, meta.validation_problems
-- writes: meta.runs
UPDATE meta.runs SET
    finished_at      = current_timestamp,
    files_seen       = $files_seen,
    files_new        = (SELECT count(*) FROM meta.files WHERE run_id = $run_id),
    rows_loaded      = (SELECT coalesce(sum(rows_loaded), 0) FROM meta.files WHERE run_id = $run_id),
    rows_quarantined = (SELECT coalesce(sum(rows_quarantined), 0) FROM meta.files WHERE run_id = $run_id),
    status           = CASE WHEN EXISTS (SELECT 1 FROM meta.validation_problems
                                         WHERE run_id = $run_id AND severity = 'error')
                            THEN 'engines_disagree' ELSE 'succeeded' END
WHERE run_id = $run_id;
