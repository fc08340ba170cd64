"""Cluster-map snapshots: immutable versions, disclosure control, and files a person can open offline.

The warehouse is built here from the sample's real clusters (flows.sample.spec) with hand-set indicator
rows in the indicator stage's own mart tables (flows.support.warehouse.apply_schema), so these tests do not
depend on the sample generator or the indicator SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
import shapely
from conftest import headless_chromium, schema_warehouse
from shapely.geometry import shape

from flows.cli import main
from flows.render import maps
from flows.sample.spec import CLUSTERS, PROVINCES
from flows.stages import s07_indicators as indicators
from flows.stages import s08_snapshot as snapshot
from flows.support.processes import spawned_pool

PERIOD = dt.date(2025, 12, 1)
SUPPRESSED = ("JH_BIKE", "per_mu_tax")  # built from 2 firms → must not leave the warehouse


def build_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse with the sample's 16 clusters and one period of headline indicators."""
    con = schema_warehouse(path)
    indicators.refresh_dictionary(con)
    for c in CLUSTERS:
        con.execute("INSERT INTO core.clusters (cluster_id, cluster_name, province, city, adcode, domain, "
                    "leading_industry, level, lon, lat, local_scope, file_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [c["cluster_id"], c["cluster_name"], PROVINCES[c["prov"]], c["city"], c["adcode"], c["domain"],
                     c["leading_industry"], c["level"], c["lon"], c["lat"], c["local_scope"]])
    for k, c in enumerate(CLUSTERS):
        values = {"output_ttm": float(c["target"]), "local_supporting_rate": c["p_local"],
                  "per_mu_tax": 3.0 + 5 * k, "output_ytd_yoy": -0.12 + 0.02 * k, "cloud_rate": 0.1 + 0.05 * k,
                  "n_firms": float(c["n_firms"])}
        for code, value in values.items():
            n = 2 if (c["cluster_id"], code) == SUPPRESSED else c["n_firms"]
            con.execute("INSERT INTO mart.cluster_indicators (cluster_id, period, indicator, value, n_firms) "
                        "VALUES (?, ?, ?, ?, ?)", [c["cluster_id"], PERIOD, code, value, n])
        con.execute("INSERT INTO mart.cluster_classes (cluster_id, period, scale_tier, stage) VALUES (?, ?, ?, ?)",
                    [c["cluster_id"], PERIOD, "千亿级", ("集聚", "过渡", "集群")[k % 3]])
    return con


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    """One snapshot of 2025-12, shared by the read-only checks of its files."""
    root = tmp_path_factory.mktemp("snap")
    con = build_warehouse(root / "w.duckdb")
    result = snapshot.snapshot_period(con, PERIOD, root / "maps")
    yield con, result, root
    con.close()


def test_snapshot_writes_header_rows_and_three_files(snap):
    con, result, root = snap
    assert result.created and result.version == 1 and result.snapshot_id == "map-2025-12-v1"
    assert result.n_clusters == len(CLUSTERS)
    assert con.execute("SELECT count(*) FROM mart.map_snapshots").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM mart.map_snapshot_clusters").fetchone()[0] == len(CLUSTERS)
    assert {p.suffix for p in result.files} == {".geojson", ".png", ".html"}
    assert all(p.exists() and p.parent == root / "maps" / "2025-12" for p in result.files)
    wide = con.execute("SELECT local_supporting_rate_class FROM mart.map_snapshot_clusters "
                       "WHERE cluster_id = 'XS_AUTO'").fetchone()[0]
    assert wide == "≥60%"  # 0.70 on the fixed breaks of the registry (indicators.toml [indicator.map])


def test_every_snapshot_table_and_column_is_commented_in_chinese_and_english(snap):
    con, _, _ = snap
    for table in ("map_snapshots", "map_snapshot_clusters", "global_clusters"):
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'mart' AND table_name = ?",
                              [table]).fetchone()[0]
        assert comment and " / " in comment and re.search(r"[\u4e00-\u9fff]", comment)
        missing = con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'mart' "
                              "AND table_name = ? AND (comment IS NULL OR comment NOT LIKE '% / %')",
                              [table]).fetchall()
        assert missing == [], f"{table}: uncommented columns {missing}"


def test_rerun_with_unchanged_inputs_gives_the_same_hash_and_no_new_snapshot(snap):
    con, first, root = snap
    again = snapshot.snapshot_period(con, PERIOD, root / "maps")
    assert not again.created
    assert (again.snapshot_id, again.version, again.content_hash) == (first.snapshot_id, 1, first.content_hash)
    assert con.execute("SELECT count(*) FROM mart.map_snapshots").fetchone()[0] == 1


def test_a_revision_adds_version_2_and_keeps_version_1(tmp_path):
    con = build_warehouse(tmp_path / "w.duckdb")
    out = tmp_path / "maps"
    v1 = snapshot.snapshot_period(con, PERIOD, out)
    v1_bytes = {p: p.read_bytes() for p in v1.files}
    con.execute("UPDATE mart.cluster_indicators SET value = 0.31 "
                "WHERE cluster_id = 'SZ_EI' AND indicator = 'local_supporting_rate'")
    v2 = snapshot.snapshot_period(con, PERIOD, out)
    assert v2.created and v2.version == 2 and v2.content_hash != v1.content_hash
    versions = con.execute("SELECT version, content_hash FROM mart.map_snapshots ORDER BY version").fetchall()
    assert versions == [(1, v1.content_hash), (2, v2.content_hash)]
    rates = dict(con.execute("SELECT version, local_supporting_rate FROM mart.map_snapshot_clusters "
                             "WHERE cluster_id = 'SZ_EI'").fetchall())
    assert rates == {1: pytest.approx(0.62), 2: pytest.approx(0.31)}
    assert con.execute("SELECT version FROM mart.map_snapshot_latest").fetchall() == [(2,)]
    assert {p: p.read_bytes() for p in v1.files} == v1_bytes  # version 1's files untouched
    assert not set(v1.files) & set(v2.files)
    again = snapshot.snapshot_period(con, PERIOD, out)
    assert not again.created and again.version == 2


def test_files_drawn_in_the_night_worker_process_are_the_files_drawn_here_byte_for_byte(snap, tmp_path):
    """The night hands the drawing to its worker process (flows.nightly.night_worker, beside the alert stage): the
    rows travel pickled, the same files come out once wait() returns; the DuckDB rows are stored before the call
    returns, whatever the drawing does."""
    con, here, root = snap
    draw = spawned_pool(1)
    try:
        draw.submit(snapshot.prepare_drawing).result()      # as the night starts it: its imports first
        handed = snapshot.snapshot_period(con, PERIOD, tmp_path / "maps", draw=draw)
        assert handed.pending is not None
        files = handed.wait()
    finally:
        draw.shutdown(wait=True)
    assert handed.pending is None and files == handed.files
    assert [p.relative_to(tmp_path / "maps") for p in files] == [p.relative_to(root / "maps") for p in here.files]
    assert [p.read_bytes() for p in files] == [p.read_bytes() for p in here.files]


def test_a_drawing_that_fails_in_its_thread_fails_at_wait(tmp_path, monkeypatch):
    con = build_warehouse(tmp_path / "w.duckdb")

    def broken(*_args: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(maps, "render_rows", broken)
    with ThreadPoolExecutor(max_workers=1) as draw:
        result = snapshot.snapshot_period(con, PERIOD, tmp_path / "maps", draw=draw)
        assert result.created       # the rows are stored; the files are the drawing's
        with pytest.raises(OSError, match="No space left"):
            result.wait()


def test_fewer_than_3_firms_is_marked_in_duckdb_and_suppressed_in_every_file(snap):
    con, result, _ = snap
    value, suppressed, klass = con.execute(
        "SELECT per_mu_tax, per_mu_tax_suppressed, per_mu_tax_class FROM mart.map_snapshot_clusters "
        "WHERE cluster_id = ?", [SUPPRESSED[0]]).fetchone()
    assert value is not None and suppressed is True  # internal analysts see the value, marked
    geojson = next(p for p in result.files if p.suffix == ".geojson")
    props = {f["id"]: f["properties"] for f in json.loads(geojson.read_text(encoding="utf-8"))["features"]}
    assert props[SUPPRESSED[0]]["per_mu_tax"] is None and props[SUPPRESSED[0]]["per_mu_tax_suppressed"] is True
    assert props[SUPPRESSED[0]]["per_mu_tax_class"] is None
    assert props["SZ_EI"]["per_mu_tax"] is not None
    html = next(p for p in result.files if p.suffix == ".html").read_text(encoding="utf-8")
    payload = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)[1])
    bike = next(c for c in payload["clusters"] if c["cluster_id"] == SUPPRESSED[0])
    assert bike["per_mu_tax"] is None and bike["per_mu_tax_class"] is None
    assert f"{value:g}" not in json.dumps(bike)
    # The PNG is drawn from the same public rows (maps.public_rows); check that layer directly.
    public = {r["cluster_id"]: r for r in maps.public_rows(maps.stored_rows(con, PERIOD)[1])}
    assert public[SUPPRESSED[0]]["per_mu_tax"] is None
    assert maps.class_color("per_mu_tax", None, suppressed=True) == maps.map_config()["suppressed_color"]


def test_geojson_is_valid_and_round_trips_through_shapely(snap):
    _, result, _ = snap
    geojson = next(p for p in result.files if p.suffix == ".geojson")
    data = json.loads(geojson.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == len(CLUSTERS)
    for feature in data["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        point = shape(feature["geometry"])
        assert point.is_valid and 73 < point.x < 136 and 3 < point.y < 54
        assert shapely.from_geojson(json.dumps(feature["geometry"])).equals(point)
        assert feature["properties"]["cluster_name"]
    assert data["metadata"]["content_hash"] == result.content_hash


def test_png_is_large_and_not_blank(snap):
    from PIL import Image

    _, result, _ = snap
    png = next(p for p in result.files if p.suffix == ".png")
    image = Image.open(png).convert("RGB")
    assert image.width >= 1200 and image.height >= 900
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200
    assert max(n for n, _ in colours) < 0.8 * image.width * image.height  # no flat single colour


def chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return headless_chromium(args, tmp_path / "profile")


LOCAL = ("file:", "data:", "about:", "chrome:", "blob:")


def network_activity(netlog: Path) -> tuple[set[str], list[str]]:
    """From Chromium's net log: remote URLs the page itself requested, and TCP connects to other hosts.

    Chromium's own background calls (update checks, sign-in; initiator "not an origin") are blocked by the
    dead proxy and resolver rules and show as failed jobs; they are not the page's, so only their
    connections (none may succeed) count.
    """
    log = json.loads(netlog.read_text(encoding="utf-8", errors="replace"))
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    page: set[str] = set()
    connections: list[str] = []
    for event in log["events"]:
        kind, params = types.get(event["type"]), event.get("params") or {}
        url = str(params.get("url", ""))
        if kind == "URL_REQUEST_START_JOB" and params.get("initiator") != "not an origin" and url \
                and not url.startswith(LOCAL):
            page.add(url)
        if kind in ("TCP_CONNECT", "TCP_CONNECT_ATTEMPT"):
            addresses = params.get("address_list") or [params.get("address", "")]
            connections += [a for a in addresses if a and not a.startswith(("127.", "[::1]"))]
    return page, connections


def test_html_map_renders_every_cluster_offline_in_headless_chromium(snap, tmp_path):
    _, result, _ = snap
    html = next(p for p in result.files if p.suffix == ".html")
    assert html.stat().st_size < 2_000_000
    text = html.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text), "the map must not reference anything remote"
    netlog = tmp_path / "netlog.json"
    run = chromium([f"--log-net-log={netlog}", "--window-size=1400,1000", "--dump-dom", html.as_uri()], tmp_path)
    dom = run.stdout
    assert f'data-rendered="{len(CLUSTERS)}"' in dom, run.stderr[-2000:]
    assert 'data-errors="0"' in dom
    assert re.search(r'<div id="errors"[^>]*></div>', dom), "the page reported an error"
    assert len(re.findall(r'<circle [^>]*class="cluster', dom)) == len(CLUSTERS)
    assert "不予公布" in dom  # the suppressed cell of the table
    page_requests, connections = network_activity(netlog)
    assert page_requests == set(), f"the page requested remote resources: {page_requests}"
    assert connections == [], f"connections left the machine: {connections}"
    shot = tmp_path / "html.png"
    chromium(["--window-size=1400,1000", f"--screenshot={shot}", html.as_uri()], tmp_path)
    assert shot.exists() and shot.stat().st_size > 20_000


def _body(dom: str) -> dict[str, str]:
    return dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', re.search(r"<body[^>]*>", dom).group(0)))


def _visible_labels(dom: str) -> set[str]:
    return set(re.findall(r'<text class="label"[^>]*visibility="visible"[^>]*>([^<]*)</text>', dom))


def test_html_map_zooms_and_its_labels_never_overlap(snap, tmp_path):
    _, result, _ = snap
    html = next(p for p in result.files if p.suffix == ".html")
    full = chromium(["--window-size=1400,1000", "--dump-dom", html.as_uri()], tmp_path).stdout
    # a link into the crowded Yangtze delta (合肥, 当涂, 无锡, 苏州 overlap at full view), zoomed 5×
    near = chromium(["--window-size=1400,1000", "--dump-dom", html.as_uri() + "#view=5,118.6,31.6"], tmp_path).stdout
    assert 'id="zoom-in"' in full and 'id="zoom-reset"' in full
    whole, zoomed = _body(full), _body(near)
    assert whole["data-zoom"] == "1.00" and zoomed["data-zoom"] == "5.00"
    assert whole["data-label-overlaps"] == zoomed["data-label-overlaps"] == "0"
    assert int(whole["data-labels-shown"]) + int(whole["data-labels-hidden"]) == len(CLUSTERS)
    crowded = {"合肥市智能语音", "当涂县装备制造", "苏州工业园区生物医药", "无锡高新区集成电路"}
    assert not crowded <= _visible_labels(full)        # at full view some of them must give way …
    assert crowded <= _visible_labels(near)            # … and zooming in shows every one of them


def test_render_map_works_from_a_read_only_connection(tmp_path):
    build_warehouse(tmp_path / "w.duckdb").close()
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    files = maps.render_map(con, PERIOD, "per_mu_tax", tmp_path / "out")
    assert all(p.exists() for p in files.all()) and files.png.name.endswith("_per_mu_tax.png")
    props = json.loads(files.geojson.read_text(encoding="utf-8"))["features"]
    assert {f["id"] for f in props} == {c["cluster_id"] for c in CLUSTERS}
    with pytest.raises(ValueError):
        maps.render_map(con, PERIOD, "no_such_indicator", tmp_path / "out")
    con.close()


def test_colour_classes_use_fixed_breaks_not_the_month():
    assert maps.class_of("local_supporting_rate", 0.19) == "<20%"
    assert maps.class_of("local_supporting_rate", 0.40) == "40～50%"
    assert maps.class_of("per_mu_tax", 31.84) == "30～50"  # Xushui, docs/architecture.md#sample-calibration
    assert maps.class_of("per_mu_tax", 250.0) == "≥200"
    assert maps.class_of("output_ytd_yoy", -0.2) == "<−10%"
    assert maps.class_of("stage", "集群") == "集群"
    assert maps.class_of("cloud_rate", None) is None
    assert maps.class_labels("output_ytd_yoy")[1] == "−10～−5%"


# Figure 2-1 of reference 004 (全球典型产业集群领域分布): clusters by domain and continent.
FIGURE_2_1 = {
    "新能源及智能网联汽车领域": {"澳洲": 0, "北美洲": 3, "南美洲": 0, "欧洲": 8, "亚洲": 10},
    "新材料领域": {"澳洲": 1, "北美洲": 5, "南美洲": 1, "欧洲": 5, "亚洲": 6},
    "消费品领域": {"澳洲": 3, "北美洲": 3, "南美洲": 0, "欧洲": 9, "亚洲": 2},
    "生物医药及高端医疗器械领域": {"澳洲": 0, "北美洲": 10, "南美洲": 0, "欧洲": 15, "亚洲": 10},
    "高端装备领域": {"澳洲": 0, "北美洲": 6, "南美洲": 1, "欧洲": 11, "亚洲": 11},
    "电子信息领域": {"澳洲": 1, "北美洲": 6, "南美洲": 0, "欧洲": 7, "亚洲": 16},
}
COVERED = ("澳洲", "北美洲", "南美洲", "欧洲")  # the appendix lists these continents completely; Asia only in part


def test_global_reference_table_matches_the_counts_stated_in_reference_004(tmp_path):
    con = schema_warehouse()
    assert snapshot.load_global_clusters(con) == 104
    counts = Counter(con.execute("SELECT domain, continent FROM mart.global_clusters").fetchall())
    assert sum(sum(row.values()) for row in FIGURE_2_1.values()) == 150  # the report's stated total
    for domain, by_continent in FIGURE_2_1.items():
        for continent, stated in by_continent.items():
            if continent in COVERED:
                assert counts[(domain, continent)] == stated, (domain, continent)
            else:
                assert counts[(domain, continent)] <= stated, (domain, continent)
    assert set(counts) <= {(d, c) for d in FIGURE_2_1 for c in FIGURE_2_1[d]}
    assert con.execute("SELECT count(*) FROM mart.global_clusters WHERE lon IS NULL OR lat IS NULL").fetchone()[0] == 0
    png = maps.render_world_map(con, tmp_path / "world.png")
    from PIL import Image

    image = Image.open(png).convert("RGB")
    assert image.width > 1200 and len(image.getcolors(maxcolors=1 << 20) or []) > 100


def test_a_history_night_stores_every_period_and_draws_files_for_the_latest(tmp_path):
    con = build_warehouse(tmp_path / "w.duckdb")
    november = dt.date(2025, 11, 1)
    con.execute("INSERT INTO mart.cluster_indicators (cluster_id, period, indicator, value, n_firms) "
                "SELECT cluster_id, ?, indicator, value * 0.9, n_firms FROM mart.cluster_indicators", [november])
    con.execute("INSERT INTO mart.cluster_classes (cluster_id, period, scale_tier, stage) "
                "SELECT cluster_id, ?, scale_tier, stage FROM mart.cluster_classes", [november])
    out = tmp_path / "maps"
    results = snapshot.snapshot_periods(con, {november, PERIOD}, out)
    assert [(r.period, r.version, r.created) for r in results] == [(november, 1, True), (PERIOD, 1, True)]
    assert all(p.exists() for p in results[1].files) and results[1].drawn
    assert not any(p.exists() for p in results[0].files) and not results[0].drawn
    assert sorted(snapshot.render_snapshot(con, november, out)) == sorted(results[0].files)
    assert all(p.exists() for p in results[0].files)


def test_a_cluster_without_coordinates_keeps_its_row_with_a_null_geometry(tmp_path):
    rows = maps.classify_rows([{"cluster_id": "X", "cluster_name": "无坐标集群", "lon": None, "lat": None,
                                "n_firms": 10, "output_ttm": 5.0e6, "output_ttm_n_firms": 10}])
    path = maps.write_geojson(rows, tmp_path / "x.geojson", {"period": "2025-12"})
    feature = json.loads(path.read_text(encoding="utf-8"))["features"][0]
    assert feature["geometry"] is None and feature["properties"]["output_ttm"] == 5.0e6
    assert maps.located(rows) == []


def test_an_empty_warehouse_snapshots_nothing(tmp_path):
    con = schema_warehouse(tmp_path / "w.duckdb")
    assert snapshot.snapshot_latest(con, tmp_path / "maps") is None
    assert snapshot.snapshot_period(con, PERIOD, tmp_path / "maps").snapshot_id is None


def test_map_command_renders_from_the_warehouse_file_read_only(tmp_path, capsys):
    build_warehouse(tmp_path / "w.duckdb").close()
    assert main(["map", "--warehouse", str(tmp_path / "w.duckdb"), "--period", "2025-12", "--color", "cloud_rate",
                 "--out", str(tmp_path / "out")]) == 0
    png = Path(next(line for line in capsys.readouterr().out.splitlines() if line.endswith(".png")))
    assert png.exists() and png.parent == tmp_path / "out" / "2025-12"


def test_base_layers_are_built_once_and_read_back_exactly_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(maps, "CACHE_DIR", tmp_path)
    calls = []
    rows = [("province", "海南省", shapely.Polygon([(110.1, 18.2), (111.0, 18.2), (110.5, 19.9)])),
            ("maritime", "", shapely.LineString([(112.0, 3.5), (113.2, 4.1)]))]

    def build():
        calls.append(1)
        return rows

    first = maps.cached_layers("test_layers", build)
    again = maps.cached_layers("test_layers", build)
    assert len(calls) == 1 and len(list(tmp_path.glob("test_layers-*.arrow"))) == 1
    assert [(a, b) for a, b, _ in again] == [("province", "海南省"), ("maritime", "")]
    assert all(shapely.equals_exact(g, r[2], 0) for (_, _, g), r in zip(again, rows, strict=True))
    assert first == rows


def test_a_stale_base_layer_cache_is_rebuilt_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(maps, "CACHE_DIR", tmp_path)
    stale = tmp_path / "test_layers-0000000000000000.arrow"
    stale.write_bytes(b"from an older flows/render/maps.py")
    rows = maps.cached_layers("test_layers", lambda: [("country", "", shapely.Point(116.4, 39.9))])
    assert rows[0][2].equals(shapely.Point(116.4, 39.9))
    assert not stale.exists() and len(list(tmp_path.glob("test_layers-*.arrow"))) == 1


def test_a_map_file_whose_write_fails_leaves_nothing_under_its_name(tmp_path):
    """A snapshot version's files that exist are kept by later nights as they are: a write that fails half-way (a
    value the encoding cannot hold here; a full disk or a killed night alike) leaves no file to be kept."""
    from flows.render import maps

    with pytest.raises(UnicodeEncodeError):
        maps.write_text_aside(tmp_path / "2025-12" / "map_2025-12_v1.geojson", '{"name": "\ud800"}')
    assert list((tmp_path / "2025-12").iterdir()) == []
