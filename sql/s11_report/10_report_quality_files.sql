-- report_quality_files.sql: the data-quality section's files received, by kind and status, with row totals.
-- reads: meta.files
-- writes: (none)
SELECT coalesce(kind, '?') AS kind, status, count(*) AS n_files,
       coalesce(sum(rows_in), 0) AS rows_in, coalesce(sum(rows_loaded), 0) AS rows_loaded,
       coalesce(sum(rows_quarantined), 0) AS rows_quarantined
FROM meta.files
GROUP BY ALL
ORDER BY kind, status;
