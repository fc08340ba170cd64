"""Alert stage on the sample warehouse: each planted event raises exactly its alert, quiet months stay quiet."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import unicodedata
from html import unescape

import duckdb
import pytest

from flows.cli import main
from flows.stages.s10_alerts import evaluate_alerts
from flows.stages.s12_deliver import DeliverySettings
from flows.support.settings import SAMPLE_DIR

# The rule and first month each planted event must raise (events.csv): a TTM rate needs until 2025-08
# to fall 5 points below its value 3 months earlier; the others show in the event month itself.
EXPECTED = {
    "local_supply_drop": ("local_supporting_rate_drop", 1),
    "unit_switch_x10": ("data_drift", 0),
    "reporting_gap": ("reporting_gap", 0),
    "distribution_shift": ("data_drift", 0),
}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, sample_warehouse):
    """The sample warehouse as the nightly flow left it, with the alert stage run again from scratch."""
    work = tmp_path_factory.mktemp("alerts")
    db = work / "clusterwatch.duckdb"
    shutil.copyfile(sample_warehouse.warehouse, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM mart.alerts; DELETE FROM mart.drift_results; DELETE FROM mart.alert_conditions; "
                "DELETE FROM meta.outbox")
    settings = DeliverySettings(smtp_to=("analyst@example.cn",), webhook_url="http://127.0.0.1:9/robot")
    summary = evaluate_alerts(con, reports_dir=work / "reports", settings=settings)
    yield con, summary, settings, work
    con.close()


def test_the_stage_runs_duckdb_on_one_thread_and_gives_its_threads_back(sample_warehouse, tmp_path, monkeypatch):
    from flows.stages import s09_drift

    db = tmp_path / "clusterwatch.duckdb"
    shutil.copyfile(sample_warehouse.warehouse, db)
    seen = []
    run = s09_drift.run

    def watched(con, *args, **kwargs):
        seen.append(con.execute("SELECT current_setting('threads')").fetchone()[0])
        return run(con, *args, **kwargs)

    monkeypatch.setattr(s09_drift, "run", watched)
    with duckdb.connect(str(db)) as con:
        con.execute("SET threads = 3")
        evaluate_alerts(con, reports_dir=tmp_path / "reports", settings=DeliverySettings())
        assert seen == [1] and con.execute("SELECT current_setting('threads')").fetchone()[0] == 3


def _events() -> list[dict]:
    with open(SAMPLE_DIR / "truth" / "events.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_each_planted_event_raises_exactly_its_alert(evaluated):
    con, summary, _, _ = evaluated
    for event in _events():
        rule, lag = EXPECTED[event["event"]]
        start = dt.date.fromisoformat(event["period"])
        start = dt.date(start.year + (start.month + lag - 1) // 12, (start.month + lag - 1) % 12 + 1, 1)
        got = con.execute("SELECT period FROM mart.alerts WHERE rule = ? AND cluster_id = ?",
                          [rule, event["cluster_id"]]).fetchall()
        assert got == [(start,)], (event["event"], got)


def test_no_drift_alert_without_planted_event_and_false_alarm_rate(evaluated):
    con, _, _, _ = evaluated
    drift = con.execute("SELECT cluster_id, period FROM mart.alerts WHERE rule = 'data_drift'").fetchall()
    planted = {(e["cluster_id"], dt.date.fromisoformat(e["period"])) for e in _events()
               if EXPECTED[e["event"]][0] == "data_drift"}
    assert set(drift) == planted
    tested = con.execute("SELECT count(DISTINCT (cluster_id, period)) FROM mart.drift_results").fetchone()[0]
    quiet = tested - len(planted)
    print(f"\ndrift: {tested} cluster-months tested over "
          f"{con.execute('SELECT count(DISTINCT period) FROM mart.drift_results').fetchone()[0]} months, "
          f"false alarms {len(set(drift) - planted)}/{quiet} = {len(set(drift) - planted) / quiet:.2%}")


def test_unit_switch_is_visible_in_evidence(evaluated):
    from flows.stages.s10_alerts import cluster_names, config, message_values, render_message

    con, *_ = evaluated
    (period, evidence) = con.execute(
        "SELECT period, evidence FROM mart.alerts WHERE rule = 'data_drift' AND cluster_id = 'JH_BIKE'").fetchone()
    start = json.loads(evidence)["start"]
    assert int(start["n_unit_jump_x10"]) >= 10
    # The message as the alert read when it was raised (its first month current), e.g. in that night's digest.
    names = cluster_names(con)["JH_BIKE"]
    zh, en = (render_message(config()["rules"]["data_drift"], lang, message_values("data_drift", "JH_BIKE", period,
                                                                                 start, lang), name)
              for lang, name in zip(("zh", "en"), names, strict=True))
    assert f"{start['n_unit_jump_x10']}家企业数值约为此前的10倍" in zh and "about 10 times their earlier" in en


def test_rerun_does_not_duplicate_or_resend(evaluated):
    con, summary, settings, work = evaluated
    before = con.execute("SELECT alert_id, status FROM mart.alerts ORDER BY 1").fetchall()
    outbox = con.execute("SELECT count(*) FROM meta.outbox").fetchone()[0]
    again = evaluate_alerts(con, reports_dir=work / "reports", settings=settings)
    assert con.execute("SELECT alert_id, status FROM mart.alerts ORDER BY 1").fetchall() == before
    assert con.execute("SELECT count(*) FROM meta.outbox").fetchone()[0] == outbox and again.outbox_ids == []
    # only the latest month's new/resolved alerts were queued on the first evaluation
    assert all(a.period == summary.latest for a in summary.new)
    assert {a.resolved_period for a in summary.resolved} <= {summary.latest}


def test_history_episodes_have_their_own_months_and_status(evaluated):
    con, summary, _, _ = evaluated
    rows = dict(con.execute("SELECT rule || ':' || subject, status FROM mart.alerts").fetchall())
    assert rows["data_drift:WX_IC"] == "resolved" and rows["local_supporting_rate_drop:CS_CM"] == "ongoing"
    assert summary.drift.html and all(p.exists() for p in summary.drift.html)
    comments = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'mart' AND table_name = "
                           "'alerts' AND (comment IS NULL OR comment = '')").fetchone()[0]
    assert comments == 0


def test_alerts_command_prints_table(evaluated, capsys):
    con, _, _, work = evaluated
    con.execute("CHECKPOINT")
    copy = work / "readonly.duckdb"
    shutil.copyfile(work / "clusterwatch.duckdb", copy)
    assert main(["alerts", "--warehouse", str(copy), "--status", "ongoing"]) == 0
    out = capsys.readouterr().out
    assert "CS_CM" in out and "1 alerts" in out


def _state_messages(lines: list[str]) -> list[tuple[str, str]]:
    """(state, message) from listing lines 【持续】预警｜本地配套率下降：<message>; NFKC undoes the full-width
    forms the robot's markdown escaping writes for ASCII punctuation in names."""
    out = []
    for line in (unicodedata.normalize("NFKC", x) for x in lines):
        match = re.match(r"^(?:- )?【(新增|持续|解除)】[^|]+\|[^:]+:(.*)$", line)
        if match:
            out.append((match.group(1), match.group(2)))
    return out


def test_report_digest_and_cli_list_the_same_alerts_with_current_values(evaluated, capsys, tmp_path):
    from flows.stages.s11_report import render_report

    con, summary, _, work = evaluated
    con.execute("CHECKPOINT")
    copy = tmp_path / "readonly.duckdb"
    shutil.copyfile(work / "clusterwatch.duckdb", copy)
    latest = summary.latest

    assert main(["alerts", "--warehouse", str(copy), "--period", f"{latest:%Y-%m}"]) == 0
    cli = _state_messages(capsys.readouterr().out.splitlines())

    (payload,) = con.execute("SELECT payload->>'$.text' FROM meta.outbox WHERE channel = 'email'").fetchone()
    digest = _state_messages(payload.splitlines())
    (robot,) = con.execute("SELECT payload->>'$.markdown.text' FROM meta.outbox WHERE channel = 'webhook'").fetchone()
    assert _state_messages(robot.splitlines()) == digest
    assert "《产业集群运行监测月报》" in payload

    html = render_report(copy, latest, lang="zh", audience="internal", out_dir=tmp_path / "r", pdf=False) \
        .html.read_text(encoding="utf-8")
    table = html[html.index('id="alerts-table"'):html.index("</table>", html.index('id="alerts-table"'))]
    rows = [re.findall(r'<td class="text">(.*?)</td>', row, re.S)
            for row in re.findall(r"<tr data-state.*?</tr>", table, re.S)]
    report = [(cells[0].replace("已解除", "解除"), unicodedata.normalize("NFKC", unescape(cells[4])))
              for cells in rows]

    assert cli == digest == report
    states = {state for state, _ in cli}
    assert {"持续", "解除"} <= states           # the sample's December: CS_CM ongoing, ND_LIB resolved
    ongoing = next(m for s, m in cli if s == "持续" and "长沙" in m)
    current = con.execute("SELECT value FROM mart.cluster_indicators WHERE cluster_id = 'CS_CM' AND period = ? "
                          "AND indicator = 'local_supporting_rate'", [latest]).fetchone()[0]
    # the current value, not the first month's
    assert f"{latest.year}年{latest.month}月为{current:.1%}" in unicodedata.normalize("NFKC", ongoing)


# What an evaluation leaves behind, without the run timestamps: alerts, stored conditions, drift scores, notices.
STATE = {
    "alerts": "SELECT * EXCLUDE (first_seen, last_seen, resolved_at, delivered_at, resolved_delivered_at) "
              "FROM mart.alerts ORDER BY alert_id",
    "conditions": "SELECT * FROM mart.alert_conditions ORDER BY rule, subject, period",
    "drift": "SELECT * EXCLUDE (computed_at) FROM mart.drift_results ORDER BY ALL",
    "outbox": "SELECT channel, recipient, subject, payload FROM meta.outbox ORDER BY id",
}


def test_incremental_alerts_after_revising_an_old_month_equal_a_full_evaluation(sample_warehouse, tmp_path):
    """A night that revises 2024-03 (firms of HF_AI withdrawn, SZ_EI's money and energy ×10) evaluates again
    only the months that revision reaches, and leaves the same alerts, conditions, drift scores and notices as
    evaluating every month does."""
    from flows.stages.s07_indicators import update_indicators
    from flows.support.warehouse import query_one

    revised = dt.date(2024, 3, 1)
    base = tmp_path / "revised.duckdb"
    shutil.copyfile(sample_warehouse.warehouse, base)
    with duckdb.connect(str(base)) as con:
        before = con.execute("SELECT count(*) FROM mart.alert_conditions WHERE period = ? AND active",
                             [revised]).fetchone()[0]
        run_id = query_one(con, "run_start", {"inbox": "revision", "release": "test"})
        con.execute("DELETE FROM core.firm_monthly WHERE period = ? AND uscc IN "
                    "(SELECT uscc FROM core.firms WHERE cluster_id = 'HF_AI' AND hash(uscc) % 5 < 2)", [revised])
        con.execute("UPDATE core.firm_monthly SET output = output * 10, value_added = value_added * 10, "
                    "revenue = revenue * 10, profit = profit * 10, energy = energy * 10, rd_expense = rd_expense * 10 "
                    "WHERE period = ? AND uscc IN (SELECT uscc FROM core.firms WHERE cluster_id = 'SZ_EI')", [revised])
        con.execute("INSERT INTO meta.changes VALUES (?, 'monthly', ?)", [run_id, revised])
        recomputed = update_indicators(con, {revised})
    settings = DeliverySettings(smtp_to=("analyst@example.cn",), webhook_url="http://127.0.0.1:9/robot")
    state, evaluated = {}, {}
    for mode, periods in (("incremental", recomputed), ("full", None)):
        db = tmp_path / f"{mode}.duckdb"
        shutil.copyfile(base, db)
        with duckdb.connect(str(db)) as con:
            summary = evaluate_alerts(con, reports_dir=tmp_path / mode, settings=settings, recomputed=periods)
            evaluated[mode] = summary.evaluated
            state[mode] = {name: con.execute(query).fetchall() for name, query in STATE.items()}
    months = evaluated["incremental"]
    assert evaluated["full"] is None
    assert revised in months and dt.date(2024, 4, 1) in months and dt.date(2025, 3, 1) in months
    assert min(months) == revised and len(months) < 36
    # the revision shows: a reporting-gap episode, SZ_EI's ×10 firms in the drift evidence, more conditions holding
    assert ("reporting_gap", "HF_AI", revised) in {(r[1], r[2], r[4]) for r in state["incremental"]["alerts"]}
    (drift_evidence,) = [json.loads(r[8]) for r in state["incremental"]["conditions"]
                         if r[:2] == ("data_drift", "SZ_EI") and r[3] == revised]
    assert drift_evidence["n_unit_jump_x10"] > 200
    assert sum(1 for r in state["incremental"]["conditions"] if r[3] == revised and r[4]) > before
    for name in STATE:
        assert state["incremental"][name] == state["full"][name], name
