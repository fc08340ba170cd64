"""Outbox delivery against a real SMTP server (aiosmtpd) and a real HTTP server, including a failing one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from conftest import schema_warehouse

from flows.stages.s12_deliver import (
    ROBOT_LIMITS,
    DeliverySettings,
    SentLog,
    enqueue_email,
    enqueue_webhook,
    flush,
    load_settings,
    robot_markdown,
)


def warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to a warehouse at the current schema (as a night's building copy is)."""
    return schema_warehouse(path)

@pytest.fixture
def http_server():
    """A robot endpoint; `fail` answers HTTP 500 that many times before it accepts; `errcode` answers HTTP
    200 with that error code; `drip` sends the body one byte per second for that many seconds."""
    state = {"fail": 0, "received": [], "paths": [], "errcode": 0, "drip": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server hook name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["paths"].append(self.path)
            if state["drip"]:
                self.send_response(200)
                self.send_header("Content-Length", str(state["drip"]))
                self.end_headers()
                for _ in range(state["drip"]):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
                return
            if state["fail"] > 0:
                state["fail"] -= 1
                self.send_response(500)
                self.end_headers()
                return
            state["received"].append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"errcode": state["errcode"], "errmsg": "ok"}).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the serving loop's next poll: 0.5 s by default, at every test's teardown
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/robot/send?access_token=t", state
    server.shutdown()
    server.server_close()


def test_email_with_attachment_is_sent(tmp_path: Path, smtp_server):
    controller, inbox = smtp_server
    con = warehouse(tmp_path / "w.duckdb")
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
    con = warehouse(tmp_path / "w.duckdb")
    item = enqueue_webhook(con, "robot", robot_markdown("集群预警", "- CS_CM 本地配套率下降", "dingtalk"))
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
    con = warehouse(tmp_path / "w.duckdb")
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


def test_the_outbox_stores_a_robot_channel_name_never_its_url_or_token(tmp_path: Path, http_server):
    url, state = http_server
    con = warehouse(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="channel name"):
        enqueue_webhook(con, url, robot_markdown("t", "x"))
    enqueue_webhook(con, "robot", robot_markdown("t", "x"))
    assert flush(con, DeliverySettings(webhook_url=url)).pending == 0
    dump = json.dumps(con.execute("SELECT * FROM meta.outbox").fetchall(), default=str)
    assert "access_token" not in dump and "127.0.0.1" not in dump
    assert len(state["received"]) == 1


def test_a_robot_answering_200_with_an_error_code_is_a_failed_send(tmp_path: Path, http_server):
    url, state = http_server
    state["errcode"] = 310000       # DingTalk: keywords / signature mismatch
    con = warehouse(tmp_path / "w.duckdb")
    item = enqueue_webhook(con, "robot", robot_markdown("t", "x"))
    result = flush(con, DeliverySettings(webhook_url=url, retry_attempts=1))
    assert result.failed == [item]
    status, error = con.execute("SELECT status, last_error FROM meta.outbox").fetchone()
    assert status == "failed" and "310000" in error


def test_dingtalk_signed_robots_get_timestamp_and_hmac_signature(tmp_path: Path, http_server):
    url, state = http_server
    secret = "SEC0123456789abcdef"
    con = warehouse(tmp_path / "w.duckdb")
    enqueue_webhook(con, "robot", robot_markdown("t", "x"))
    flush(con, DeliverySettings(webhook_url=url, webhook_secret=secret))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(state["paths"][0]).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert sign == expected and query["access_token"] == ["t"]
    assert abs(int(timestamp) / 1000 - time.time()) < 60


@pytest.mark.parametrize("flavour", ["wecom", "dingtalk"])
def test_robot_messages_are_cut_to_the_platform_limit(flavour):
    message = robot_markdown("集群预警", "- 某集群本地配套率下降\n" * 2000, flavour)
    body = message["markdown"].get("content") or message["markdown"]["text"]
    assert len(body.encode("utf-8")) <= ROBOT_LIMITS[flavour]
    assert body.endswith("truncated, see the e-mail or report）")


def test_a_dripping_endpoint_costs_one_send_deadline_and_a_silent_night_is_capped(tmp_path: Path, http_server):
    url, state = http_server
    state["drip"] = 30                      # 30 s of one byte a second: every read is within its timeout
    con = warehouse(tmp_path / "w.duckdb")
    items = [enqueue_webhook(con, "robot", robot_markdown(f"t{i}", "x")) for i in range(4)]
    settings = DeliverySettings(webhook_url=url, retry_attempts=1, send_deadline_s=2, night_deadline_s=3)
    started = time.monotonic()
    result = flush(con, settings)
    assert time.monotonic() - started < 8
    assert result.failed == items[:2] and result.skipped == items[2:] and result.pending == 4
    assert "no answer within 2 s" in con.execute("SELECT last_error FROM meta.outbox WHERE id = ?",
                                                  [items[0]]).fetchone()[0]


def test_a_message_sent_before_a_crash_is_not_sent_again_from_the_discarded_copy(tmp_path: Path, smtp_server):
    controller, inbox = smtp_server
    published = tmp_path / "w.duckdb"
    con = warehouse(published)
    enqueue_email(con, ["a@example.cn"], "月报 2025-12", "正文")
    con.close()
    building = tmp_path / "w.duckdb.building"
    shutil.copyfile(published, building)
    log = SentLog(tmp_path / "w.duckdb.sent.jsonl")
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=controller.port)
    with duckdb.connect(str(building)) as night:
        assert len(flush(night, settings, log=log).sent) == 1
    building.unlink()                       # the night died before publishing: its sent mark is gone
    with duckdb.connect(str(published)) as rerun:
        again = flush(rerun, settings, log=log)
        assert again.sent == [] and again.pending == 0
        assert rerun.execute("SELECT status FROM meta.outbox").fetchone()[0] == "sent"
    assert len(inbox.messages) == 1


def test_a_read_only_flush_sends_and_logs_without_writing_the_warehouse(tmp_path: Path, smtp_server):
    from flows.stages.s12_deliver import flush_published

    controller, inbox = smtp_server
    published = tmp_path / "w.duckdb"
    with warehouse(published) as con:
        enqueue_email(con, ["a@example.cn"], "s", "t")
    before = published.read_bytes()
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=controller.port)
    assert len(flush_published(published, settings).sent) == 1
    assert flush_published(published, settings).sent == []          # the log remembers it
    assert published.read_bytes() == before and len(inbox.messages) == 1


def test_the_same_message_queued_twice_is_sent_once(tmp_path: Path, smtp_server):
    controller, inbox = smtp_server
    con = warehouse(tmp_path / "w.duckdb")
    first = enqueue_email(con, ["a@example.cn"], "预警 2025-12", "正文")
    twin = enqueue_email(con, ["a@example.cn"], "预警 2025-12", "正文")
    result = flush(con, DeliverySettings(smtp_host="127.0.0.1", smtp_port=controller.port),
                   log=SentLog(tmp_path / "sent.jsonl"))
    assert result.sent == [first] and result.pending == 0 and len(inbox.messages) == 1
    assert con.execute("SELECT status FROM meta.outbox WHERE id = ?", [twin]).fetchone() == ("sent",)
