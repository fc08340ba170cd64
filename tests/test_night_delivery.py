"""Delivery across nights: a message that could not be sent goes out on the next night even when no file
arrived (and with `clusterwatch deliver`), and the monthly report is mailed once per period, again only
as a revision (修订版) when its numbers changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import free_port, smtp_on_loopback
from test_nightly import CLUSTERS, LEADER, SUPPLIER

from flows.nightly import nightly
from flows.support.uscc import uscc_check_char
from flows.support.warehouse import apply_schema

REPORT = "监测月报"
THIRD = "91130609MA0000004" + uscc_check_char("91130609MA0000004")


def write_inbox(folder: Path) -> Path:
    """A cluster of three firms (fewer would suppress every figure of the report)."""
    folder.mkdir(parents=True)
    (folder / "clusters_2025.csv").write_text(CLUSTERS, encoding="utf-8")
    (folder / "firms_2025.csv").write_text(
        "uscc,firm_name,cluster_id,adcode\n" + "".join(f"{u},企业{i},XS01,130609\n" for i, u in
                                                       enumerate((LEADER, SUPPLIER, THIRD))), encoding="utf-8")
    (folder / "monthly_2025-03.csv").write_text(
        "uscc,period,basis,output\n" + "".join(f"{u},2025-03,当月,{v}\n" for u, v in
                                                ((LEADER, 600), (SUPPLIER, 300), (THIRD, 200))), encoding="utf-8")
    return folder


@pytest.fixture
def mail_env(tmp_path, monkeypatch):
    """Delivery configured for one attempt per flush; returns a function pointing SMTP at a port."""
    config = tmp_path / "delivery.toml"
    config.write_text("[retry]\nattempts = 1\n", encoding="utf-8")
    monkeypatch.setenv("CLUSTERWATCH_DELIVERY_CONFIG", str(config))
    monkeypatch.setenv("CLUSTERWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CLUSTERWATCH_SMTP_TO", "jingxinting@example.cn")

    def point_at(port: int) -> None:
        monkeypatch.setenv("CLUSTERWATCH_SMTP_PORT", str(port))
    return point_at


def outbox(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT subject, status FROM meta.outbox ORDER BY id").fetchall()


def test_a_failed_mail_goes_out_on_the_next_night_without_new_files_and_reports_once_per_period(
        tmp_path, prefect_harness, mail_env):
    inbox = write_inbox(tmp_path / "inbox")
    warehouse = tmp_path / "wh" / "cw.duckdb"
    reports = tmp_path / "reports"
    mail_env(free_port())                                   # night 1: the mail server is down
    first = nightly(inbox=inbox, warehouse=warehouse, reports=reports)
    assert first.delivery.failed and [s for s, st in outbox(warehouse) if REPORT in s and st == "failed"]

    with smtp_on_loopback() as (controller, mailbox):
        mail_env(controller.port)
        before = warehouse.read_bytes()
        second = nightly(inbox=inbox, warehouse=warehouse, reports=reports)   # nothing new arrived
        assert second.run_id is None and warehouse.read_bytes() == before
        assert [m for m in mailbox.messages if REPORT in m[1]["Subject"]]
        sent_on_night_2 = len(mailbox.messages)

        # The same numbers again (a re-delivery with English headers): no second report.
        (inbox / "monthly_2025-03_again.csv").write_text(
            f"统一社会信用代码,统计期,口径,工业总产值\n{LEADER},2025-03,当月,600\n", encoding="utf-8")
        third = nightly(inbox=inbox, warehouse=warehouse, reports=reports)
        assert third.run_id is not None
        assert len(mailbox.messages) == sent_on_night_2
        assert [s for s, _ in outbox(warehouse) if REPORT in s] == [s for s, _ in outbox(warehouse)
                                                                   if REPORT in s][:1]

        # Changed numbers: the report goes out again, marked 修订版, naming what changed.
        (inbox / "monthly_2025-03_revision.csv").write_text(
            f"uscc,period,basis,output\n{THIRD},2025-03,当月,250\n", encoding="utf-8")
        nightly(inbox=inbox, warehouse=warehouse, reports=reports)
        revised = [m for _, m in mailbox.messages if REPORT in m["Subject"] and "修订版" in m["Subject"]]
        assert len(revised) == 1
        assert "第2版" in revised[0].get_body(("plain",)).get_content()
        assert "保定徐水汽车及零部件集群" in revised[0].get_body(("plain",)).get_content()
        assert len(mailbox.messages) >= sent_on_night_2 + 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT edition FROM meta.report_editions ORDER BY edition").fetchall() == [(1,), (2,)]


def test_clusterwatch_deliver_sends_what_the_outbox_holds(tmp_path, mail_env):
    from flows.stages.s12_deliver import enqueue_email

    warehouse = tmp_path / "cw.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        apply_schema(con)
        enqueue_email(con, ["a@example.cn"], "预警 2025-12", "正文")
    cmd = [str(Path(sys.executable).with_name("clusterwatch")), "deliver", "--warehouse", str(warehouse)]
    with smtp_on_loopback() as (controller, mailbox):
        mail_env(controller.port)
        result = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)
        assert result.returncode == 0, result.stderr
        assert "1 sent" in result.stdout and len(mailbox.messages) == 1
        again = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)
        assert "0 sent" in again.stdout and len(mailbox.messages) == 1
    missing = subprocess.run([*cmd[:2], "--warehouse", str(tmp_path / "nope.duckdb")], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
