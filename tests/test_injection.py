"""Hostile text in every name field stays text in every output.

Payloads go in through the names a bureau file can carry (cluster, firm, platform names, platform level,
city, leading industry, file names) and come out checked where they land: Data Docs pages, the offline map
and the report opened in headless Chromium (no script runs: the title is unchanged, no element the payload
would create exists, the page still draws), the robot message as a robot endpoint on loopback receives it
(rendered as CommonMark: no link, image, mention or emphasis), the e-mail digest as a loopback SMTP server
receives it (nothing a client auto-links), and the command line (no escape sequence, no formula).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import headless_chromium, schema_warehouse
from markdown_it import MarkdownIt
from planted import LATEST, build
from test_validate import FIRM_A, frame

from flows.cli import main
from flows.render import maps, safe_text
from flows.stages import s10_alerts as alerts
from flows.stages import s12_deliver as deliver
from flows.stages.s05_validate import record_results, render_data_docs, validate
from flows.stages.s11_report import render_report

XSS_TITLE = "document.title='XSS'"
PAYLOADS = {
    "AH_OK": f"<img src=x onerror={XSS_TITLE}>",
    "JS_A": "<!--<script>",
    "JS_B": f"</script><script>{XSS_TITLE}</script>",
    "HN_A": "[点击查看详情](http://evil.example/x)",
    "HN_B": "+cmd|' /C calc'!A0 @all **粗体** <@everyone> ![i](http://evil.example/i.png) www.evil.example",
    "HN_C": "=HYPERLINK(\"http://evil.example\")\u2028\u2029&amp;\x1b[31m红\x1b[0m $\\frac{$ _x_",
}
LINK_FORMS = ("http://", "https://", "www.", "](", "<@", "@all")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """The planted warehouse with a payload as cluster name, city and leading industry of six clusters."""
    root = tmp_path_factory.mktemp("injection")
    wh = build(root / "w.duckdb", names=PAYLOADS)
    with duckdb.connect(str(wh)) as con:
        for cid, text in PAYLOADS.items():
            con.execute("UPDATE core.clusters SET city = ?, leading_industry = ? WHERE cluster_id = ?",
                        [text, text, cid])
    return wh


def _dom(page: Path, tmp_path: Path) -> str:
    run = headless_chromium(["--window-size=1400,1000", "--dump-dom", page.as_uri()], tmp_path / "profile")
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def _no_script_ran(dom: str, title: str) -> None:
    assert re.search(r"<title>(.*?)</title>", dom, re.S).group(1).strip() == title
    assert "XSS" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert not re.search(r'<img[^>]*src="x"', dom) and "<script>document.title" not in dom


# ------------------------------------------------------------------------------------------- Data Docs


def test_data_docs_show_rejected_values_as_text(tmp_path):
    con = schema_warehouse()
    con.execute("INSERT INTO core.clusters (cluster_id, adcode) VALUES ('C1', '320500')")
    con.execute("INSERT INTO core.firms (uscc, cluster_id) VALUES (?, 'C1')", [FIRM_A])
    levels = [f"<img src=x onerror={XSS_TITLE}>", "&#x3C;IMG SRC=X ONERROR=DOCUMENT.TITLE='XSS'&#x3E;"]
    rows = [{"platform_name": f"平台{k}<svg onload={XSS_TITLE}>", "cluster_id": "C1", "level": level,
             "type": "key lab"} for k, level in enumerate(levels)]
    v = validate("platforms", frame("platforms", rows), f"platforms_<img src=x onerror={XSS_TITLE}>.csv", con,
                 today=date(2025, 12, 31))
    assert v.gx_result is not None
    record_results(con, 1, 3, v, spool=tmp_path / "spool")
    index = render_data_docs(3, tmp_path / "docs", spool=tmp_path / "spool")
    pages = sorted((tmp_path / "docs").rglob("*.html"))
    validation_pages = [p for p in pages if "validations" in p.parts]
    assert validation_pages, pages
    for page in [index, *validation_pages]:
        dom = _dom(page, tmp_path)
        title = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8"), re.S).group(1).strip()
        _no_script_ran(dom, title)
        assert "<svg onload" not in dom
    shown = _dom(validation_pages[0], tmp_path)
    assert "&lt;img src=x onerror=" in shown  # the rejected value is there, as text


# ------------------------------------------------------------------------------------------------ maps


def test_offline_map_draws_every_cluster_whatever_their_names(hostile, tmp_path):
    with duckdb.connect(str(hostile), read_only=True) as con:
        files = maps.render_map(con, LATEST, out_dir=tmp_path / "maps")
    html = files.html.read_text(encoding="utf-8")
    script = html.split('<script type="application/json" id="data">')[1].split("</script>")[0]
    assert "<" not in script and "\u2028" not in script and json.loads(script)["clusters"]
    dom = _dom(files.html, tmp_path)
    _no_script_ran(dom, f"产业集群监测地图 · {maps.period_label(LATEST)}")
    assert 'data-errors="0"' in dom
    assert len(re.findall(r'<circle [^>]*class="cluster', dom)) == 9  # the page still draws every cluster
    assert "&lt;!--&lt;script&gt;" in dom  # the name shown as text in the table
    geo = json.loads(files.geojson.read_text(encoding="utf-8"))
    assert {f["properties"]["cluster_name"] for f in geo["features"]} >= set(PAYLOADS.values())


# ------------------------------------------------------------------------------------------------ report


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_public_report_keeps_names_as_text_in_chromium_and_csv(hostile, tmp_path):
    files = render_report(hostile, LATEST, lang="zh", audience="public", out_dir=tmp_path / "r" / "2025-12",
                          maps_dir=tmp_path / "maps", pdf=False)
    dom = _dom(files.html, tmp_path)
    _no_script_ran(dom, re.search(r"<title>(.*?)</title>", files.html.read_text(encoding="utf-8"), re.S)
                   .group(1).strip())
    assert 'id="cluster-table"' in dom and "&lt;!--&lt;script&gt;" in dom
    names = 0
    for path in [*files.tables, *files.chart_data]:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    names += "cmd|" in cell or "HYPERLINK" in cell
                    assert _number(cell) or not cell.startswith(safe_text.FORMULA_PREFIXES), (path.name, cell)
    assert names > 0


# -------------------------------------------------------------------------------- robot and e-mail




def _episodes(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """One new alert per hostile cluster, and a quarantine alert on a file with a hostile name."""
    eps = [{"rule": "local_supporting_rate_drop", "subject": cid, "cluster_id": cid, "start": LATEST,
            "last": LATEST, "resolved": None, "months": 1,
            "first_ev": {"value": 0.31, "baseline": 0.4, "drop_pts": 9.0, "lag_months": 3, "threshold_pts": 5.0},
            "last_ev": {"value": 0.31, "baseline": 0.4, "drop_pts": 9.0, "lag_months": 3, "threshold_pts": 5.0}}
           for cid in PAYLOADS]
    eps.append({"rule": "quarantine_share", "subject": "monthly_[x](http://evil.example)_<b>.csv", "cluster_id": None,
                "start": LATEST, "last": LATEST, "resolved": None, "months": 1,
                "first_ev": {"value": 0.05, "n_quarantined": 5, "rows_in": 100, "threshold": 0.02},
                "last_ev": {"value": 0.05, "n_quarantined": 5, "rows_in": 100, "threshold": 0.02}})
    return eps


@pytest.mark.parametrize("flavour", deliver.FLAVOURS)
def test_robot_and_email_digests_form_no_link_mention_or_formatting(hostile, tmp_path, robot, smtp_server, flavour):
    url, received = robot
    controller, inbox = smtp_server
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(hostile, wh)
    settings = deliver.DeliverySettings(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_to=("a@example.cn",),
                                        webhook_url=url, webhook_flavour=flavour, retry_attempts=1)
    with duckdb.connect(str(wh)) as con:
        cfg = alerts.config()
        new = alerts.upsert(con, _episodes(con), cfg, LATEST)
        _, _, ids = alerts.notify(con, cfg, LATEST, new, settings)
        assert len(ids) == 2
        report = deliver.flush(con, settings)
        assert report.sent == ids
        stored = con.execute("SELECT message_zh FROM mart.alerts WHERE cluster_id = 'HN_A'").fetchone()[0]
    assert PAYLOADS["HN_A"] in stored  # the warehouse keeps the name as it came (analysts see everything)
    payload = received[0]["markdown"]
    text = payload.get("text") or payload["content"]
    assert all(form not in text for form in LINK_FORMS), text
    items = text.split("\n", 1)[1]  # below the title line (its heading/bold is the robot flavour's own)
    items, refer = items.rsplit("\n\n", 1)  # the fixed pointer to the month's report closes the message
    assert refer.startswith("详见《产业集群运行监测月报》")
    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(items)
    assert not re.search(r"<(a|img|strong|em|script|h[1-6]|code|table|del|p)\b", html, re.I), html
    assert html.count("<li>") == len(PAYLOADS) + 1  # one line per alert: no name started a block of its own
    assert "［点击查看详情］" in text  # the name is still readable
    mail = inbox.messages[0][1]
    body = mail.get_body(("plain",)).get_content()
    assert not re.search(r"https?://|www\.|[\w.]+@[\w.]+", body), body
    assert "\x1b" not in body and "\u2028" not in body and "点击查看详情" in body


def test_withheld_values_stay_out_of_the_digest(hostile, tmp_path):
    """AH_TWO has 2 firms: the alert names it but its growth rate is withheld in every channel."""
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(hostile, wh)
    with duckdb.connect(str(wh)) as con:
        ev = {"value": -0.3123, "threshold": -0.1}
        ep = {"rule": "output_ytd_yoy_low", "subject": "AH_TWO", "cluster_id": "AH_TWO", "start": LATEST,
              "last": LATEST, "resolved": None, "months": 1, "first_ev": ev, "last_ev": ev}
        new = alerts.upsert(con, [ep], alerts.config(), LATEST)
        listing = alerts.month_listing(con, LATEST)
        withheld = alerts.withheld_rows(con, listing, "internal")
        names = alerts.cluster_names(con)
    assert withheld == {new[0].alert_id}
    _, text, markdown = alerts._digest(LATEST, listing, names, withheld)
    for out in (text, markdown):
        assert "31.2%" not in out, out
    assert "—*" in text and "—＊" in markdown and "合肥双企产业集群" in markdown and "-10%" in text
    assert "-31.2%" in new[0].message_zh  # the warehouse keeps the value (analysts see everything)


# ------------------------------------------------------------------------------------------------- CLI


def test_alerts_command_prints_names_without_escapes_or_formulas(hostile, tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(hostile, wh)
    with duckdb.connect(str(wh)) as con:
        alerts.upsert(con, _episodes(con), alerts.config(), LATEST)
    assert main(["alerts", "--warehouse", str(wh), "--period", f"{LATEST:%Y-%m}"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u2028" not in out
    lines = [line for line in out.splitlines() if alerts.rule_name("local_supporting_rate_drop", "zh") in line]
    assert len(lines) == len(PAYLOADS)  # a name with a line separator did not split its row
    cells = [c for line in lines for c in re.split(r"\s{2,}", line)]
    assert not [c for c in cells if c.startswith(safe_text.FORMULA_PREFIXES)]
    assert "'+cmd|' /C calc'!A0" in out


def test_json_in_html_round_trips_and_hides_markup():
    value = {"n": "</script><!--<script>\u2028\u2029&<>", "k": [1, 2.5, None]}
    text = safe_text.json_in_html(value)
    assert not re.search("[<>&\u2028\u2029]", text) and json.loads(text) == value



def test_check_prints_rejected_values_without_terminal_sequences(tmp_path, capsys):
    from flows.cli import check_files

    path = tmp_path / "platforms_2025.csv"
    path.write_text("platform_name,cluster_id,level,type\n"
                    "平台\x1b]0;XSS\x07,C9,\x1b[2J\x1b[31mnational\u2028x,key lab\n", encoding="utf-8")
    check_files([path], None)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u2028" not in out
    assert "level= [2J [31mnational x invalid_value" in out  # the rejected value is still shown, inert
