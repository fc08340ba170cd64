-- land_register.sql: register one newly landed file in meta.files (status 'landed') and return its id.
-- reads: (none)
-- writes: meta.files
INSERT INTO meta.files (file_id, file_name, kind, sha256, size_bytes, arrived_at, landed_path, run_id, status)
VALUES (nextval('meta.file_seq'), $file_name, $kind, $sha256, $size_bytes, $arrived_at, $landed_path, $run_id,
        'landed')
RETURNING file_id;
