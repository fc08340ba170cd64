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
from html import unescape
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from conftest import charts_unpainted, headless_chromium, schema_warehouse

from flows.render.report import csv_safe
from flows.stages.s11_report import render_report
from flows.support import disclosure

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
def internal_drawn(warehouse, tmp_path_factory) -> tuple:
    """The internal edition (with its PDF), and the series each of its trend charts was handed to draw."""
    from flows.render import report as page

    out = tmp_path_factory.mktemp("internal")
    drawn: list[list[str]] = []
    real_charts = page.trend_charts
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(page, "trend_charts", lambda charts, months: drawn.extend(
            list(series) for _, series, _, _ in charts) or real_charts(charts, months))
        files = render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=out, maps_dir=out / "maps")
    return files, drawn


@pytest.fixture(scope="module")
def internal(internal_drawn):
    return internal_drawn[0]


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
    # docs/architecture.md#sample-calibration: Xushui 本地配套率 68%, 亩均税收 31.84 万元/亩
    assert "68.0%" in cells and "31.84" in cells
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


def test_trend_charts_draw_the_largest_clusters_and_their_csv_keeps_every_cluster(warehouse, internal_drawn):
    from flows.stages import s11_report as report

    internal, drawn = internal_drawn
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


def test_a_trend_chart_drawn_after_others_equals_the_one_drawn_on_its_own(tmp_path):
    """The charts share figures: lines, legend, scales and layout of an earlier chart must not carry over."""
    from PIL import Image

    from flows.render import report as page

    months = [dt.date(2024 + k // 12, k % 12 + 1, 1) for k in range(24)]

    def series(n: int, scale: float) -> dict[str, list[float | None]]:
        return {f"集群{i}": [None if k in (3, 10 + i) else scale * (i + 1) * (1 + k % 5) for k in range(24)]
                for i in range(n)}

    def pixels(path: Path) -> bytes:
        with Image.open(path) as image:
            return image.convert("RGB").tobytes()

    last = ("产值（亿元）", series(7, 1e3), False, tmp_path / "last.png")
    few = ("增速（%）", series(3, 0.5), True, tmp_path / "few.png")
    # no value before the second year: a shorter x range, with fewer year ticks than the charts after it
    late = ("研发强度（%）", {name: [None] * 14 + values[14:] for name, values in series(7, 0.02).items()}, True,
            tmp_path / "late.png")
    # one month of values only: its x range is fixed to the window, which must not carry over either
    one = ("研发强度（%）", {name: [None] * 23 + values[23:] for name, values in series(7, 0.02).items()}, True,
           tmp_path / "one.png")
    drawn = page.trend_charts([one, late, ("本地配套率（%）", series(7, 0.01), True, tmp_path / "a.png"),
                               ("亩均税收（万元/亩）", series(3, 1e5), False, tmp_path / "b.png"),
                               ("产值（亿元）", series(7, 1e6), False, tmp_path / "c.png"), last, few], months)
    alone = [page.trend_charts([(t, s, shared, p.with_name(f"alone_{p.name}"))], months)[0]
             for t, s, shared, p in (late, last, few)]
    assert [pixels(p) for p in (drawn[1], *drawn[-2:])] == [pixels(p) for p in alone]
    assert pixels(drawn[4]) != pixels(drawn[5])


def test_a_trend_chart_of_values_in_one_month_marks_them_as_dots_within_the_months_window(tmp_path):
    """A 12-month indicator has its first value in the twelfth month of data: one value per cluster is a line of no
    length, so without dots the chart would be empty panels (the nation's first year), on an x range matplotlib
    widens to ±2 years around that month."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from flows.render import report as page

    months = [dt.date(2025, k + 1, 1) for k in range(12)]
    series = {f"集群{i}": [None] * 11 + [2.0 + i / 10] for i in range(7)}
    few = {name: values for name, values in list(series.items())[:3]}
    drawn = page.trend_charts([("研发投入强度（%）", series, True, tmp_path / "many.png"),
                               ("研发投入强度（%）", few, True, tmp_path / "few.png")], months)
    red = (0xb0, 0x18, 0x1d)
    with Image.open(drawn[0]) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20)}
    assert red in colours           # each panel's value, drawn as a dot
    with Image.open(drawn[1]) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20)}
    assert {tuple(round(255 * c) for c in plt.get_cmap("tab10")(n)[:3]) for n in range(3)} <= colours
    assert page._dots([float("nan"), 1.0, float("nan"), 2.0, 3.0])["markevery"] == [False, True, False, False, False]
    assert page._dots([1.0, 2.0, float("nan")]) == {}      # a series with no lone value is drawn as before


def test_a_trend_chart_with_at_most_one_month_of_values_spans_the_months_window(tmp_path, monkeypatch):
    """A year-on-year rate has no value in the first year of data, a 12-month indicator one month of them: the x axis
    still spans the report's months (matplotlib alone widens one date to ±2 years, and puts an axis with no data at
    1970)."""
    import matplotlib.dates as mdates

    from flows.render import report as page

    months = [dt.date(2025, k + 1, 1) for k in range(12)]
    spans: list[tuple[dt.date, dt.date]] = []
    real = page.chart_image

    def recorded(fig, *args, **kwargs):
        lo, hi = fig.axes[0].get_xlim()
        spans.append((mdates.num2date(lo).date(), mdates.num2date(hi).date()))
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(page, "chart_image", recorded)
    empty = {f"集群{i}": [None] * 12 for i in range(7)}
    one = {f"集群{i}": [None] * 11 + [2.0 + i / 10] for i in range(7)}
    page.trend_charts([("累计同比增速（%）", empty, True, tmp_path / "empty.png"),
                       ("研发投入强度（%）", one, True, tmp_path / "one.png"),
                       ("累计同比增速（%）", dict(list(empty.items())[:3]), True, tmp_path / "few.png")], months)
    for lo, hi in spans:
        assert dt.date(2024, 12, 1) < lo < months[0] and months[-1] < hi < dt.date(2026, 2, 1), (lo, hi)


def test_trend_charts_never_place_their_empty_axis_labels_by_the_tick_labels(tmp_path, monkeypatch):
    """Placing an axis label measures the tick labels of the axis and its siblings on every layout and draw; the
    charts have no axis labels, so theirs stay at a fixed point."""
    import matplotlib.axis

    from flows.render import report as page

    def measured(self: Any, renderer: Any) -> Any:
        raise AssertionError("an axis label placed by its tick labels")

    monkeypatch.setattr(matplotlib.axis.Axis, "_get_tick_boxes_siblings", measured)
    months = [dt.date(2024 + k // 12, k % 12 + 1, 1) for k in range(24)]
    few = {f"集群{i}": [float(i + k) for k in range(24)] for i in range(3)}
    many = {f"集群{i}": [float(i * k) for k in range(24)] for i in range(7)}
    drawn = page.trend_charts([("增速（%）", few, True, tmp_path / "few.png"),
                               ("产值（亿元）", many, False, tmp_path / "many.png")], months)
    assert [p.name for p in drawn] == ["few.png", "many.png"] and all(p.stat().st_size > 0 for p in drawn)


def test_methodology_comes_from_the_registry(internal):
    from flows.support.registry import registry

    html = internal.html.read_text(encoding="utf-8")
    appendix = html[html.index('id="methodology"'):]
    for ind in registry():
        assert f'data-code="{ind.code}"' in appendix and ind.name_zh in appendix and ind.definition_zh in appendix


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
    from flows.stages import s12_deliver as deliver
    from flows.stages.s11_report import enqueue_report

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


def test_partial_windows_are_not_drawn_and_cumulative_figures_have_no_month_on_month(internal, warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        flagged = {(csv_safe(r[0]), f"{r[1]:%Y-%m}", r[2]) for r in con.execute(
            """SELECT c.cluster_name, i.period, list_contains(i.flags, 'partial_window')
               FROM mart.cluster_indicators i JOIN core.clusters c USING (cluster_id)
               WHERE i.indicator = 'output_ttm' AND i.value IS NOT NULL""").fetchall()}
    partial = {(name, month) for name, month, is_partial in flagged if is_partial}
    whole = {(name, month) for name, month, is_partial in flagged if not is_partial}
    assert partial and whole
    csv_path = next(p for p in internal.chart_data if p.name == "trend_output_ttm.csv")
    drawn = {(name, row["period"]) for row in _read_csv(csv_path) for name, v in row.items()
             if name != "period" and v not in ("", "…")}
    assert drawn & partial == set()
    shenzhen = {(n, m) for n, m in whole if n == "深圳市电子信息产业集群" and m >= _read_csv(csv_path)[0]["period"]}
    assert len(shenzhen) > 20 and shenzhen <= drawn
    html = internal.html.read_text(encoding="utf-8")
    kpi = html[html.index('id="kpis"'):html.index("</table>", html.index('id="kpis"'))]
    ytd_row = re.search(r"<tr><td class=\"name\">工业总产值\(累计\).*?</tr>", kpi, re.S).group(0)
    assert re.findall(r'<td class="num">(.*?)</td>', ytd_row)[1] == "—"   # 环比 of a year-to-date total


def test_chart_labels_are_at_least_8pt_on_the_page():
    from flows.render import report

    # The PNG is placed at the text width (CSS figure.chart img width 100%) and drawn that wide.
    text_width_in = (210 - 15 - 15) / 25.4
    assert abs(report.CHART_WIDTH_IN - text_width_in) < 0.2
    assert report.CHART_FONT_PT * text_width_in / report.CHART_WIDTH_IN >= 8


CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# Words a Chinese report may carry: the standard's prefix (GB/T 39116) and a product name in a file message.
ZH_ALLOWED = {"GB", "Excel"}


def _visible_text(html: str, con: duckdb.DuckDBPyConnection) -> str:
    """The text a reader sees, without proper names (clusters and firms have no translation unless the
    registry gives one; suppliers are firms; chain segments are named by the registry) and file names
    (internal edition: the unreadable files, alerts about a file)."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    html = re.sub(r'<span class="file">.*?</span>', "", html, flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", "\n", html))
    names = [r[0] for r in con.execute("SELECT cluster_name FROM core.clusters UNION ALL "
                                       "SELECT firm_name FROM core.firms UNION ALL "
                                       "SELECT file_name FROM meta.files UNION ALL "
                                       "SELECT DISTINCT chain_segment FROM core.firms UNION ALL "
                                       "SELECT DISTINCT supplier_name FROM mart.supply_leads").fetchall() if r[0]]
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


@pytest.mark.parametrize("audience", ["internal", "public"])
def test_zh_edition_has_no_english_or_codes_and_en_edition_no_chinese(warehouse, tmp_path, audience):
    with duckdb.connect(str(warehouse), read_only=True) as con, charts_unpainted():     # text is what counts
        zh = render_report(con, PERIOD, lang="zh", audience=audience, out_dir=tmp_path / "zh", pdf=False)
        en = render_report(con, PERIOD, lang="en", audience=audience, out_dir=tmp_path / "en", pdf=False)
        zh_text = _visible_text(zh.html.read_text(encoding="utf-8"), con)
        en_text = _visible_text(en.html.read_text(encoding="utf-8"), con)
    english = set(re.findall(r"[A-Za-z][A-Za-z_]+", zh_text)) - ZH_ALLOWED
    assert english == set()
    assert [line for line in en_text.splitlines() if CJK.search(line)] == []
    assert "CNY 100 million" in en_text and "亿元" in zh_text


def test_every_quarantine_rule_and_file_reason_has_words_in_both_languages():
    import json

    from flows.stages.s04_standardise import RULES
    from flows.stages.s11_report import QUALITY_TERMS
    from flows.support.settings import EXPECTATIONS_DIR, ROOT

    suite_rules = {e["meta"]["rule"] for path in (EXPECTATIONS_DIR / "gx" / "expectations").glob("*.json")
                   for e in json.loads(path.read_text(encoding="utf-8"))["expectations"] if "rule" in e.get("meta", {})}
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "flows").rglob("*.py"))
    file_reasons = set(re.findall(r'(?:FileRejected|_reject)\(\s*"([a-z_]+)"', source))
    # rules written by code rather than by a suite (old identifiers matched or not through the registry)
    validate_rules = set(re.findall(r'"(old_identifier|unknown_firm|ambiguous_identifier)"', source))
    assert suite_rules and file_reasons and "ambiguous_unit" in file_reasons and validate_rules
    named = set(QUALITY_TERMS) | set(RULES)
    assert (suite_rules | file_reasons | validate_rules) - named == set()
    assert all(CJK.search(zh) and not CJK.search(en) for zh, en in QUALITY_TERMS.values())


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    table = html[html.index(f'id="{table_id}"'):html.index("</table>", html.index(f'id="{table_id}"'))]
    rows = [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>.*?</tr>", table, re.S)]
    return [r for r in rows if r]


def test_contributions_add_up_to_the_total_growth_and_firms_stay_internal(internal, public, warehouse):
    html = internal.html.read_text(encoding="utf-8")
    rows = _table_rows(html, "contributions")
    pulls = [float(r[2]) for r in rows]
    shares = [float(r[3].rstrip("%")) for r in rows]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        num, den = con.execute("SELECT sum(numerator), sum(denominator) FROM mart.cluster_indicators WHERE "
                               "indicator = 'output_ytd_yoy' AND period = ?", [PERIOD]).fetchone()
        files = [r[0] for r in con.execute("SELECT file_name FROM meta.files").fetchall()]
        firms = [r[0] for r in con.execute("SELECT firm_name FROM core.firms").fetchall()]
    assert len(rows) > 10 and pulls == sorted(pulls, reverse=True)
    assert sum(pulls) == pytest.approx((num / den - 1) * 100, abs=0.01 * len(pulls))   # rounded to 0.01 each
    assert sum(shares) == pytest.approx(100, abs=0.05 * len(shares))
    drivers = _table_rows(html, "firm-drivers")
    assert drivers and all(r[1] in firms for r in drivers)
    features = html[html.index('id="features"'):html.index("</div>", html.index('id="features"'))]
    assert "拉动" in features and rows[0][0] in unescape(features)

    shown = public.html.read_text(encoding="utf-8")
    assert 'id="firm-drivers"' not in shown and 'id="contributions"' in shown
    visible = unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", shown, flags=re.S)))
    assert [f for f in files if f in visible] == []
    assert [f for f in firms if f and f in visible] == []


def test_problems_and_advice_come_from_the_data(internal, warehouse):
    html = unescape(internal.html.read_text(encoding="utf-8"))
    problems = html[html.index('id="problems"'):html.index("</ol>", html.index('id="problems"'))]
    advice = html[html.index('id="advice"'):html.index("</ol>", html.index('id="advice"'))]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        low = con.execute("""SELECT c.cluster_name, i.value FROM mart.cluster_indicators i JOIN core.clusters c
                             USING (cluster_id) WHERE i.indicator = 'local_supporting_rate' AND i.period = ?
                             AND i.value < 0.40 AND i.n_firms >= 3""", [PERIOD]).fetchall()
    assert low
    for name, value in low:
        assert f"{name}{value * 100:.1f}%" in problems and name in advice
    assert "长沙市工程机械产业集群本地配套率下降（持续）" in problems      # the ongoing alert


def test_en_edition_uses_the_registry_english_cluster_name(warehouse, tmp_path):
    path = tmp_path / "named.duckdb"
    shutil.copyfile(warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE core.clusters SET cluster_name_en = 'Shenzhen Electronic Information Cluster' "
                    "WHERE cluster_id = 'SZ_EI'")
    with charts_unpainted():                                                        # the names in the tables
        en = render_report(path, PERIOD, lang="en", audience="internal", out_dir=tmp_path / "en", pdf=False)
        zh = render_report(path, PERIOD, lang="zh", audience="internal", out_dir=tmp_path / "zh", pdf=False)
    en_html, zh_html = en.html.read_text(encoding="utf-8"), zh.html.read_text(encoding="utf-8")
    assert _row_text(en_html, "SZ_EI")[0] == "Shenzhen Electronic Information Cluster"
    assert "深圳市电子信息产业集群" not in _row_text(en_html, "SZ_EI")
    assert _row_text(zh_html, "SZ_EI")[0] == "深圳市电子信息产业集群" and "Shenzhen Electronic" not in zh_html
    assert "where the cluster registry has no English name" in en_html     # the others keep Chinese names


def test_the_report_map_is_drawn_at_the_text_width(internal):
    from PIL import Image

    from flows.render import report

    image = Image.open(internal.map_png)
    assert image.size[0] == round(report.CHART_WIDTH_IN * 150)  # 150 dpi: placed at 1:1, its ≥ 8 pt texts stay 8 pt
    assert image.mode == "RGB"           # opaque: no alpha channel for WeasyPrint to split into a mask
    assert f'src="{report.data_uri(internal.map_png)}"' in internal.html.read_text(encoding="utf-8")


def test_the_nights_copy_of_the_report_map_is_the_one_the_report_shows(warehouse, tmp_path, monkeypatch):
    """The night draws the report's map copy of the stored snapshot ahead, in its worker (draw_report_maps); the
    report then shows that file and draws no map of its own. The copy is named after the snapshot's version, so
    a new version never shows an older drawing."""
    from concurrent.futures import ThreadPoolExecutor

    from flows.render import maps
    from flows.stages.s11_report import draw_report_maps

    maps_dir = tmp_path / "maps"
    with duckdb.connect(str(warehouse), read_only=True) as con, ThreadPoolExecutor(1) as pool:
        version = con.execute("SELECT max(version) FROM mart.map_snapshots WHERE period = ?", [PERIOD]).fetchone()[0]
        [drawn] = [drawing.result() for drawing in draw_report_maps(con, maps_dir, pool)]
        assert draw_report_maps(con, maps_dir, pool) == []      # drawn: nothing to hand over again
    assert drawn == maps_dir / "2025-12" / f"map_2025-12_v{version}_report_zh_local_supporting_rate.png"
    written = drawn.stat().st_mtime_ns
    monkeypatch.setattr(maps, "write_png", lambda *a, **k: pytest.fail("the report drew its map again"))
    with charts_unpainted():
        files = render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=tmp_path / "out",
                              maps_dir=maps_dir, pdf=False)
    assert files.map_png == drawn and drawn.stat().st_mtime_ns == written


def test_a_map_copy_the_night_had_not_started_is_drawn_by_the_report(warehouse, tmp_path):
    """A copy whose drawing is still queued behind the night's other work when the report starts is cancelled
    (flows.nightly) and drawn by the report itself: the report shows it all the same."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Event

    from flows.stages.s11_report import draw_report_maps

    maps_dir, busy = tmp_path / "maps", Event()
    with duckdb.connect(str(warehouse), read_only=True) as con, ThreadPoolExecutor(1) as pool:
        pool.submit(busy.wait)                      # the worker still at the night's earlier jobs
        [drawing] = draw_report_maps(con, maps_dir, pool)
        assert drawing.cancel()
        busy.set()
    with charts_unpainted():
        files = render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=tmp_path / "out",
                              maps_dir=maps_dir, pdf=False)
    assert files.map_png is not None and files.map_png.parent == maps_dir / "2025-12"
    assert files.map_png.name.startswith("map_2025-12_v") and files.map_png.stat().st_size > 10_000


def test_an_image_whose_write_fails_leaves_no_file_under_its_name(tmp_path, monkeypatch):
    """A map file that exists is kept by later nights as its snapshot version's drawing: a write that fails half-way
    (a full disk, a killed night) must leave nothing under the final name."""
    from PIL import Image

    from flows.render import report as page

    image = Image.new("RGB", (4, 4))

    def half_written(fp, *args, **kwargs):
        Path(fp).write_bytes(b"\x89PNG\r\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image, "save", half_written)
    with pytest.raises(OSError, match="No space"):
        page.write_image(image, tmp_path / "map.png", 150)
    assert list(tmp_path.iterdir()) == []


def test_validation_problems_are_listed_internally_and_counted_in_public():
    """An engine disagreement names file, rule and rows in the internal edition; the public one says how many
    rules are unconfirmed without naming files; a rule not checked alone puts no error sentence in public."""
    from flows.stages.s11_report import _validation_problems

    con = schema_warehouse()
    con.execute("""INSERT INTO meta.validation_problems (run_id, file_id, file_name, kind, rule, column_name, problem,
                   severity, example_rows, detail_zh, detail_en) VALUES
                   (1, 1, 'firms.csv', 'firms', 'unknown_cluster', 'cluster_id', 'not_checked', 'warning', NULL,
                    '未校验', 'not checked')""")
    assert _validation_problems(con, "en", "public") == {"problems": [], "problems_public": None}
    con.execute("""INSERT INTO meta.validation_problems (run_id, file_id, file_name, kind, rule, column_name, problem,
                   severity, example_rows, detail_zh, detail_en) VALUES
                   (2, 3, 'monthly_2025-03.csv', 'monthly', 'negative_value', 'output', 'engines_disagree', 'error',
                    '3', '仅 GX 判定 1 行', '1 only by Great Expectations')""")
    internal = _validation_problems(con, "zh", "internal")
    assert [(p["file_name"], p["label"], p["where"], p["rows"]) for p in internal["problems"]] == [
        ("monthly_2025-03.csv", "校验复核不一致（错误）", "数值为负（output）", "（行 3）"),
        ("firms.csv", "规则未校验", "集群不在名录中（cluster_id）", "")]
    public = _validation_problems(con, "en", "public")
    assert public["problems"] == [] and ": 1 (" in public["problems_public"]
    assert "monthly_2025-03.csv" not in public["problems_public"]


def test_missing_firms_are_counted_once_per_firm_and_lost_only_when_they_reported_last_month():
    """report_quality_missing: a listed cluster's firms that reported this month, those that did not, and those
    that reported last month but not this one, each firm counted once whatever its rows; firms of a cluster not
    listed, and a month row without a firm, count nowhere."""
    from flows.support.warehouse import rows

    con = schema_warehouse()
    con.execute("""INSERT INTO core.firms (uscc, cluster_id) VALUES
                   ('A1', 'A'), ('A2', 'A'), ('A3', 'A'), ('A4', 'A'), ('B1', 'B'), ('C1', 'C')""")
    now, before, older = dt.date(2025, 12, 1), dt.date(2025, 11, 1), dt.date(2025, 10, 1)
    con.executemany("INSERT INTO core.firm_monthly (uscc, period) VALUES (?, ?)", [
        ("A1", now), ("A1", now), ("A1", before),    # reported both months (a month's row twice)
        ("A2", before), ("A2", before),              # lost: last month, not this one
        ("A3", older),                               # missing, but not last month either
        ("B1", now), ("C1", before), (None, now), (None, before)])
    got = rows(con, "report_quality_missing", {"clusters": ["A", "B"], "period": now, "previous": before})
    assert [tuple(r.values()) for r in got] == [("A", 4, 1, 3, 1), ("B", 1, 1, 0, 0)]
