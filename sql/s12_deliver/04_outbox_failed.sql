-- outbox_failed.sql: record a failed attempt to send message $id: the error, and 'failed' once the night's
-- attempts are used up ($final), else still 'pending'. A failed row is retried on a later night.
-- reads: (none)
-- writes: meta.outbox

UPDATE meta.outbox SET
    attempts        = attempts + 1,
    last_error      = $error,
    status          = CASE WHEN $final THEN 'failed' ELSE 'pending' END,
    last_attempt_at = current_localtimestamp()
WHERE id = $id;
