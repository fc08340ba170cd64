"""The nightly flow end to end on a small hand-made inbox: accounting, failures, re-runs, revisions."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import smtp_on_loopback

from flows.nightly import nightly
from flows.support import file_hashes
from flows.support.file_hashes import load_record, record_for
from flows.support.uscc import uscc_check_char

LEADER = "91130609MA0000001X"
SUPPLIER = "91130609MA00000021"
STRANGER = "91130609MA0000003" + uscc_check_char("91130609MA0000003")

CLUSTERS = """集群编码,集群名称,省份,城市,行政区划代码,领域,主导产业,级别,经度,纬度,本地范围
XS01,保定徐水汽车及零部件集群,河北省,保定市,130609,汽车,汽车及零部件,省级,115.65,39.02,county
"""
FIRMS = f"""统一社会信用代码,企业名称,集群编码,行政区划代码,是否链主,是否规上,用地面积(平方米)
{LEADER},长城汽车徐水分公司,XS01,130609,是,是,666666.67
{SUPPLIER},徐水配套一厂,XS01,130609,否,是,
"""
# Row 4 has an impossible month; row 5 a firm that is not in the registry.
MONTHLY_FEB = f"""统一社会信用代码,统计期,口径,工业总产值（千元）,从业人员平均人数
{LEADER},2025年1-2月,累计,"12,000",800
{SUPPLIER},2025年1-2月,累计,3000,50
{SUPPLIER},2025年13月,当月,3000,50
{STRANGER},2025年1-2月,累计,1000,10
"""
# Row 3: a negative output, corrected later by a revision file.
MONTHLY_MAR = f"""uscc,period,basis,output
{LEADER},2025-03,累计,1800
{SUPPLIER},2025-03,当月,-100
"""


def write_inbox(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clusters_2025.csv").write_text(CLUSTERS, encoding="utf-8")
    (folder / "firms_2025.csv").write_text(FIRMS, encoding="utf-8-sig")
    (folder / "monthly_2025-02.csv").write_text(MONTHLY_FEB, encoding="gb18030")
    (folder / "monthly_2025-03.csv").write_text(MONTHLY_MAR, encoding="utf-8")
    (folder / "tax_memo.csv").write_text("这是一份说明，不是表格。\n", encoding="utf-8")
    return folder


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def night(tmp_path_factory, prefect_harness):
    """One night on the hand-made inbox, delivering to a real SMTP server on loopback."""
    root = tmp_path_factory.mktemp("night")
    inbox = write_inbox(root / "inbox")
    warehouse = root / "wh" / "clusterwatch.duckdb"
    with smtp_on_loopback() as (controller, mailbox), pytest.MonkeyPatch.context() as env:
        env.setenv("CLUSTERWATCH_SMTP_HOST", "127.0.0.1")
        env.setenv("CLUSTERWATCH_SMTP_PORT", str(controller.port))
        env.setenv("CLUSTERWATCH_SMTP_TO", "jingxinting@example.cn")
        summary = nightly(inbox=inbox, warehouse=warehouse, reports=root / "reports")
    summary.mailbox = mailbox
    return root, inbox, warehouse, summary


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_row_is_loaded_or_quarantined_and_accounted_per_file(night):
    _, _, warehouse, summary = night
    files = query(warehouse, "SELECT file_name, status, rows_in, rows_loaded, rows_quarantined FROM meta.files "
                             "ORDER BY file_name")
    assert [(f[0], f[1]) for f in files] == [
        ("clusters_2025.csv", "loaded"), ("firms_2025.csv", "loaded"), ("monthly_2025-02.csv", "loaded"),
        ("monthly_2025-03.csv", "loaded"), ("tax_memo.csv", "failed")]
    feb = next(f for f in files if f[0] == "monthly_2025-02.csv")
    assert feb[2:] == (4, 2, 2)
    assert summary.rows_loaded == 1 + 2 + 2 + 1


def test_bad_rows_are_quarantined_with_file_row_column_value_and_rule(night):
    _, _, warehouse, _ = night
    rows = query(warehouse, "SELECT file_name, row_number, column_name, value, rule, original->>'统计期', message "
                            "FROM quarantine.rows ORDER BY row_number")
    assert sorted(r[:5] for r in rows) == [
        ("monthly_2025-02.csv", 4, "period", "2025年13月", "unparsable_period"),
        ("monthly_2025-02.csv", 5, "uscc", STRANGER, "unknown_firm"),
        ("monthly_2025-03.csv", 3, "output", "-100", "negative_value")]
    unparsable = next(r for r in rows if r[4] == "unparsable_period")
    assert unparsable[5] == "2025年13月"  # the original row is kept as delivered
    assert "第4行" in unparsable[6]


def test_an_unreadable_file_is_landed_and_marked_failed(night):
    root, inbox, warehouse, _ = night
    status, reason, landed = query(warehouse, "SELECT status, reason, landed_path FROM meta.files "
                                              "WHERE file_name = 'tax_memo.csv'")[0]
    assert status == "failed" and reason.startswith("not_a_table")
    assert sha(Path(landed)) == sha(inbox / "tax_memo.csv")


def test_units_and_year_to_date_reports_become_monthly_values(night):
    _, _, warehouse, _ = night
    rows = query(warehouse, f"SELECT period, span_months, output, employees FROM core.firm_monthly "
                            f"WHERE uscc = '{LEADER}' ORDER BY period")
    # 12,000 千元 = 1,200 万元 for Jan–Feb; March 累计 1,800 → 600 in March.
    assert rows == [(date(2025, 2, 1), 2, 1200.0, 800.0), (date(2025, 3, 1), 1, 600.0, None)]
    land = query(warehouse, f"SELECT land_area FROM core.firms WHERE uscc = '{LEADER}'")[0][0]
    assert land == pytest.approx(1000.0, rel=1e-6)


def test_the_night_renders_the_monthly_report_and_mails_it_with_the_pdf(night):
    _, _, warehouse, summary = night
    [report] = summary.reports
    assert report.period == date(2025, 3, 1) and report.pdf.stat().st_size > 10_000
    [(recipients, message)] = [m for m in summary.mailbox.messages if "监测月报" in m[1]["Subject"]]
    assert recipients == ["jingxinting@example.cn"]
    assert report.pdf.name in {part.get_filename() for part in message.walk()}
    statuses = query(warehouse, "SELECT status, count(*) FROM meta.outbox GROUP BY ALL")
    assert statuses == [("sent", len(summary.mailbox.messages))]


def test_when_both_validation_engines_agree_the_night_reports_no_problem(night):
    _, _, warehouse, summary = night
    assert summary.validation_problems == []
    assert query(warehouse, "SELECT status FROM meta.runs") == [("succeeded",)]
    assert query(warehouse, "SELECT count(*) FROM meta.validation_problems") == [(0,)]
    assert "data-problem" not in summary.reports[0].html.read_text(encoding="utf-8")


def test_a_verdict_gx_does_not_confirm_is_an_error_of_the_night(tmp_path, prefect_harness, monkeypatch, capsys):
    """A wrong polars compile of one rule (negative output passes): GX, re-checking the rows it saw, fails row 3
    of monthly_2025-03.csv; the night's printed summary, exit status, run record and report say so."""
    import argparse

    import polars as pl

    import flows.stages.s05_validate as validate
    from flows.cli import cmd_run

    real = validate.fail_expr
    monkeypatch.setattr(validate, "fail_expr", lambda r, frame, params: pl.lit(False) if (
        r.rule, r.column) == ("negative_value", "output") else real(r, frame, params))
    warehouse, reports = tmp_path / "wh" / "clusterwatch.duckdb", tmp_path / "reports"
    args = argparse.Namespace(inbox=write_inbox(tmp_path / "inbox"), warehouse=warehouse, reports=reports,
                              workers=0, dask=None)
    assert cmd_run(args) == 1
    out = capsys.readouterr()
    assert "ERROR      monthly_2025-03.csv: rule negative_value (expect_column_values_to_be_between on output) " \
           "engines_disagree" in out.out and "(rows 3)" in out.out
    assert "polars and Great Expectations disagree" in out.err
    assert query(warehouse, "SELECT status FROM meta.runs") == [("engines_disagree",)]
    assert query(warehouse, "SELECT file_name, rule, severity, only_gx, example_rows FROM meta.validation_problems"
                 ) == [("monthly_2025-03.csv", "negative_value", "error", 1, "3")]
    [html] = (reports / "reports").glob("*/report_*_zh_internal.html")
    text = html.read_text(encoding="utf-8")
    assert 'data-problem="engines_disagree"' in text and "monthly_2025-03.csv" in text and "（行 3）" in text


def test_running_the_same_inbox_again_changes_nothing(night):
    _, inbox, warehouse, _ = night
    before = sha(warehouse)
    again = nightly(inbox=inbox, warehouse=warehouse, reports=warehouse.parent / "reports")
    assert again.run_id is None and again.outcomes == []
    assert sha(warehouse) == before


def test_a_night_reuses_the_hashes_it_recorded_and_lands_a_file_rewritten_in_place(night, tmp_path, monkeypatch):
    """flows.support.file_hashes through the flow: the record a night writes is read by the next, which still sees
    a file rewritten with its size and mtime kept (ctime) as new."""
    _, inbox, warehouse, _ = night
    monkeypatch.setattr(file_hashes, "RECENT_NS", 0)     # the test's files count as settled
    copy = tmp_path / "wh.duckdb"
    shutil.copyfile(warehouse, copy)
    shutil.copytree(inbox, tmp_path / "inbox")
    nothing = nightly(inbox=tmp_path / "inbox", warehouse=copy, reports=tmp_path / "reports")
    assert nothing.run_id is None
    record = load_record(record_for(tmp_path / "landing"))
    assert sorted(record) == sorted((p.stat().st_dev, p.stat().st_ino) for p in (tmp_path / "inbox").iterdir())
    memo = tmp_path / "inbox" / "tax_memo.csv"
    before = memo.stat()
    time.sleep(0.05)
    memo.write_text("这是一份备注，不是表格。\n", encoding="utf-8")      # same length as the memo it rewrites
    os.utime(memo, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (memo.stat().st_size, memo.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    summary = nightly(inbox=tmp_path / "inbox", warehouse=copy, reports=tmp_path / "reports")
    assert [o.name for o in summary.outcomes] == ["tax_memo.csv"]


def test_a_revision_replaces_the_value_and_resolves_the_quarantined_row(night, tmp_path):
    _, inbox, warehouse, _ = night
    copy = tmp_path / "wh.duckdb"
    shutil.copyfile(warehouse, copy)
    shutil.copytree(inbox, tmp_path / "inbox")
    (tmp_path / "inbox" / "monthly_2025-03_revision.csv").write_text(
        f"uscc,period,basis,output\n{SUPPLIER},2025-02,累计,350\n{SUPPLIER},2025-03,当月,100\n", encoding="utf-8")
    summary = nightly(inbox=tmp_path / "inbox", warehouse=copy, reports=tmp_path / "reports")
    assert [o.name for o in summary.outcomes] == ["monthly_2025-03_revision.csv"]
    rows = query(copy, f"SELECT period, output FROM core.firm_monthly WHERE uscc = '{SUPPLIER}' ORDER BY period")
    assert rows == [(date(2025, 2, 1), 350.0), (date(2025, 3, 1), 100.0)]
    history = query(copy, f"SELECT count(*) FROM history.reported_values WHERE uscc = '{SUPPLIER}' "
                          "AND measure = 'output' AND period = DATE '2025-02-01'")
    assert history == [(2,)]
    status = query(copy, "SELECT status, resolved_by_file_id IS NOT NULL FROM quarantine.rows "
                         "WHERE rule = 'negative_value'")
    assert status == [("resolved", True)]


def test_clusterwatch_run_from_the_command_line_prints_where_everything_went(tmp_path):
    """The acceptance entry point, in its own process with its own temporary Prefect server."""
    import os
    import subprocess
    import sys

    inbox = write_inbox(tmp_path / "inbox")
    warehouse = tmp_path / "wh" / "clusterwatch.duckdb"
    cmd = [str(Path(sys.executable).with_name("clusterwatch")), "run", "--inbox", str(inbox),
           "--warehouse", str(warehouse), "--reports", str(tmp_path / "reports")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    lines = dict(line.split(None, 1) for line in first.stdout.splitlines() if line[:1].strip())
    assert lines["warehouse"].strip() == str(warehouse)
    assert lines["rows"].startswith("6 loaded, 3 quarantined")
    assert "tax_memo.csv" in lines["failed"]
    assert Path(lines["report"].strip()).is_file() and Path(lines["checks"].strip()).is_file()
    assert query(warehouse, "SELECT count(*) FROM core.firm_monthly")[0][0] > 0

    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0 and "nothing new" in again.stdout


def test_a_failing_stage_waits_for_great_expectations_and_publishes_nothing(tmp_path, prefect_harness,
                                                                             monkeypatch):
    """GX runs beside the later stages on the building copy; a failing stage must not drop that copy
    from under it, and nothing is published."""
    import time

    import flows.nightly as night_module
    from flows.stages.s05_validate import ValidationSession

    finished = []
    real_finish = ValidationSession.finish

    def slow_finish(self, con, run_id, pool=None):
        time.sleep(1.5)                         # GX is still busy when the indicator stage fails
        out = real_finish(self, con, run_id, pool)
        finished.append(run_id)
        return out

    def broken(*args, **kwargs):
        raise RuntimeError("indicator stage failed")

    monkeypatch.setattr(ValidationSession, "finish", slow_finish)
    monkeypatch.setattr(night_module, "update_indicators", broken)
    warehouse = tmp_path / "wh" / "clusterwatch.duckdb"
    with pytest.raises(RuntimeError, match="indicator stage failed"):
        nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=warehouse, reports=tmp_path / "reports")
    assert finished == [1]
    assert not warehouse.exists() and not warehouse.with_name("clusterwatch.duckdb.building").exists()


def test_a_map_that_fails_to_draw_in_the_night_worker_fails_the_night_in_the_snapshot_stage(tmp_path,
                                                                                             prefect_harness,
                                                                                             monkeypatch):
    """The snapshot's files are drawn in the night's worker process beside the alert stage: a drawing that fails
    there (its folder cannot be made: a file is in the way) fails the night, named as the snapshot stage's failure
    with the path, and nothing is published."""
    import flows.nightly as night_module

    failed = []
    monkeypatch.setattr(night_module, "_notify_failure", lambda summary: failed.append(summary))
    monkeypatch.setenv("CLUSTERWATCH_TASK_RETRIES", "0")
    in_the_way = tmp_path / "reports" / "maps" / "2025-03"       # the latest month's map folder
    in_the_way.parent.mkdir(parents=True)
    in_the_way.write_text("not a folder", encoding="utf-8")
    warehouse = tmp_path / "wh" / "clusterwatch.duckdb"
    with pytest.raises(FileExistsError):
        nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=warehouse, reports=tmp_path / "reports")
    [summary] = failed
    assert summary.stage == "snapshot" and str(in_the_way) in summary.error
    assert not warehouse.exists() and not warehouse.with_name("clusterwatch.duckdb.building").exists()
    # the report was never laid out: its edition and trend charts are begun before the alert stage, its HTML and
    # PDF only in the report stage
    assert not [*(tmp_path / "reports").rglob("report_*.html"), *(tmp_path / "reports").rglob("report_*.pdf")]


def test_the_reports_editions_are_begun_beside_the_alert_stage(tmp_path, prefect_harness, monkeypatch):
    """The report's editions (what the alert stage does not write) are begun in a thread of their own while the
    alert stage runs, not before it on the night's path: here the beginning waits until the alert stage has run,
    which only a beginning beside it can do."""
    import threading

    import flows.nightly as night_module

    alerts_ran, begun_after = threading.Event(), []
    evaluate, begin = night_module.evaluate_alerts, night_module.begin_reports

    def evaluate_then_tell(*args, **kwargs):
        out = evaluate(*args, **kwargs)
        alerts_ran.set()
        return out

    def begin_once_the_alerts_ran(*args, **kwargs):
        begun_after.append(alerts_ran.wait(timeout=120))
        return begin(*args, **kwargs)

    monkeypatch.setattr(night_module, "evaluate_alerts", evaluate_then_tell)
    monkeypatch.setattr(night_module, "begin_reports", begin_once_the_alerts_ran)
    monkeypatch.setenv("CLUSTERWATCH_TASK_RETRIES", "0")
    summary = nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=tmp_path / "wh" / "clusterwatch.duckdb",
                      reports=tmp_path / "reports")
    assert begun_after == [True]
    assert [f.pdf.name for f in summary.reports] == ["report_2025-03_zh_internal.pdf"]
