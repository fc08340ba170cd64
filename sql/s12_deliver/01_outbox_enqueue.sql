-- outbox_enqueue.sql: queue one message in meta.outbox (pending) and return its id. $message_id is the content's
-- identity (flows/stages/s12_deliver.py message_id): the sent log beside the warehouse is keyed by it.
-- reads: (none)
-- writes: meta.outbox

INSERT INTO meta.outbox (channel, recipient, subject, payload, attachments, message_id)
VALUES ($channel, $recipient, $subject, $payload, $attachments::VARCHAR[], $message_id)
RETURNING id;
