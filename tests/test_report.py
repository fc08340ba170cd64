"""The monthly report: content equals the warehouse, disclosure control holds in what is published, hostile
names stay text, the HTML is offline and script-free in headless Chromium, PDF pages are real pages, and the
nightly delivery reaches a real SMTP server. Rendered once per module (rendering is the slow part)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import headless_chromium

from flows import disclosure
from flows.report import csv_safe, render_report

PERIOD = dt.date(2025, 12, 1)
EVIL_CLUSTER = '=HYPERLINK("http://evil.example/x","点我")<script>alert(1)</script>'
EVIL_FIRMS = ("+cmd|' /C calc'!A0", "@SUM(1+1)<img src=x onerror=alert(2)>", "-2+3")


@pytest.fixture(scope="module")
def warehouse(sample_warehouse, tmp_path_factory) -> Path:
    """A copy of the sample warehouse with hostile names and two planted dominant firms in 文山 (WS_SQ)."""
    path = tmp_path_factory.mktemp("report") / "clusterwatch.duckdb"
    shutil.copyfile(sample_warehouse.warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE core.clusters SET cluster_name = ? WHERE cluster_id = 'JH_BIKE'", [EVIL_CLUSTER])
        # Class D firms are listed by name in the internal edition: give three of them hostile names.
        usccs = [r[0] for r in con.execute(
            "SELECT uscc FROM mart.firm_ratings WHERE period = ? AND class = 'D' ORDER BY cluster_id, score LIMIT 3",
            [PERIOD]).fetchall()]
        for uscc, name in zip(usccs, EVIL_FIRMS, strict=True):
            con.execute("UPDATE core.firms SET firm_name = ? WHERE uscc = ?", [name, uscc])
        # Two firms of WS_SQ made to dominate its output (core only: the (2, 85%) rule reads firm contributions).
        con.execute("""UPDATE core.firm_monthly SET output = output * 1000 WHERE uscc IN (
                           SELECT uscc FROM core.firms WHERE cluster_id = 'WS_SQ' ORDER BY uscc LIMIT 2)""")
    return path


@pytest.fixture(scope="module")
def internal(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("internal")
    return render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=out, maps_dir=out / "maps")


@pytest.fixture(scope="module")
def public(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("public")
    return render_report(warehouse, PERIOD, lang="zh", audience="public", out_dir=out, maps_dir=out / "maps",
                         pdf=False)


def _row_text(html: str, row_id: str) -> list[str]:
    """The cell texts of the table row with data-id=row_id (tags stripped, rank notes dropped)."""
    match = re.search(rf'<tr data-row="cluster" data-id="{re.escape(row_id)}".*?</tr>', html, re.S)
    assert match, row_id
    cells = re.findall(r"<td[^>]*>(.*?)</td>", match.group(0), re.S)
    return [re.sub(r"<span class=\"rank\">.*?</span>", "", c).strip() for c in cells]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_numbers_equal_the_warehouse(internal, warehouse):
    html = internal.html.read_text(encoding="utf-8")
    cells = _row_text(html, "XS_AUTO")
    assert "68.0%" in cells and "31.84" in cells  # DESIGN §8: Xushui 本地配套率 68%, 亩均税收 31.84 万元/亩
    with duckdb.connect(str(warehouse), read_only=True) as con:
        wide = con.execute("SELECT output_ttm, local_supporting_rate, per_mu_tax, cloud_rate FROM "
                           "mart.cluster_indicators_wide WHERE cluster_id = 'SZ_EI' AND period = ?",
                           [PERIOD]).fetchone()
    cells = _row_text(html, "SZ_EI")
    assert f"{wide[0] / 1e4:,.2f}" in cells  # 亿元 with thousands separators
    assert f"{wide[1] * 100:.1f}%" in cells and f"{wide[2]:,.2f}" in cells and f"{wide[3] * 100:.1f}%" in cells
    for heading in ("集群运行监测月报", "一、总体情况", "二、集群运行情况", "三、主要指标走势", "七、数据质量",
                    "附录", "亿元", "万元/亩"):
        assert heading in html


def test_trend_charts_draw_the_largest_clusters_and_their_csv_keeps_every_cluster(warehouse, internal,
                                                                                 tmp_path, monkeypatch):
    from flows import report

    drawn: list[list[str]] = []
    real_chart = report._chart
    monkeypatch.setattr(report, "_chart", lambda code, series, *a: drawn.append(list(series)) or real_chart(
        code, series, *a))
    render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=tmp_path, pdf=False)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        largest = {r[0] for r in con.execute(
            """SELECT c.cluster_name FROM mart.cluster_indicators i JOIN core.clusters c USING (cluster_id)
               WHERE i.indicator = 'output_ttm' AND i.period = ? ORDER BY i.value DESC LIMIT ?""",
            [PERIOD, report.TREND_SERIES]).fetchall()}
        n_clusters = con.execute("SELECT count(*) FROM core.clusters").fetchone()[0]
    assert n_clusters > report.TREND_SERIES  # the sample has more clusters than a chart draws
    assert drawn and all(set(names) == largest for names in drawn)
    assert all(len(_read_csv(p)[0]) == n_clusters + 1 for p in internal.chart_data)  # period + every cluster
    assert f"产值最大的{report.TREND_SERIES}个集群" in internal.html.read_text(encoding="utf-8")


def test_methodology_comes_from_the_registry(internal):
    from flows.indicators import registry

    html = internal.html.read_text(encoding="utf-8")
    appendix = html[html.index('id="methodology"'):]
    for ind in registry():
        assert f">{ind.code}<" in appendix and ind.name_zh in appendix


def test_files_beside_the_report(internal):
    assert internal.html.exists() and internal.pdf is not None and internal.pdf.exists()
    assert len(internal.charts) == len(internal.chart_data) >= 8
    assert all(p.stat().st_size > 5000 for p in internal.charts)
    rows = _read_csv(internal.chart_data[0])
    assert len(rows) == 36 and rows[-1]["period"] == "2025-12"


def test_escaping_html_csv_pdf(internal):
    html = internal.html.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "@SUM(1+1)&lt;img src=x onerror=alert(2)&gt;" in html
    assert "+cmd|&#39; /C calc&#39;!A0" in html
    clusters = _read_csv(internal.tables[0])
    evil = [r for r in clusters if r["cluster_id"] == "JH_BIKE"][0]
    assert evil["cluster_name"] == "'" + EVIL_CLUSTER
    with internal.chart_data[0].open(encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    assert "'" + EVIL_CLUSTER in header
    assert all(csv_safe(v) == "'" + v for v in ("=1", "+1", "-1", "@1", "\t1", "\r1")) and csv_safe("1") == "1"
    text = subprocess.run(["pdftotext", "-layout", str(internal.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "<script>alert(1)</script>" in text.replace("\n", "")  # literal text, not markup
    assert "本地配套率" in text and "68.0%" in text


def test_pdf_pages_are_a4_and_not_blank(internal, tmp_path):
    from PIL import Image

    info = subprocess.run(["pdfinfo", str(internal.pdf)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(internal.pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 6
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"), dtype=float)
        assert pixels.std() > 5, f"{page.name} looks blank"


def test_html_offline_in_headless_chromium(internal, tmp_path):
    html = internal.html.read_text(encoding="utf-8")
    # Self-contained: no external reference of any kind (only data: URIs and in-page anchors).
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert "url(" not in re.sub(r"data:[^\"')]+", "", html.split("</style>")[0]).replace("url(#", "")
    dom = headless_chromium(["--dump-dom", internal.html.as_uri()], tmp_path / "profile", check=True).stdout
    assert "<script" not in dom.lower()  # the report needs no JS; injected markup stayed text
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', dom)) >= 8
    assert 'id="cluster-table"' in dom and "徐水区汽车及零部件产业集群" in dom


# ---------------------------------------------------------------------------------------- disclosure


def _num(text: str) -> float | None:
    return None if text in ("", disclosure.SYMBOL) else float(text)


def _check_relation(total: float | None, parts: list[tuple[str, float | None]], truth: dict[str, float]) -> None:
    """A shown total: 0 or ≥2 suppressed parts, and total − Σ shown never equals one suppressed value."""
    if total is None:
        return
    hidden = [k for k, v in parts if v is None and truth.get(k) is not None]
    assert len(hidden) != 1, f"exactly one suppressed part: {hidden}"
    if hidden:
        residual = total - sum(v for _, v in parts if v is not None)
        for k in hidden:
            assert not np.isclose(residual, truth[k], rtol=1e-6, atol=1e-6), f"{k} derivable"


def test_public_suppression_cannot_be_derived(public, warehouse):
    clusters = _read_csv(public.tables[0])
    provinces = _read_csv(public.tables[1])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        truth_c = dict(con.execute("SELECT cluster_id, output_ttm FROM mart.cluster_indicators_wide WHERE period = ?",
                                   [PERIOD]).fetchall())
        truth_p = dict(con.execute("SELECT province, value FROM mart.province_indicators WHERE period = ? "
                                   "AND indicator = 'output_ttm'", [PERIOD]).fetchall())
    ws = [r for r in clusters if r["cluster_id"] == "WS_SQ"][0]
    assert ws["output_ttm"] == disclosure.SYMBOL and ws["scale_tier"] == disclosure.SYMBOL  # dominance
    code = "output_ttm"  # additive: the relations hold exactly
    cluster_rows = [r for r in clusters if r["row_kind"] == "cluster"]
    total = [r for r in clusters if r["row_kind"] == "total"][0]
    _check_relation(_num(total[code]), [(r["cluster_id"], _num(r[code])) for r in cluster_rows], truth_c)
    all_total = [r for r in provinces if r["row_kind"] == "total"][0]
    _check_relation(_num(all_total[code]), [(r["province"], _num(r[code])) for r in provinces
                                            if r["row_kind"] == "province"], truth_p)
    for p in (r for r in provinces if r["row_kind"] == "province"):
        members = [(r["cluster_id"], _num(r[code])) for r in cluster_rows if r["province"] == p["province"]]
        _check_relation(_num(p[code]), members, truth_c)
    # Every column of every total row: never exactly one suppressed contributor.
    for column in disclosure.DOMINANCE_MEASURES.keys() & set(total):
        n = sum(r[column] == disclosure.SYMBOL for r in cluster_rows)
        assert total[column] == disclosure.SYMBOL or n != 1, column
    html = public.html.read_text(encoding="utf-8")
    assert disclosure.FOOTNOTE_ZH in html.replace("&#34;", '"').replace("&quot;", '"') or "不予公布" in html
    geo = json.loads(next(public.map_png.parent.glob("*.geojson")).read_text(encoding="utf-8"))
    ws_map = next(f["properties"] for f in geo["features"] if f["id"] == "WS_SQ")
    assert ws_map["output_ttm"] is None and ws_map["scale_tier"] is None  # the public map withholds it too
    assert "D类企业名单" not in html  # no firm names in the public edition
    assert not any(name.split("<")[0] in html for name in EVIL_FIRMS)


def test_internal_hides_only_few_firms(internal):
    clusters = _read_csv(internal.tables[0])
    ws = [r for r in clusters if r["cluster_id"] == "WS_SQ"][0]
    assert ws["output_ttm"] != disclosure.SYMBOL  # dominance is a public-edition rule


def test_secondary_suppression_rules():
    p = dt.date(2025, 12, 1)
    k = {name: (name, p, "output_ttm") for name in ("ALL", "P:A", "P:B", "a1", "a2", "b1")}
    values = {k["a1"]: 10.0, k["a2"]: 20.0, k["b1"]: 5.0, k["P:A"]: 30.0, k["P:B"]: 5.0, k["ALL"]: 35.0}
    rels = [disclosure.Relation(k["ALL"], (k["a1"], k["a2"], k["b1"])),
            disclosure.Relation(k["ALL"], (k["P:A"], k["P:B"])),
            disclosure.Relation(k["P:A"], (k["a1"], k["a2"])),
            disclosure.Relation(k["P:B"], (k["b1"],))]
    status = disclosure.secondary(values, {k["b1"]: "dominance"}, rels)
    # b1 alone in P:B → P:B hidden; then ALL over provinces → P:A hidden; ALL over clusters → a1 (smallest).
    assert status[k["P:B"]] == "secondary" and status[k["P:A"]] == "secondary"
    assert status[k["a1"]] == "secondary"
    for rel in rels:
        assert sum(m in status for m in (rel.total, *rel.parts)) != 1
    assert disclosure.secondary(values, {}, rels) == {}


# ------------------------------------------------------------------------------------------ delivery


def test_report_is_emailed_through_the_outbox(internal, warehouse, tmp_path, smtp_server):
    from flows import deliver
    from flows.report import enqueue_report

    controller, inbox = smtp_server
    path = tmp_path / "wh.duckdb"
    shutil.copyfile(warehouse, path)
    with duckdb.connect(str(path)) as con:
        outbox_id = enqueue_report(con, internal, ["officials@example.org"])
        settings = deliver.DeliverySettings(smtp_host="127.0.0.1", smtp_port=controller.port, retry_attempts=2,
                                            retry_backoff_s=0.0)
        deliver.flush(con, settings)
        status = con.execute("SELECT status FROM meta.outbox WHERE id = ?", [outbox_id]).fetchone()[0]
    assert status == "sent" and len(inbox.messages) == 1
    message = inbox.messages[0][1]
    assert "监测月报" in message["Subject"]
    names = {part.get_filename() for part in message.walk() if part.get_filename()}
    assert {internal.pdf.name, internal.html.name} <= names
