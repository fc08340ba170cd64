-- meta.outbox: messages waiting to leave the warehouse (alert notices, the monthly report).
-- Written by flows/stages/s12_deliver.py: enqueue_* inserts a pending row inside the night's transaction, flush()
-- sends pending/failed rows with bounded retries and records every attempt. A row is never deleted, so
-- nothing is lost: an item that could not be sent stays pending/failed and is retried on a later night.
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SEQUENCE IF NOT EXISTS meta.outbox_id_seq START 1;
CREATE TABLE IF NOT EXISTS meta.outbox (
    id INTEGER PRIMARY KEY DEFAULT nextval('meta.outbox_id_seq'),
    channel VARCHAR NOT NULL,
    recipient VARCHAR NOT NULL,
    subject VARCHAR,
    payload JSON NOT NULL,
    attachments VARCHAR[],
    status VARCHAR NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    last_attempt_at TIMESTAMP,
    sent_at TIMESTAMP
);
COMMENT ON TABLE meta.outbox IS '发件箱：待发送的邮件与群机器人消息，发送成功或失败均留存 / outbox of e-mails and webhook messages; rows are kept after sending, failed ones are retried on later nights';
COMMENT ON COLUMN meta.outbox.id IS '消息编号 / message id';
COMMENT ON COLUMN meta.outbox.channel IS '渠道：email 或 webhook / channel: email or webhook';
COMMENT ON COLUMN meta.outbox.recipient IS '收件人（逗号分隔的邮箱）或机器人渠道名（地址与密钥不入库） / recipients (comma-separated addresses) or the robot channel name (its URL and secret are never stored)';
COMMENT ON COLUMN meta.outbox.subject IS '主题 / subject';
COMMENT ON COLUMN meta.outbox.payload IS '内容（JSON：邮件 text/html 或 webhook 消息体） / content (JSON: e-mail text/html, or the webhook body)';
COMMENT ON COLUMN meta.outbox.attachments IS '附件文件路径 / paths of attached files';
COMMENT ON COLUMN meta.outbox.status IS '状态：pending 待发送 / sent 已发送 / failed 本轮重试用尽（下次仍重试） / status: pending, sent, failed (retries of one flush used up; retried again next flush)';
COMMENT ON COLUMN meta.outbox.attempts IS '累计尝试次数 / number of send attempts so far';
COMMENT ON COLUMN meta.outbox.last_error IS '最近一次错误 / last error message';
COMMENT ON COLUMN meta.outbox.created_at IS '入队时间 / when queued';
COMMENT ON COLUMN meta.outbox.last_attempt_at IS '最近尝试时间 / time of the last attempt';
COMMENT ON COLUMN meta.outbox.sent_at IS '发送成功时间 / when sent';
-- message_id: the content's identity (flows/stages/s12_deliver.py message_id); a warehouse from before it gets the column.
ALTER TABLE meta.outbox ADD COLUMN IF NOT EXISTS message_id VARCHAR;
COMMENT ON COLUMN meta.outbox.message_id IS '消息标识（内容哈希），发送记录按此去重 / message id (content hash); the sent log beside the warehouse is keyed by it, so a message is sent once';
