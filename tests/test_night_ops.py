"""What a night tells its operators: a Prefect artifact summarising it, a failure notice through the
configured channels when it fails, and stage retries that ride out a transient failure."""

from __future__ import annotations

import pytest
from conftest import smtp_on_loopback
from test_nightly import write_inbox

import flows.nightly as night_module
from flows.nightly import nightly


def summary_artifacts() -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["nightly-summary"])))
    return [a.data for a in found]


def test_every_night_leaves_a_markdown_summary_artifact(tmp_path, prefect_harness):
    inbox = write_inbox(tmp_path / "inbox")
    nightly(inbox=inbox, warehouse=tmp_path / "wh" / "cw.duckdb", reports=tmp_path / "reports")
    nightly(inbox=inbox, warehouse=tmp_path / "wh" / "cw.duckdb", reports=tmp_path / "reports")
    texts = [t for t in summary_artifacts() if str(inbox) in t]
    published = next(t for t in texts if "published" in t)
    assert "| monthly_2025-02.csv | loaded | 4 | 2 | 2 |" in published
    assert "| tax_memo.csv | failed |" in published and "| unparsable_period | 1 |" in published
    assert "- report: `" in published
    assert any("nothing new" in t for t in texts)




def test_a_failed_night_sends_a_notice_by_mail_and_robot_naming_stage_and_error(tmp_path, prefect_harness,
                                                                                 monkeypatch, robot):
    url, posts = robot

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(night_module, "update_indicators", broken)
    monkeypatch.setenv("CLUSTERWATCH_TASK_RETRIES", "1")
    monkeypatch.setenv("CLUSTERWATCH_WEBHOOK_URL", url)
    with smtp_on_loopback() as (controller, mailbox):
        monkeypatch.setenv("CLUSTERWATCH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CLUSTERWATCH_SMTP_PORT", str(controller.port))
        monkeypatch.setenv("CLUSTERWATCH_SMTP_TO", "ops@example.cn")
        with pytest.raises(RuntimeError, match="disk on fire"):
            nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=tmp_path / "wh" / "cw.duckdb",
                    reports=tmp_path / "reports")
    [(recipients, message)] = mailbox.messages
    body = message.get_body(("plain",)).get_content()
    assert recipients == ["ops@example.cn"] and "nightly run failed: indicators" in message["Subject"]
    assert "RuntimeError: disk on fire" in body and str(tmp_path / "wh" / "cw.duckdb") in body
    [post] = posts
    assert "disk on fire" in post["markdown"]["text"]
    assert any("FAILED** in stage `indicators`" in t for t in summary_artifacts())


def test_a_stage_that_fails_once_is_retried_and_the_night_publishes(tmp_path, prefect_harness, monkeypatch):
    calls = []
    real = night_module.report_stage

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("chromium crashed")
        return real(*args, **kwargs)

    monkeypatch.setattr(night_module, "report_stage", flaky)
    monkeypatch.setenv("CLUSTERWATCH_TASK_RETRIES", "2")
    summary = nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=tmp_path / "wh" / "cw.duckdb",
                      reports=tmp_path / "reports")
    assert len(calls) == 2 and summary.reports and (tmp_path / "wh" / "cw.duckdb").exists()


def test_data_docs_whose_early_build_failed_are_built_again_by_the_retry(tmp_path, prefect_harness, monkeypatch):
    """The Data Docs are handed to the night's worker before the report; a build that failed there is not waited
    for again by every retry: the retry builds them anew."""
    from concurrent.futures import Future

    calls = []
    real = night_module.build_data_docs

    def failing_first(*args):
        calls.append(1)
        if len(calls) > 1:
            return real(*args)
        failed: Future = Future()
        failed.set_exception(OSError("No space left on device"))
        return failed

    monkeypatch.setattr(night_module, "build_data_docs", failing_first)
    monkeypatch.setenv("CLUSTERWATCH_TASK_RETRIES", "2")
    summary = nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=tmp_path / "wh" / "cw.duckdb",
                      reports=tmp_path / "reports")
    assert len(calls) == 2 and summary.data_docs is not None and summary.data_docs.is_file()


def test_a_file_that_breaks_the_loader_fails_alone_and_the_night_publishes(tmp_path, prefect_harness, monkeypatch):
    import duckdb

    real = night_module.loader.apply_load

    def breaks_on_march(con, run_id, file_id, name, *args, **kwargs):
        if name == "monthly_2025-03.csv":
            raise KeyError("a pipeline fault on this file")
        return real(con, run_id, file_id, name, *args, **kwargs)

    monkeypatch.setattr(night_module.loader, "apply_load", breaks_on_march)
    warehouse = tmp_path / "wh" / "cw.duckdb"
    nightly(inbox=write_inbox(tmp_path / "inbox"), warehouse=warehouse, reports=tmp_path / "reports")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        files = dict(con.execute("SELECT file_name, status || ' ' || coalesce(reason, '') FROM meta.files").fetchall())
    assert files["monthly_2025-03.csv"].startswith("failed load_failed: monthly_2025-03.csv")
    assert "KeyError" in files["monthly_2025-03.csv"]
    assert files["monthly_2025-02.csv"] == "loaded " and files["firms_2025.csv"] == "loaded "
