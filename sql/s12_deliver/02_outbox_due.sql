-- outbox_due.sql: the messages still to send (pending, or failed on an earlier night), oldest first. Rows queued
-- before message ids existed have none (NULL); the sender computes it from their content.
-- reads: meta.outbox
-- writes: (none)

SELECT id, channel, recipient, subject, payload, attachments, message_id
FROM meta.outbox
WHERE status IN ('pending', 'failed')
ORDER BY id;
