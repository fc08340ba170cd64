-- outbox_sent.sql: mark message $id sent at $sent_at (the time the sent log recorded), counting the attempt
-- when this flush made one ($attempted); a message the log already held was sent by an earlier flush.
-- reads: (none)
-- writes: meta.outbox

UPDATE meta.outbox SET
    attempts        = attempts + CASE WHEN $attempted THEN 1 ELSE 0 END,
    status          = 'sent',
    last_error      = NULL,
    last_attempt_at = CASE WHEN $attempted THEN $sent_at::TIMESTAMP ELSE last_attempt_at END,
    sent_at         = $sent_at::TIMESTAMP
WHERE id = $id;
