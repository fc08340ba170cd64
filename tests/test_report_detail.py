"""The report details a configured number of clusters one by one (flows/registry/report.toml [detail]
max_clusters): those with an alert in the month first, then by development index rank; it says in the report's
language how many it leaves out and where their detail is, and the standalone pages keep every cluster.
Its per-cluster tables list a configured number of clusters ([tables] max_rows): alerted first, then the largest
by output TTM (the index ranking: the best ranked); a sentence under each says where every row is (the CSVs).

On the planted warehouse of tests/planted.py (9 clusters, real indicator stage) with one alert planted on the
cluster the index ranks last, so "alerts first" is visible.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import planted
import pytest
from conftest import charts_unpainted
from PIL import Image

from flows.stages import s11_chain
from flows.stages.s11_report import ReportFiles, enqueue_report, render_report

PERIOD = planted.LATEST
CAP = 3


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The planted warehouse with a reporting-gap alert (new this month) on the lowest-ranked cluster."""
    path = planted.build(tmp_path_factory.mktemp("detail") / "cw.duckdb")
    with duckdb.connect(str(path)) as con:
        last = con.execute("SELECT cluster_id FROM mart.cluster_index WHERE period = ? ORDER BY rank DESC LIMIT 1",
                           [PERIOD]).fetchone()[0]
        con.execute("INSERT INTO mart.alerts (alert_id, rule, subject, cluster_id, period, last_period, severity, "
                    "message_zh, message_en, evidence, status) VALUES ('planted', 'reporting_gap', ?, ?, ?, ?, "
                    "'warning', '', '', ?, 'active')",
                    [last, last, PERIOD, PERIOD,
                     json.dumps({"latest": {"n_missing": 2, "value": 0.4, "threshold": 0.1}})])
    return path


@pytest.fixture()
def cap(monkeypatch, tmp_path) -> int:
    """report.toml with max_clusters = CAP, in place of the registry's."""
    config = tmp_path / "report.toml"
    config.write_text(f"[detail]\nmax_clusters = {CAP}\n[tables]\nmax_rows = 50\n", encoding="utf-8")
    monkeypatch.setattr(s11_chain, "REPORT_CONFIG", config)
    return CAP


@pytest.fixture()
def rows_cap(monkeypatch, tmp_path) -> int:
    """report.toml with [tables] max_rows = CAP (every cluster detailed in the chain section)."""
    config = tmp_path / "report.toml"
    config.write_text(f"[detail]\nmax_clusters = 30\n[tables]\nmax_rows = {CAP}\n", encoding="utf-8")
    monkeypatch.setattr(s11_chain, "REPORT_CONFIG", config)
    return CAP


def _expected(warehouse: Path) -> tuple[list[str], list[str], str]:
    """(every cluster id in table order, the CAP detailed ones in table order, the alerted one)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        order = [r[0] for r in con.execute("SELECT cluster_id FROM core.clusters ORDER BY domain, cluster_id")
                 .fetchall()]
        ranked = [r[0] for r in con.execute("SELECT cluster_id FROM mart.cluster_index WHERE period = ? "
                                            "ORDER BY rank", [PERIOD]).fetchall()]
    alerted = ranked[-1]
    chosen = {alerted, *ranked[:CAP - 1]}
    return order, [c for c in order if c in chosen], alerted


def _names(warehouse: Path, ids: list[str]) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = dict(con.execute("SELECT cluster_id, cluster_name FROM core.clusters").fetchall())
    return [names[c] for c in ids]


def _render(warehouse: Path, tmp_path: Path, lang: str, audience: str) -> tuple[ReportFiles, str]:
    """An edition's files and its supply-chain section's HTML (the section's own radars and diagrams drawn,
    the trend charts not)."""
    with charts_unpainted():
        files = render_report(warehouse, PERIOD, lang=lang, audience=audience, out_dir=tmp_path / "out",
                              maps_dir=tmp_path / "maps", pdf=False)
    return files, files.html.read_text(encoding="utf-8").split('id="s8"', 1)[1]


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.convert("RGB").tobytes()


def _detailed(section: str) -> list[str]:
    """The names of the clusters the section details one by one, in order."""
    return re.findall(r'<h4 class="chain-cluster">([^<]*)</h4>', section)


def _notes(section: str) -> list[str]:
    """The section's sentences saying how many clusters it leaves out and where their detail is."""
    return re.findall(r'<p class="note detail-note">([^<]*)</p>', section)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_internal_edition_details_alerted_then_top_ranked_clusters_and_says_where_the_rest_are(
        warehouse, cap, lang, tmp_path) -> None:
    order, shown, alerted = _expected(warehouse)
    files, section = _render(warehouse, tmp_path, lang, "internal")
    assert _detailed(section) == _names(warehouse, shown)
    assert alerted in shown
    ranking = re.search(r'<table id="index-table">.*?</table>', section, re.S).group(0)
    assert ranking.count("<tr>") == len(order) + 1  # the ranking lists every cluster (under [tables] max_rows)
    notes = _notes(section)
    folder = f"{files.html.stem}_chain"
    expected = {"zh": f"本节雷达图与（二）逐一列示{cap}个集群（有本月预警的集群在前，其余按集群发展指数名次）；"
                      f"其余{len(order) - cap}个集群的产业链图谱、雷达图与招商线索见随本报告生成的各集群单独页面"
                      f"（{folder}/集群代码.html），亦见分省版月报。",
                "en": f"The radars and section 8.2 detail {cap} clusters (those with an alert this month first, "
                      f"then by development index rank); the chain maps, radars and investment leads of the other "
                      f"{len(order) - cap} clusters are in the standalone page per cluster written with this report "
                      f"({folder}/&lt;cluster id&gt;.html) and in the per-province editions."}[lang]
    assert notes == [expected, expected]   # under the index table and at the top of the chain subsection
    # every cluster keeps its standalone page with its radar (inline SVG); the index figure holds the detailed
    # clusters' radars only
    pages = [p for p in files.chain if p.suffix == ".html"]
    assert sorted(p.stem for p in pages) == sorted(order)
    assert all('<div id="radar"><img src="data:image/svg+xml;base64,' in p.read_text(encoding="utf-8") for p in pages)
    assert not any(p.name.endswith("_radar.png") and not p.name.startswith("index_radar") for p in files.chain)
    figure = next(p for p in files.chain if p.name == "index_radar.png")
    tile = (286, 297)   # a radar tile: 2.6 × 2.7 in at 110 dpi
    assert Image.open(figure).size == (tile[0] * cap, tile[1])
    assert not any(p.name == "index_radar_2.png" for p in files.chain)


@pytest.mark.parametrize("per_core", [False, True], ids=["one drawing worker", "one per core"])
def test_what_worker_processes_draw_is_what_the_report_process_draws(
        warehouse, cap, monkeypatch, tmp_path, per_core) -> None:
    """With enough undetailed clusters a worker process draws the trend charts, the map, the index figure, the chain
    diagrams and the standalone pages while this process writes the supply-chain section's blocks and lays out the
    HTML and PDF (flows/render/chain.py page_workers; with thousands of pages, one worker per core draws the pages):
    same files, same order, same bytes and pixels."""
    from flows.render import chain

    def drawn(out: Path) -> ReportFiles:     # the charts painted: a worker draws them with its own matplotlib
        return render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=out / "out",
                             maps_dir=out / "maps", pdf=False)

    order, _, _ = _expected(warehouse)
    monkeypatch.setattr(chain, "DRAWING_WORKER_MIN_PAGES", 10**6)
    monkeypatch.setattr(chain, "PARALLEL_MIN_PAGES", 10**6)
    alone = drawn(tmp_path / "alone")
    pools = []

    @contextmanager
    def recorded(audience, pages):
        with real(audience, pages) as workers:
            pools.append(workers)
            yield workers

    real = chain.page_workers
    monkeypatch.setattr(chain, "page_workers", recorded)
    # every radar (the index figure's too) and chain diagram is a worker's: this process goes on with the section's
    # blocks meanwhile, and needs no matplotlib for them
    monkeypatch.setattr(chain, "radars", lambda *a, **k: pytest.fail("the report's process drew a radar"))
    monkeypatch.setattr(chain, "chain_svgs", lambda *a, **k: pytest.fail("the report's process wrote a diagram"))
    monkeypatch.setattr(chain, "DRAWING_WORKER_MIN_PAGES", len(order))
    if per_core:
        monkeypatch.setattr(chain, "PARALLEL_MIN_PAGES", len(order))
    workers = drawn(tmp_path / "workers")
    assert len(pools) == 1 and pools[0] is not None   # drawn by worker processes
    assert pools[0].size == (chain._cpus() if per_core else 1)
    assert [p.relative_to(tmp_path / "alone") for p in alone.all()] == \
           [p.relative_to(tmp_path / "workers") for p in workers.all()]
    assert workers.charts and workers.map_png is not None
    for a, b in zip(alone.all(), workers.all(), strict=True):
        if a.suffix == ".png":
            assert _pixels(a) == _pixels(b), a.name
        else:
            assert a.read_bytes() == b.read_bytes(), a.name


def test_a_nation_sized_internal_edition_draws_beside_the_report_in_one_worker_niced_only_for_the_pages() -> None:
    """The nation's 600 undetailed clusters: one worker process draws the charts and the map at the report's
    priority (the report waits for them), then the pages niced (nothing waits for them); several thousand take a
    worker per core, niced."""
    from flows.render.chain import PAGE_NICENESS, page_workers

    own = os.getpriority(os.PRIO_PROCESS, 0)
    with page_workers("internal", 600) as workers:
        assert workers is not None and workers.size == 1
        assert workers.pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() == own
        workers.nice_from_here()
        workers.nice_from_here()        # once: the pages of a second call are no nicer
        assert workers.pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() == min(own + PAGE_NICENESS, 19)
    for audience, pages in (("internal", 20), ("public", 600)):
        with page_workers(audience, pages) as workers:
            assert workers is None


@pytest.mark.parametrize("started", [True, False], ids=["drawn ahead", "not started by the report"])
def test_trend_charts_the_night_hands_to_its_worker_before_the_alerts_are_the_ones_the_report_shows(
        warehouse, cap, monkeypatch, tmp_path, started) -> None:
    """At nation the night decides the report's edition before its alert stage and hands the trend charts to its
    worker process (begin_reports), so the report's process does not wait for its own drawing worker to draw them:
    the report shows those files, drawn once, and is the report render_report writes. Charts the worker has not
    started by the report are cancelled and drawn by the report."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Event

    from flows.render import chain
    from flows.stages.s11_report import begin_reports, report_stage

    order, _, _ = _expected(warehouse)
    monkeypatch.setattr(chain, "DRAWING_WORKER_MIN_PAGES", 10**6)
    alone = render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=tmp_path / "alone" / "2025-12",
                          maps_dir=tmp_path / "alone_maps")
    monkeypatch.setattr(chain, "DRAWING_WORKER_MIN_PAGES", len(order))
    busy = Event()
    with duckdb.connect(str(warehouse), read_only=True) as con, ThreadPoolExecutor(1) as side:
        if not started:
            side.submit(busy.wait)              # the night's worker still at its earlier jobs
        [begun] = begin_reports(con, side, out_root=tmp_path / "night", maps_dir=tmp_path / "night_maps")
        assert begun.ahead is not None
        if started:
            ahead = begun.ahead.result()        # drawn beside the alert stage, before the report stage
            written = [p.stat().st_mtime_ns for p in ahead]
        [night] = report_stage(con, PERIOD, recipients=[], out_root=tmp_path / "night",
                               maps_dir=tmp_path / "night_maps", begun=[begun])
        busy.set()
    assert begun.ahead.cancelled() is not started
    if started:
        assert night.charts == ahead and [p.stat().st_mtime_ns for p in ahead] == written   # not drawn again
    assert [p.relative_to(tmp_path / "alone") for p in alone.all() if "maps" not in p.parts] == \
           [p.relative_to(tmp_path / "night") for p in night.all() if "maps" not in p.parts]
    assert night.charts and night.pdf is not None
    for a, b in zip(alone.all(), night.all(), strict=True):
        if a.suffix == ".png":
            assert _pixels(a) == _pixels(b), a.name
        elif a.suffix not in (".pdf", ".html"):      # the HTML and PDF name their map's folder
            assert a.read_bytes() == b.read_bytes(), a.name
    html = [p.read_text(encoding="utf-8") for p in (alone.html, night.html)]
    assert html[0] == html[1]


def test_the_supply_chain_section_is_prepared_as_the_report_is_begun_and_only_ordered_by_the_months_alerts_later(
        warehouse, cap, monkeypatch, tmp_path) -> None:
    """The night prepares the report's supply-chain section beside its alert stage (begin_reports, which the night
    runs in a thread of its own, calls s11_chain.prepare); the report stage reads none of its marts again and only
    puts the clusters the alert stage has just alerted first. The report is the one render_report writes once the
    alert is in."""
    from concurrent.futures import ThreadPoolExecutor

    from flows.stages.s11_report import begin_reports, report_stage

    alone = render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=tmp_path / "alone" / "2025-12",
                          maps_dir=tmp_path / "alone_maps")
    night_copy = shutil.copy(warehouse, tmp_path / "night.duckdb")
    with duckdb.connect(str(night_copy)) as con, ThreadPoolExecutor(1) as side:
        con.execute("CREATE TEMP TABLE planted_alert AS SELECT * FROM mart.alerts WHERE alert_id = 'planted'")
        con.execute("DELETE FROM mart.alerts WHERE alert_id = 'planted'")
        [begun] = begin_reports(con, side, out_root=tmp_path / "night", maps_dir=tmp_path / "night_maps")
        assert begun.chain is not None and begun.chain.result() is not None    # prepared before the alerts
        con.execute("INSERT INTO mart.alerts SELECT * FROM planted_alert")     # the alert stage's new alert

        def read_again(*args, **kwargs):
            raise AssertionError("the report stage read the supply-chain marts again")
        monkeypatch.setattr(s11_chain, "prepare", read_again)
        [night] = report_stage(con, PERIOD, recipients=[], out_root=tmp_path / "night",
                               maps_dir=tmp_path / "night_maps", begun=[begun])
    assert _detailed(night.html.read_text(encoding="utf-8")) == _detailed(alone.html.read_text(encoding="utf-8"))
    assert night.html.read_text(encoding="utf-8") == alone.html.read_text(encoding="utf-8")


def test_the_index_figure_is_handed_to_the_drawing_worker_before_the_report_decides_its_other_sections(
        warehouse, cap, monkeypatch, tmp_path) -> None:
    """The report's process waits for the index figure before its HTML: it is handed to the drawing worker as soon as
    the supply-chain section is decided, so the worker draws it while this process decides the KPIs, tables,
    ratings and data quality (chain.start_section), not after them."""
    from flows.render import chain
    from flows.stages import s11_report

    order, _, _ = _expected(warehouse)
    asked: list[str] = []

    @contextmanager
    def recorded(audience, pages):
        with real(audience, pages) as workers:
            submit = workers.pool.submit
            monkeypatch.setattr(workers.pool, "submit", lambda fn, *a, **k: asked.append(fn.__name__) or
                                submit(fn, *a, **k))
            yield workers

    def kpis(e):
        assert "index_figures" in asked, "the KPIs were decided before the index figure was handed over"
        return real_kpis(e)

    real, real_kpis = chain.page_workers, s11_report._kpis
    monkeypatch.setattr(chain, "page_workers", recorded)
    monkeypatch.setattr(s11_report, "_kpis", kpis)
    monkeypatch.setattr(chain, "DRAWING_WORKER_MIN_PAGES", len(order))
    files = render_report(warehouse, PERIOD, lang="zh", audience="internal", out_dir=tmp_path / "out",
                          maps_dir=tmp_path / "maps", pdf=False)
    assert "index_figures" in asked and any(p.name == "index_radar.png" for p in files.chain)


def test_a_drawing_worker_is_spawned_as_the_workers_are_made_not_at_the_first_drawing() -> None:
    """The report makes its workers before it reads and protects the edition (render_report), so the worker's spawn
    and imports are done by the time the trend charts are asked for: a ProcessPoolExecutor spawns a worker at its
    first job, which page_workers submits at once (the imports)."""
    import time

    import psutil

    from flows.render.chain import page_workers

    def workers() -> set[int]:      # spawned pool workers (not multiprocessing's resource tracker)
        return {p.pid for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())}

    before = workers()
    with page_workers("internal", 600):
        deadline = time.monotonic() + 30
        while not workers() - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers() - before, "no drawing worker before the first drawing"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_public_edition_details_the_same_clusters_and_points_to_the_province_editions(
        warehouse, cap, lang, tmp_path) -> None:
    order, shown, _ = _expected(warehouse)
    files, section = _render(warehouse, tmp_path, lang, "public")
    assert _detailed(section) == _names(warehouse, shown)
    notes = _notes(section)
    left = len(order) - cap
    assert notes and set(notes) == {
        {"zh": f"本节雷达图与（二）逐一列示{cap}个集群（有本月预警的集群在前，其余按集群发展指数名次）；"
               f"其余{left}个集群的产业链环节汇总见分省版月报。",
         "en": f"The radars and section 8.2 detail {cap} clusters (those with an alert this month first, then by "
               f"development index rank); the segment aggregates of the other {left} clusters are in the "
               f"per-province editions."}[lang]}
    assert not any(p.suffix == ".html" for p in files.chain)   # no standalone page in public


def test_an_edition_within_the_limit_details_every_cluster_without_a_note(warehouse, tmp_path) -> None:
    order, _, _ = _expected(warehouse)
    assert s11_chain.detail_limit() >= len(order)   # the registry's limit, as the sample night uses it
    _, section = _render(warehouse, tmp_path, "zh", "internal")
    assert _detailed(section) == _names(warehouse, order)
    assert "detail-note" not in section


@pytest.mark.parametrize("value", ["0", "2.5", '"30"', "true"])
@pytest.mark.parametrize(("section", "key", "read"), [("detail", "max_clusters", s11_chain.detail_limit),
                                                      ("tables", "max_rows", s11_chain.table_limit)])
def test_a_limit_that_is_not_a_whole_number_of_at_least_one_is_refused(monkeypatch, tmp_path, value, section, key,
                                                                         read) -> None:
    config = tmp_path / "report.toml"
    config.write_text(f"[{section}]\n{key} = {value}\n", encoding="utf-8")
    monkeypatch.setattr(s11_chain, "REPORT_CONFIG", config)
    with pytest.raises(ValueError, match=rf"report\.toml: \[{section}\] {key} must be a whole number ≥ 1"):
        read()


def test_the_detailed_clusters_are_alerted_first_then_by_rank_unranked_last() -> None:
    ids = ["a", "b", "c", "d", "e"]
    ranks = {"a": 4, "b": None, "c": 1, "d": 2, "e": 3}
    assert s11_chain.detailed(ids, ranks, {"a"}, 3) == ["a", "c", "d"]          # table order kept
    assert s11_chain.detailed(ids, ranks, {"b"}, 2) == ["b", "c"]
    assert s11_chain.detailed(ids, ranks, (), 5) == ids
    assert s11_chain.detailed(ids, ranks, (), 4) == ["a", "c", "d", "e"]        # the unranked one is left out



@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_report_too_large_to_mail_attaches_what_fits_and_names_the_rest_with_its_path(
        warehouse, tmp_path, lang) -> None:
    pdf, html = tmp_path / "r.pdf", tmp_path / "r.html"
    pdf.write_bytes(b"p" * 600_000)     # 0.8 MB once base64-encoded
    html.write_bytes(b"h" * 900_000)    # 1.2 MB: both together are over 1.5 MB
    files = ReportFiles(PERIOD, lang, "internal", None, html, pdf)
    db = tmp_path / "cw.duckdb"
    shutil.copyfile(warehouse, db)
    with duckdb.connect(str(db)) as con:
        small = enqueue_report(con, files, ["a@example.org"], max_message_mb=1.5)
        large = enqueue_report(con, files, ["a@example.org"], max_message_mb=2.5)
        got = {i: (json.loads(p)["text"], a) for i, p, a in
               con.execute("SELECT id, payload, attachments FROM meta.outbox").fetchall()}
    text, attached = got[small]
    assert attached == [str(pdf)]
    assert {"zh": f"r.html（0.9 MB）超过邮件大小上限（1.5 MB），未随信附送，见服务器上的 {html}。",
            "en": f"r.html (0.9 MB) is over the mail size limit (1.5 MB) and is not attached; it is on the server "
                  f"at {html}."}[lang] in text
    text, attached = got[large]
    assert attached == [str(pdf), str(html)] and "r.html" not in text


def _cluster_table_ids(html: str) -> list[str]:
    """The cluster ids the cluster table lists, in order."""
    body = re.search(r'<table id="cluster-table".*?</table>', html, re.S).group(0)
    return re.findall(r'<tr data-row="cluster" data-id="([^"]+)"', body)


def _csv_ids(path: Path, column: str = "cluster_id") -> list[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [r[column] for r in csv.DictReader(handle) if r.get("row_kind", "cluster") == "cluster"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tables_over_the_row_limit_list_alerted_then_leading_clusters_and_name_the_csv_with_every_row(
        warehouse, rows_cap, lang, tmp_path) -> None:
    order, _, alerted = _expected(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        largest = [r[0] for r in con.execute(
            "SELECT cluster_id FROM mart.cluster_indicators WHERE period = ? AND indicator = 'output_ttm' "
            "AND value IS NOT NULL ORDER BY value DESC, cluster_id", [PERIOD]).fetchall()]
        ranked = [r[0] for r in con.execute("SELECT cluster_id FROM mart.cluster_index WHERE period = ? "
                                            "ORDER BY rank", [PERIOD]).fetchall()]
        rated = sorted(r[0] for r in con.execute("SELECT DISTINCT cluster_id FROM mart.firm_ratings WHERE period = ?",
                                                 [PERIOD]).fetchall())
    by_output = [c for c in order if c in {alerted, *[c for c in largest if c != alerted][:rows_cap - 1]}]
    by_rank = [c for c in ranked if c in {alerted, *ranked[:rows_cap - 1]}]
    files, _ = _render(warehouse, tmp_path, lang, "internal")
    html = files.html.read_text(encoding="utf-8")
    names = dict(zip(order, _names(warehouse, order), strict=True))
    assert _cluster_table_ids(html) == by_output
    missing = re.search(r'<table id="missing-table">.*?</table>', html, re.S).group(0)
    assert re.findall(r'<tr><td class="text">([^<]*)</td>', missing) == [names[c] for c in sorted(by_output)]
    index = re.search(r'<table id="index-table">.*?</table>', html, re.S).group(0)
    assert re.findall(r'<tr><td class="num">[^<]*</td><td class="text">([^<]*)</td>', index) == \
        [names[c] for c in by_rank]
    # every row stays in the CSVs beside the report
    csvs = {p.stem.rsplit("_", 1)[-1]: p for p in [*files.tables, *files.full_tables]}
    assert sorted(_csv_ids(csvs["clusters"])) == sorted(order)
    assert sorted(_csv_ids(csvs["missing"])) == sorted(order)
    assert _csv_ids(csvs["index"]) == ranked
    assert _csv_ids(csvs["ratings"]) == rated
    ratings = re.search(r'<table id="ratings-table">.*?</table>', html, re.S).group(0)
    assert re.findall(r'<tr><td class="text">([^<]*)</td>', ratings) == [names[c] for c in rated if c in by_output]
    notes = dict(re.findall(r'<p class="note listed-note" data-table="([a-z]+)">([^<]*)</p>', html))
    n = len(order)
    stem = files.html.stem
    expected = {
        "zh": {"clusters": f"本表列示{rows_cap}个集群（有本月预警的集群，以及近12个月产值最大的集群）；"
                           f"全部{n}个集群见随本报告生成的数据文件 {stem}_clusters.csv。",
               "index": f"本表列示{rows_cap}个集群（有本月预警的集群，以及发展指数名次居前的集群）；"
                        f"全部{n}个集群见随本报告生成的数据文件 {stem}_index.csv。"},
        "en": {"clusters": f"This table lists {rows_cap} of the {n} clusters (those with an alert this month, and the "
                           f"largest by 12-month output); every cluster is in the data file {stem}_clusters.csv "
                           f"written with this report.",
               "index": f"This table lists {rows_cap} of the {n} clusters (those with an alert this month, and the "
                        f"best ranked by development index); every cluster is in the data file {stem}_index.csv "
                        f"written with this report."}}[lang]
    assert notes["clusters"] == expected["clusters"] and notes["index"] == expected["index"]
    assert notes["missing"] == expected["clusters"].replace("_clusters.csv", "_missing.csv")
    assert ("ratings" in notes) == (len(rated) > len([c for c in rated if c in by_output]))


def test_tables_within_the_row_limit_list_every_cluster_without_a_note(warehouse, tmp_path) -> None:
    order, _, _ = _expected(warehouse)
    assert s11_chain.table_limit() >= len(order)   # the registry's limit, as the sample night uses it
    files, _ = _render(warehouse, tmp_path, "zh", "internal")
    html = files.html.read_text(encoding="utf-8")
    assert _cluster_table_ids(html) == order
    assert "listed-note" not in html


def test_a_standalone_page_is_drawn_again_exactly_when_what_it_is_drawn_from_changed(
        warehouse, cap, monkeypatch, tmp_path) -> None:
    """The pages of the clusters the report does not detail keep a hash of their inputs (flows/render/chain.py
    page_inputs): rendering the same month again redraws none of them and changes no byte; a changed flow of one
    cluster redraws that cluster's page only, and it is then what a render from scratch draws; a changed drawing
    redraws every page."""
    from flows.render import chain

    order, shown, _ = _expected(warehouse)
    rest = [c for c in order if c not in shown]
    copy = tmp_path / "cw.duckdb"
    shutil.copy(warehouse, copy)
    monkeypatch.setattr(chain, "DRAWING_WORKER_MIN_PAGES", 10**6)   # in this process, so the drawing can be watched
    drawn: list[str] = []
    real = chain._cluster_blocks

    def watched(blocks, *args, **kwargs):
        drawn.extend(b["id"] for b in blocks)
        return real(blocks, *args, **kwargs)

    monkeypatch.setattr(chain, "_cluster_blocks", watched)

    def render(out: Path) -> dict[Path, bytes]:
        drawn.clear()
        files, _ = _render(copy, out, "zh", "internal")
        assert not any(p.suffix == ".inputs" for p in files.all())
        return {p.relative_to(out): p.read_bytes() for p in files.chain}

    first = render(tmp_path / "a")
    assert sorted(drawn) == sorted(order)
    again = render(tmp_path / "a")
    assert sorted(drawn) == sorted(shown)          # the detailed ones are drawn in the report; no page again
    assert again == first
    changed = rest[0]
    with duckdb.connect(str(copy)) as con:   # one more firm in one segment of one cluster the report does not detail
        con.execute("UPDATE mart.chain_segments SET n_firms = n_firms + 1 WHERE period = ? AND cluster_id = ?",
                    [PERIOD, changed])
    after = render(tmp_path / "a")
    assert sorted(drawn) == sorted([*shown, changed])
    page = next(p for p in first if p.name == f"{changed}.html")
    assert after[page] != first[page]
    fresh = render(tmp_path / "b")
    assert after == fresh                           # byte for byte what a render from scratch gives
    monkeypatch.setattr(chain, "_drawing_version", lambda: "another drawing")
    render(tmp_path / "a")
    assert sorted(drawn) == sorted(order)
