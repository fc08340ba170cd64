"""Outbox delivery against a real SMTP server (aiosmtpd) and a real HTTP server, including a failing one."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from flows.deliver import DeliverySettings, enqueue_email, enqueue_webhook, flush, load_settings, robot_markdown


@pytest.fixture
def http_server():
    """A robot endpoint; `fail` answers HTTP 500 that many times before it accepts."""
    state = {"fail": 0, "received": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server hook name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state["fail"] > 0:
                state["fail"] -= 1
                self.send_response(500)
                self.end_headers()
                return
            state["received"].append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/robot/send?access_token=t", state
    server.shutdown()
    server.server_close()


def test_email_with_attachment_is_sent(tmp_path: Path, smtp_server):
    controller, inbox = smtp_server
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    report_pdf = tmp_path / "集群运行监测报告.pdf"
    report_pdf.write_bytes(b"%PDF-1.4 test")
    item = enqueue_email(con, ["a@example.cn", "b@example.cn"], "监测预警 2025-12", "正文 text",
                         html="<p>正文</p>", attachments=[report_pdf])
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=controller.port, retry_backoff_s=0)
    result = flush(con, settings)
    assert result.sent == [item] and result.pending == 0
    rcpts, msg = inbox.messages[0]
    assert rcpts == ["a@example.cn", "b@example.cn"] and msg["Subject"] == "监测预警 2025-12"
    names = [p.get_filename() for p in msg.iter_attachments()]
    assert names == ["集群运行监测报告.pdf"]
    assert con.execute("SELECT status, attempts FROM meta.outbox WHERE id = ?", [item]).fetchone() == ("sent", 1)
    assert flush(con, settings).sent == []  # sent once, never again


def test_webhook_retries_then_stays_failed_then_succeeds_next_flush(tmp_path: Path, http_server):
    url, state = http_server
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    item = enqueue_webhook(con, url, robot_markdown("集群预警", "- CS_CM 本地配套率下降", "dingtalk"))
    state["fail"] = 5
    slept: list[float] = []
    settings = DeliverySettings(webhook_url=url, retry_attempts=3, retry_backoff_s=0.5)
    first = flush(con, settings, sleep=slept.append)
    assert first.failed == [item] and first.pending == 1 and slept == [0.5, 1.0]
    status, attempts, error = con.execute(
        "SELECT status, attempts, last_error FROM meta.outbox WHERE id = ?", [item]).fetchone()
    assert (status, attempts) == ("failed", 3) and "500" in error
    state["fail"] = 1  # one more 500, then the server recovers: the next night delivers it
    second = flush(con, settings, sleep=slept.append)
    assert second.sent == [item] and second.pending == 0
    assert state["received"] == [{"msgtype": "markdown",
                                  "markdown": {"title": "集群预警", "text": "#### 集群预警\n- CS_CM 本地配套率下降"}}]
    assert con.execute("SELECT attempts FROM meta.outbox WHERE id = ?", [item]).fetchone()[0] == 5


def test_unconfigured_smtp_leaves_item_pending(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    item = enqueue_email(con, ["a@example.cn"], "s", "t")
    result = flush(con, DeliverySettings())
    assert result.skipped == [item] and result.pending == 1
    assert con.execute("SELECT status, attempts FROM meta.outbox").fetchone() == ("pending", 0)


def test_settings_file_and_environment(tmp_path: Path):
    cfg = tmp_path / "delivery.toml"
    cfg.write_text('[smtp]\nhost = "mail.local"\nto = ["x@a.cn"]\n[webhook]\nflavour = "wecom"\n', encoding="utf-8")
    s = load_settings(cfg, env={"CLUSTERWATCH_SMTP_PORT": "2525", "CLUSTERWATCH_SMTP_TO": "p@a.cn, q@a.cn"})
    assert (s.smtp_host, s.smtp_port, s.smtp_to, s.webhook_flavour) == ("mail.local", 2525, ("p@a.cn", "q@a.cn"),
                                                                         "wecom")
    assert robot_markdown("t", "x", "wecom") == {"msgtype": "markdown", "markdown": {"content": "**t**\nx"}}
