-- meta.report_editions: every edition of the monthly report that was queued for sending (flows/support/editions.py).
-- The report goes out once per period; a later night sends it again only when its published numbers
-- (the table CSVs) changed, as a revision (修订版) that says which rows changed.
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.report_editions (
    period DATE NOT NULL,
    lang VARCHAR NOT NULL,
    audience VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,
    edition INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    tables JSON NOT NULL,
    outbox_id INTEGER,
    created_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    PRIMARY KEY (period, lang, audience, scope, edition)
);
COMMENT ON TABLE meta.report_editions IS '月报发送版次：每期首发一次，数字变化时发修订版 / editions of the monthly report sent per period: the first, then a revision only when its numbers changed';
COMMENT ON COLUMN meta.report_editions.period IS '报告期 / report month';
COMMENT ON COLUMN meta.report_editions.lang IS '语言 / language';
COMMENT ON COLUMN meta.report_editions.audience IS '受众 / audience';
COMMENT ON COLUMN meta.report_editions.scope IS '范围（省份或 all） / scope (province or all)';
COMMENT ON COLUMN meta.report_editions.edition IS '版次（1 为首发） / edition (1 = first)';
COMMENT ON COLUMN meta.report_editions.content_hash IS '表格数字的哈希 / hash of the published table numbers';
COMMENT ON COLUMN meta.report_editions.tables IS '该版表格内容（CSV 行），用于说明修订内容 / the edition''s table rows, to say what a revision changed';
COMMENT ON COLUMN meta.report_editions.outbox_id IS '发件箱消息编号 / outbox message id';
COMMENT ON COLUMN meta.report_editions.created_at IS '生成时间 / when queued';
