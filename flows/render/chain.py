"""Draw the report's supply-chain section: chain diagrams, development index radars, standalone pages per cluster.

flows/stages/s11_chain.py decides what the section says (queries, disclosure control, formatted cells); this module
only turns that into files and the data the template partial (reports/templates/_chain.html.j2) shows. Flows and
leads name firms, so diagrams, per-cluster radars and the standalone offline HTML pages exist only for the internal
edition (the decided section holds no flows for the public one).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from flows.render import report as page
from flows.render.style import chart_style
from flows.support.processes import spawned_pool
from flows.support.settings import TEMPLATES_DIR

TEMPLATES = TEMPLATES_DIR
# Leads shown per cluster in the report (the standalone page and the mart hold up to max_leads).
REPORT_LEADS = 10
DIAGRAM_IN = (9.0, 5.2)      # one cluster's chain diagram
DIAGRAM_DPI = 110
RADAR_TILE_IN = (2.6, 2.7)   # one cluster's radar, also one cell of the index figure
RADAR_DPI = 110
# The index figure's grid: 4 tiles to a row (10.4 in, shown at the 7 in text width) and at most 5 rows to a figure
# (9.1 in tall on the page: an A4 page's text height is 10.3 in).
RADAR_COLUMNS = 4
RADAR_ROWS = 5
# From this many standalone pages (an internal edition has one per cluster: the nation's 600), one worker process draws
# beside the report's own, from the report's start: the report's trend charts and map first (flows/stages/
# s11_report.py waits for them before its HTML, so the worker runs at the report's priority), then the standalone
# pages. Its start (≈1.1 CPU-s of imports) lies on the night's other core, which the report leaves idle, and it takes
# ≈3.4 s of drawing off the report's own path. Below it (a province, the sample) the report draws everything itself.
# The night draws such an edition's trend charts in its own worker beside the alert stage instead
# (s11_report.begin_reports); the report's worker draws them only when the night had not started them.
DRAWING_WORKER_MIN_PAGES = 60
# From this many, one worker process per core draws the pages, at PAGE_NICENESS. A page drawn in the report's process
# costs ≈1.2 ms (the nation's 600: +0.7 CPU-s), and two page workers' spawn, imports and own frames ≈4.5 CPU-s (the
# nation's 600 pages in them: 4.9–5.4 CPU-s): below this more workers would cost the night's cores more than the
# pages they take.
PARALLEL_MIN_PAGES = 4000
# The page workers' niceness while they draw the standalone pages (PageWorkers.nice_from_here): they draw beside the
# report's own process (its HTML and PDF), the night's critical path; they take what it leaves of the cores.
PAGE_NICENESS = 10
# A chain diagram's data limits; its side boxes (BOX_WIDTH wide at x 0 and BAND_X[1]) and the bands between them
# (BAND_X, drawn BAND_ALPHA opaque); the labels' and the title's sizes (pt).
DIAGRAM_XLIM = (-0.62, 1.62)
DIAGRAM_YLIM = (-0.04, 1.06)
BOX_WIDTH = 0.06
BAND_X = (BOX_WIDTH, 0.94)
BAND_ALPHA = 0.45
BUYER_COLOUR = "#2f4b7c"
LABEL_SIZE = 8
TITLE_SIZE = 11
# A chain diagram's margins: those matplotlib's tight_layout gave 189 of 200 nation diagrams (the rest: right 0.983)
# when they were PNGs, fixed so that no diagram pays for fitting them; a longer name widens the SVG's view
# (_diagram_svg).
DIAGRAM_MARGINS = {"left": 0.017, "right": 0.98, "bottom": 0.029, "top": 0.929}
# Where the left and the right side labels are placed (data x).
LABEL_X = (-0.02, 1.02)
# A diagram whose labels reach past the fixed margins: how far inside the figure's edge they end (pt), and
# the least of the bands' width at the fixed margins left to them (_axes_span).
LABEL_PAD = 4.0
MIN_BANDS = 0.25
# How much wider than the chart font's advances a browser may set a text (its own shaping, hinting or fallback font)
# before a name reaches the diagram's edge.
WIDTH_MARGIN = 1.1
# The size (pt, at 72 dpi) the chart font is loaded at to read its characters' advances (_advance, in ems).
ADVANCE_SIZE = 100
# Between a diagram label's parts: an en space (about as wide as two spaces, which a browser collapses into one in an
# SVG <text>).
SVG_GAP = "\u2002"
# SVG of the standalone pages' radars: text as <text> (not paths), clip-path ids from a fixed salt (the same bytes for
# the same chart on every run).
SVG_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "clusterwatch"}
# matplotlib's cap styles in SVG's words.
_SVG_CAPS = {"butt": "butt", "round": "round", "projecting": "square"}
GROUP_ORDER = ("local", "province", "other_province", "unknown")
GROUP_COLOURS = {"member": "#3b6ea5", "local": "#5aa469", "province": "#e39b3b", "other_province": "#c8553d",
                 "unknown": "#9a9a9a"}

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "s8": "八、产业链图谱与集群发展指数", "index": "（一）集群发展指数", "chain": "（二）产业链图谱与招商线索",
        "index_note": ("各维度得分为本期全部集群间标准化后的0–100分（{method}），总分为各维度加权平均；"
                       "方法与权重见指标体系配置文件。"),
        "minmax": "极差标准化", "percentile": "百分位排名",
        "rank": "名次", "cluster": "集群", "total": "总分", "radar": "图　集群发展指数雷达图（虚线：全部集群中位数）",
        "segments": "产业链环节", "segment": "环节", "n_firms": "企业数", "n_srdi": "专精特新", "leaders": "链主",
        "output": "近12个月产值（亿元）", "local_share": "本地配套率", "weak": "薄弱环节",
        "weak_note": "薄弱环节：本地配套率低于同领域其他集群中位数的{ratio:.0%}。",
        "leads": "招商线索（非本地供应商，按近12个月采购额排序，前{n}家）", "supplier": "供应商",
        "location": "所在地", "amount": "采购额（万元）", "share": "占采购比重", "buyers": "采购企业数",
        "supplies": "供货环节", "change": "同比", "unknown": "所在地不明", "new": "新增",
        "registered": "（信用代码登记地：{region}）", "no_leads": "本期无非本地供应商。",
        "diagram": "图　{name}产业链采购流向（近12个月，左：供应方，右：采购方环节）",
        "public_note": "公开版仅列示产业链环节汇总数据；采购流向与招商线索涉及具体企业，仅见内部版。",
        "standalone": "{name}　产业链图谱与招商线索（{period}，内部资料）", "yes": "是", "na": "—",
        "period": "{y}年{m}月",
        "detail_internal": ("本节雷达图与（二）逐一列示{shown}个集群（有本月预警的集群在前，其余按集群发展指数名次）；"
                            "其余{left}个集群的产业链图谱、雷达图与招商线索见随本报告生成的各集群单独页面"
                            "（{folder}/集群代码.html），亦见分省版月报。"),
        "detail_public": ("本节雷达图与（二）逐一列示{shown}个集群（有本月预警的集群在前，其余按集群发展指数名次）；"
                          "其余{left}个集群的产业链环节汇总见分省版月报。"),
    },
    "en": {
        "s8": "8. Supply chain and cluster development index", "index": "8.1 Cluster development index",
        "chain": "8.2 Chain map and investment leads",
        "index_note": ("Dimension scores are normalised to 0–100 across all clusters of the period ({method}); the "
                       "total is their weighted mean. Method and weights: the index configuration file."),
        "minmax": "min-max scaling", "percentile": "percentile rank",
        "rank": "Rank", "cluster": "Cluster", "total": "Total",
        "radar": "Figure: development index radar (dashed: median of all clusters)",
        "segments": "Chain segments", "segment": "Segment", "n_firms": "Firms", "n_srdi": "SRDI", "leaders": "Leaders",
        "output": "Output TTM (CNY 100 million)", "local_share": "Local share", "weak": "Weak link",
        "weak_note": "Weak link: local share below {ratio:.0%} of the median of the domain's other clusters.",
        "leads": "Investment leads (non-local suppliers by TTM purchases, top {n})", "supplier": "Supplier",
        "location": "Location", "amount": "Amount (CNY 10 thousand)", "share": "Share", "buyers": "Buying firms",
        "supplies": "Supplies", "change": "YoY", "unknown": "unknown", "new": "new",
        "registered": " (USCC registered in {region})", "no_leads": "No non-local supplier.",
        "diagram": "Figure: {name}, purchase flows (TTM, CNY 100 million; left: suppliers, right: buyers)",
        "public_note": ("The public edition shows segment aggregates only; flows and leads name firms and are in "
                        "the internal edition."),
        "standalone": "{name}: chain map and investment leads ({period}, internal)", "yes": "yes", "na": "—",
        "period": "{y}-{m:02d}",
        "detail_internal": ("The radars and section 8.2 detail {shown} clusters (those with an alert this month first, "
                            "then by development index rank); the chain maps, radars and investment leads of the other "
                            "{left} clusters are in the standalone page per cluster written with this report "
                            "({folder}/<cluster id>.html) and in the per-province editions."),
        "detail_public": ("The radars and section 8.2 detail {shown} clusters (those with an alert this month first, "
                          "then by development index rank); the segment aggregates of the other {left} clusters are "
                          "in the per-province editions."),
    },
}
GROUP_LABELS = {
    "zh": {"member": "", "local": "外部·本地非成员", "province": "外部·省内其他地区", "other_province": "外部·外省",
           "unknown": "外部·所在地不明"},
    "en": {"member": "", "local": "outside: local", "province": "outside: rest of province",
           "other_province": "outside: other provinces", "unknown": "outside: unknown location"},
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def chain_svgs(diagrams: list[tuple[list[dict[str, Any]], str]], lang: str) -> list[str]:
    """One layered Sankey per (flows, title) as an SVG document, for the report (HTML and PDF) and the standalone
    pages: supplier sides (member segments, then the outside groups) on the left, buying segments on the right, band
    widths proportional to the TTM amount. Written directly from the layout (_diagram_layout) at DIAGRAM_MARGINS:
    text stays text, placed by its anchor (a browser or WeasyPrint sets it in the system's Noto Sans CJK), SVG_GAP
    between a label's parts.

    Why not matplotlib: a figure per diagram, with every label shaped and measured, tight_layout and a PNG encoded,
    cost 22–26 ms a diagram (the report's 30 nation diagrams: 1.8 CPU-s on the report's critical path, against
    0.03 s here and ≈ 0.75 s more of WeasyPrint drawing them as vectors); the bands and boxes are a few paths and the
    labels need no measuring for their place."""
    with _plt().rc_context(chart_style()):
        rc = {k: _plt().rcParams[k] for k in ("patch.linewidth", "axes.titlepad")}
    return [_diagram_svg(_diagram_layout(flows, lang), title, rc) for flows, title in diagrams]


def _diagram_svg(layout: _Layout, title: str, rc: dict[str, float]) -> str:
    """One diagram as an SVG document, in points as matplotlib's SVG of the DIAGRAM_IN figure would be (a standalone
    page shows it DIAGRAM_IN wide at DIAGRAM_DPI, the report at its text width), its axes where _axes_span puts them,
    the boxes' edges and the title's pad as the report's charts have them (`rc`). An SVG cuts off what lies outside
    its view, so a long segment or cluster name would lose its start without a word: where a label's or the title's
    width bound (_width_bound) still reaches past the figure's edge, the view is widened to take it in."""
    width, height = DIAGRAM_IN[0] * 72, DIAGRAM_IN[1] * 72
    (x0, x1), (y0, y1) = DIAGRAM_XLIM, DIAGRAM_YLIM
    m = DIAGRAM_MARGINS
    left, right = _axes_span(layout, width)

    def px(x: float) -> float:
        return width * (left + (x - x0) / (x1 - x0) * (right - left))

    def py(y: float) -> float:
        return height * (1 - m["bottom"] - (y - y0) / (y1 - y0) * (m["top"] - m["bottom"]))

    parts = []
    for (left_lo, left_hi), (right_lo, right_hi), colour in layout.bands:
        xa, xm, xb = px(BAND_X[0]), px(sum(BAND_X) / 2), px(BAND_X[1])
        parts.append(f'<path d="M{xa:.2f} {py(left_hi):.2f}C{xm:.2f} {py(left_hi):.2f} {xm:.2f} {py(right_hi):.2f} '
                     f'{xb:.2f} {py(right_hi):.2f}L{xb:.2f} {py(right_lo):.2f}C{xm:.2f} {py(right_lo):.2f} '
                     f'{xm:.2f} {py(left_lo):.2f} {xa:.2f} {py(left_lo):.2f}Z" fill="{colour}" '
                     f'fill-opacity="{BAND_ALPHA}"/>')
    stroke = rc["patch.linewidth"]
    for x, lo, hi, colour in layout.boxes:
        parts.append(f'<path d="M{px(x):.2f} {py(lo):.2f}H{px(x + BOX_WIDTH):.2f}V{py(hi):.2f}H{px(x):.2f}Z" '
                     f'fill="{colour}" stroke="{colour}" stroke-width="{stroke}" stroke-linejoin="miter"/>')
    view = [0.0, width]
    for x, y, text, ha in layout.labels:
        parts.append(f'<text x="{px(x):.2f}" y="{py(y):.2f}" text-anchor="{"end" if ha == "right" else "start"}" '
                     f'dominant-baseline="central" font-size="{LABEL_SIZE}">{escape(text)}</text>')
        reach = _width_bound(text, LABEL_SIZE)
        view = [min(view[0], px(x) - reach), view[1]] if ha == "right" else [view[0], max(view[1], px(x) + reach)]
    # the title where matplotlib puts it: centred over the axes, its baseline axes.titlepad above them
    centre, half = px((x0 + x1) / 2), _width_bound(title, TITLE_SIZE) / 2
    view = [min(view[0], centre - half), max(view[1], centre + half)]
    parts.append(f'<text x="{centre:.2f}" y="{height * (1 - m["top"]) - rc["axes.titlepad"]:.2f}" '
                 f'text-anchor="middle" font-size="{TITLE_SIZE}">{escape(title)}</text>')
    start, span = math.floor(view[0]), math.ceil(view[1]) - math.floor(view[0])
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{span}pt" height="{height:g}pt" '
           f'viewBox="{start} 0 {span} {height:g}" font-family="{_svg_fonts()}">'
           f'<rect x="{start}" width="{span}" height="{height:g}" fill="#ffffff"/>{"".join(parts)}</svg>')
    return svg


def _svg_data_uri(svg: str | bytes) -> str:
    """An SVG document (text, or matplotlib's UTF-8 bytes) as a data URI."""
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")


@cache
def _svg_fonts() -> str:
    """The font-family of the SVG written here: the charts' fonts (as matplotlib's SVG names them)."""
    return ", ".join(f"'{family}'" for family in chart_style()["font.family"])


def _axes_span(layout: _Layout, width: float) -> tuple[float, float]:
    """The axes' left and right edges (fractions of the figure's `width` in points): DIAGRAM_MARGINS', or, where a
    label's width bound reaches past the figure's edge, moved in as tight_layout moved them for the PNGs they once
    were, until it ends LABEL_PAD inside (the labels keep their size, the bands between them narrow). Not past the
    point where the bands would keep less than MIN_BANDS of their width: a name too long for that widens the view
    instead."""
    (x0, x1), m = DIAGRAM_XLIM, DIAGRAM_MARGINS
    at = [(x - x0) / (x1 - x0) for x in LABEL_X]    # where the left and the right labels start, in axes fractions
    reach = [max((_width_bound(text, LABEL_SIZE) for _, _, text, ha in layout.labels if ha == side), default=0.0)
             for side in ("right", "left")]
    fixed = [m["left"] + a * (m["right"] - m["left"]) for a in at]
    want = [max(fixed[0], (reach[0] + LABEL_PAD) / width), min(fixed[1], 1 - (reach[1] + LABEL_PAD) / width)]
    if want == fixed or want[1] - want[0] < MIN_BANDS * (fixed[1] - fixed[0]):
        return m["left"], m["right"]
    span = (want[1] - want[0]) / (at[1] - at[0])
    return want[0] - at[0] * span, want[0] - at[0] * span + span


def _width_bound(text: str, size: float) -> float:
    """At least the width in points of `text` set at `size` in the chart font, without laying it out: the sum of
    its characters' advances (no kerning or shaping narrows it much), WIDTH_MARGIN more for a browser's own."""
    return sum(_advance(ch) for ch in text) * size * WIDTH_MARGIN


@cache
def _advance(ch: str) -> float:
    """A character's advance in the chart font (Noto Sans CJK SC), in ems; a full em for a character it lacks
    (another font sets it, at most about as wide)."""
    font = _chart_font()
    index = font.get_char_index(ord(ch))
    if index == 0:
        return 1.0
    return font.load_glyph(index).linearHoriAdvance / 65536 / ADVANCE_SIZE


@cache
def _chart_font() -> Any:
    """The chart font's file, loaded once a process at ADVANCE_SIZE (an em of ADVANCE_SIZE points at 72 dpi)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont(chart_style()["font.family"][0]))
    font.set_size(ADVANCE_SIZE, 72)
    return font


def svg_uri(fig: Any) -> str:
    """The figure as an SVG data URI; no date, so the same chart gives the same bytes. Drawn under SVG_STYLE (text
    as text, fixed ids), which the figure's drawing loop sets once for all its SVGs (an rc_context per SVG cost
    ≈ 0.13 ms)."""
    if missing := {k: v for k, v in SVG_STYLE.items() if _plt().rcParams[k] != v}:
        raise RuntimeError(f"an SVG drawn without SVG_STYLE: {missing}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return _svg_data_uri(buffer.getvalue())


@dataclass(frozen=True)
class _Layout:
    """One chain diagram in data coordinates (DIAGRAM_XLIM × DIAGRAM_YLIM), in drawing order: the bands (left side's
    (bottom, top), right side's (bottom, top), colour; from BAND_X[0] to BAND_X[1]), the side boxes (left x, bottom,
    top, colour; BOX_WIDTH wide) and their labels (x, y, text, horizontal alignment; vertically centred), as
    _diagram_svg draws it."""

    bands: list[tuple[tuple[float, float], tuple[float, float], str]]
    boxes: list[tuple[float, float, float, str]]
    labels: list[tuple[float, float, str, str]]


def _diagram_layout(flows: list[dict[str, Any]], lang: str) -> _Layout:
    """The bands, side boxes and labels of one diagram (SVG_GAP between a label's parts): supplier sides (member
    segments in the order of the buying segments they match, then the outside groups) on the left, buying segments
    by amount on the right, stacked from the top with a gap, heights proportional to the TTM amount."""
    buyers: dict[str, float] = {}
    left: dict[tuple[str, str], float] = {}
    for f in flows:
        buyers[f["buyer_segment"]] = buyers.get(f["buyer_segment"], 0.0) + f["amount_ttm"]
        key = (f["supplier_group"], f["supplier_segment"])
        left[key] = left.get(key, 0.0) + f["amount_ttm"]
    right_order = sorted(buyers, key=lambda s: -buyers[s])
    members = sorted((k for k in left if k[0] == "member"), key=lambda k: right_order.index(k[1])
                     if k[1] in right_order else len(right_order))
    left_order = members + [k for g in GROUP_ORDER for k in left if k[0] == g]
    total = sum(buyers.values()) or 1.0
    gap = 0.02
    scale_l = (1 - gap * (len(left_order) - 1)) / total
    scale_r = (1 - gap * (len(right_order) - 1)) / total

    def stack(order: list, sizes: dict, scale: float) -> dict:
        pos, y = {}, 1.0
        for k in order:
            h = sizes[k] * scale
            pos[k] = [y - h, y]
            y -= h + gap
        return pos

    lpos, rpos = stack(left_order, left, scale_l), stack(right_order, buyers, scale_r)
    lcur = {k: v[1] for k, v in lpos.items()}
    rcur = {k: v[1] for k, v in rpos.items()}
    names, sep = GROUP_LABELS[lang], SVG_GAP
    ordered = sorted(flows, key=lambda f: (left_order.index((f["supplier_group"], f["supplier_segment"])),
                                           right_order.index(f["buyer_segment"])))
    bands = []
    for f in ordered:
        k = (f["supplier_group"], f["supplier_segment"])
        hl, hr = f["amount_ttm"] * scale_l, f["amount_ttm"] * scale_r
        y0 = (lcur[k] - hl, lcur[k])
        y1 = (rcur[f["buyer_segment"]] - hr, rcur[f["buyer_segment"]])
        lcur[k] -= hl
        rcur[f["buyer_segment"]] -= hr
        bands.append((y0, y1, GROUP_COLOURS[f["supplier_group"]]))
    boxes, labels = [], []
    for k, (lo, hi) in lpos.items():
        boxes.append((0.0, lo, hi, GROUP_COLOURS[k[0]]))
        name = (f"成员·{k[1]}" if lang == "zh" else f"member: {k[1]}") if k[0] == "member" else names[k[0]]
        labels.append((LABEL_X[0], (lo + hi) / 2, f"{name}{sep}{left[k] / 1e4:,.2f}亿 ({left[k] / total:.0%})"
                       if lang == "zh" else f"{name}{sep}{left[k] / 1e4:,.2f} ({left[k] / total:.0%})", "right"))
    local = {f["buyer_segment"]: f["buyer_segment_local_share"] for f in flows}
    for s, (lo, hi) in rpos.items():
        boxes.append((BAND_X[1], lo, hi, BUYER_COLOUR))
        share = local.get(s)
        tail = "" if share is None else (f"{sep}本地配套率 {share:.0%}" if lang == "zh" else f"{sep}local {share:.0%}")
        labels.append((LABEL_X[1], (lo + hi) / 2, f"{s}{sep}{buyers[s] / 1e4:,.2f}{'亿' if lang == 'zh' else ''}{tail}",
                       "left"))
    return _Layout(bands, boxes, labels)


def radars(series: list[tuple[str, list[float | None]]], median: list[float | None],
           labels: list[str], widest: str | None = None, svg: bool = False) -> list[Any]:
    """One radar chart per cluster (RGB images, RADAR_TILE_IN at RADAR_DPI; with `svg`, for the standalone pages,
    its three layers as SVG data URIs, see _RadarLayers and chain_svgs): its dimension scores (0–100) over the median
    of all clusters (dashed). A hidden or missing score is drawn as a gap at the centre and its axis label marked.

    Why one figure for all: creating a polar axes and laying it out cost more than drawing it, so the axes is made
    and laid out once (for the widest labels: every one marked, and the widest title) and only the cluster's line,
    area, labels and title change between clusters. Every tile thus has the same geometry whatever the clusters'
    order, and the index figure is tiles side by side. `widest` is the title the layout is made for (default: the
    widest of `series`): radars drawn in parts (flows/render/chain.py draw_section) pass the widest of all."""
    if not series:
        return []
    plt = _plt()
    angles = [2 * math.pi * k / len(labels) for k in range(len(labels))]
    ring = [*angles, angles[0]]

    def closed(values: list[float | None]) -> list[float]:
        ys = [0.0 if v is None else v for v in values]
        return [*ys, ys[0]]

    images = []
    with plt.rc_context(chart_style(**SVG_STYLE) if svg else chart_style()):
        fig = plt.figure(figsize=RADAR_TILE_IN, dpi=RADAR_DPI)
        try:
            ax = fig.add_subplot(1, 1, 1, polar=True)
            ax.plot(ring, closed(median), color="#888888", linestyle="--", linewidth=0.9)
            (line,) = ax.plot(ring, closed(median), color="#c8553d", linewidth=1.4)
            (area,) = ax.fill(ring, closed(median), color="#c8553d", alpha=0.2)
            ax.set_ylim(0, 100)
            ax.set_yticks([25, 50, 75, 100])
            ax.set_yticklabels([])
            ax.set_xticks(angles)
            ax.set_xticklabels([f"{lab}*" for lab in labels], fontsize=6.5)
            ax.set_title(widest or widest_title(name for name, _ in series), fontsize=8.5, pad=12)
            fig.tight_layout()
            # the layout is kept from here on: without a layout engine savefig does not lay the figure out (a
            # draw) before drawing it, and with the title's height fixed where the automatic placement put it
            # (above the tick labels, whose height no cluster changes) no draw measures every tick label for it
            fig.set_layout_engine(None)
            fig.draw_without_rendering()
            title_y = ax.title.get_position()[1]
            shown = [f"{lab}*" for lab in labels]
            if svg:
                # an SVG is drawn at 72 dpi (savefig sets it, and back, around each drawing): setting it once keeps
                # the transforms — and the paths of the grid, the median and the labels' places — valid from one
                # cluster to the next instead of computing them all again each time (the same bytes)
                fig.set_dpi(72)
            for axis in (ax.xaxis, ax.yaxis):   # no axis label to place: fixed, so no draw measures every tick label
                axis.set_label_coords(0.5, 0.5)  # of the axis again (as tall as its ticks) to place it
            layers = _RadarLayers(fig, ax, line, area) if svg else None
            for name, values in series:
                line.set_ydata(closed(values))
                area.set_xy(list(zip(ring, closed(values), strict=True)))
                marked = [lab if v is not None else f"{lab}*" for lab, v in zip(labels, values, strict=True)]
                if marked != shown and (layers is None or tuple(marked) not in layers.frames):
                    # most clusters mark the same axes (none) as the one before
                    ax.set_xticklabels(marked, fontsize=6.5)
                    shown = marked
                ax.set_title(name, fontsize=8.5, pad=12, y=title_y)
                images.append(layers.draw(tuple(marked)) if layers else page.chart_image(fig, tight=False))
        finally:
            plt.close(fig)
    return images


class _RadarLayers:
    """A standalone page's radar as three SVG layers shown one over the other (reports/templates/
    chain_cluster.html.j2), in the order matplotlib draws the figure: "under" (the white figure, the cluster's area),
    "frame" (the grid, the dimension labels, the median polygon) and "over" (the cluster's line, the outer circle,
    its title) — the picture of the one SVG they replace.

    Why: the frame is most of a radar's drawing (its axes' ticks, grid lines and labels) and the same on every page
    but for the marks of missing scores, so matplotlib draws it once per set of marks (`frames`); the other two
    layers are a few paths and a title, written here from the artists' own geometry (their transforms in the laid
    out figure, at 72 dpi: SVG points) and style — a savefig per layer and page cost more than the page's chain
    diagram. The axes' background, white on the white figure, is left out of "under"."""

    def __init__(self, fig: Any, ax: Any, line: Any, area: Any) -> None:
        from matplotlib.colors import to_hex

        self.fig, self.line, self.area, self.title = fig, line, area, ax.title
        outline = [spine for spine in ax.spines.values() if spine.get_visible()]
        for artist in [fig.patch, ax.patch, area, line, *outline, ax.title]:
            artist.set_visible(False)    # drawn here: the frame is what matplotlib draws
        self.frames: dict[tuple[str, ...], str] = {}
        width, self.height = fig.bbox.width, fig.bbox.height
        clip = f'<clipPath id="axes"><path d="{self._d(ax.patch)}"/></clipPath>'
        self.head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}pt" height="{self.height:g}pt" '
                     f'viewBox="0 0 {width:g} {self.height:g}">{clip}')
        self.white = f'<rect width="{width:g}" height="{self.height:g}" fill="{to_hex(fig.patch.get_facecolor())}"/>'
        self.outline = "".join(
            f'<path d="{self._d(spine)}" fill="none" stroke="{to_hex(spine.get_edgecolor())}" '
            f'stroke-width="{spine.get_linewidth():g}" stroke-linejoin="{spine.get_joinstyle()}" '
            f'stroke-linecap="{_SVG_CAPS[spine.get_capstyle()]}"/>' for spine in outline)
        self.area_style = (f'fill="{to_hex(area.get_facecolor())}" stroke="{to_hex(area.get_edgecolor())}" '
                           f'stroke-width="{area.get_linewidth():g}" opacity="{area.get_alpha():g}" '
                           f'stroke-linejoin="{area.get_joinstyle()}"')
        self.line_style = (f'fill="none" stroke="{to_hex(line.get_color())}" stroke-width="{line.get_linewidth():g}" '
                           f'stroke-linejoin="{line.get_solid_joinstyle()}" '
                           f'stroke-linecap="{_SVG_CAPS[line.get_solid_capstyle()]}"')
        x, y = ax.title.get_transform().transform(ax.title.get_position())
        self.title_at = (f'x="{x:.2f}" y="{self.height - y:.2f}" text-anchor="middle" '
                         f'font-size="{ax.title.get_fontsize():g}" font-family="{_svg_fonts()}"')
        if (ax.title.get_horizontalalignment(), ax.title.get_verticalalignment()) != ("center", "baseline"):
            raise RuntimeError("the radar's title is placed by its baseline's centre")

    def draw(self, marks: tuple[str, ...]) -> dict[str, str]:
        """The layers of the radar drawn now, whose axes are labelled `marks` (the frame drawn for those once)."""
        if marks not in self.frames:
            self.frames[marks] = svg_uri(self.fig)
        under = (f'{self.head}{self.white}<path d="{self._d(self.area)}" clip-path="url(#axes)" {self.area_style}/>'
                 f'</svg>')
        over = (f'{self.head}<path d="{self._d(self.line)}" clip-path="url(#axes)" {self.line_style}/>{self.outline}'
                f'<text {self.title_at}>{escape(self.title.get_text())}</text></svg>')
        return {"under": _svg_data_uri(under), "frame": self.frames[marks], "over": _svg_data_uri(over)}

    def _d(self, artist: Any) -> str:
        """The artist's path as the figure draws it, as SVG path data (y down from the figure's top)."""
        from matplotlib.path import Path as MPath

        letters = {MPath.MOVETO: "M", MPath.LINETO: "L", MPath.CURVE3: "Q", MPath.CURVE4: "C"}
        d = []
        for vertices, code in artist.get_transform().transform_path(artist.get_path()).iter_segments(simplify=False):
            if code == MPath.CLOSEPOLY:
                d.append("Z")
            else:
                d.append(letters[code] + " ".join(f"{x:.2f} {self.height - y:.2f}"
                                                  for x, y in vertices.reshape(-1, 2)))
        return "".join(d)


def widest_title(names: Iterable[str]) -> str:
    """The title a radar's layout is made for: the widest name."""
    return max(names, key=_text_width)


def _text_width(text: str) -> int:
    """A title's width in half-width characters (a CJK character is about two Latin ones)."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def radar_grids(images: list[Any], chain_dir: Path) -> list[Path]:
    """The index figure: the radars side by side, RADAR_COLUMNS to a row, in figures of at most RADAR_ROWS rows
    (index_radar.png, index_radar_2.png, …). A PDF page cannot split an image, so a single figure for many
    clusters would run off the page and be cut; RADAR_ROWS rows at the text width fit an A4 page."""
    from PIL import Image

    cols = min(RADAR_COLUMNS, len(images))
    width, height = images[0].size
    per_figure = cols * RADAR_ROWS
    paths = []
    for k, start in enumerate(range(0, len(images), per_figure), 1):
        part = images[start:start + per_figure]
        grid = Image.new("RGB", (width * cols, height * math.ceil(len(part) / cols)), "white")
        for i, image in enumerate(part):
            grid.paste(image, ((i % cols) * width, (i // cols) * height))
        paths.append(page.write_image(grid, chain_dir / ("index_radar.png" if k == 1 else f"index_radar_{k}.png"),
                                      RADAR_DPI))
    return paths


@dataclass
class PageWorkers:
    """The worker processes a report draws in beside its own (page_workers): the pool, how many it runs and whether
    they run at PAGE_NICENESS."""

    pool: Executor
    size: int
    niced: bool

    def nice_from_here(self) -> None:
        """What the workers are asked from here on runs at PAGE_NICENESS: the one worker of an edition below
        PARALLEL_MIN_PAGES draws the trend charts, the map and the index figure first, which the HTML waits for, at
        the report's own priority, then the standalone pages, which nothing waits for before the night's end, on
        what the report's process (its supply-chain section, HTML and PDF: the report's critical path) leaves of the
        cores."""
        if not self.niced:
            for _ in range(self.size):      # one job per worker: with one worker, it runs after what was asked
                self.pool.submit(os.nice, PAGE_NICENESS)
            self.niced = True


@contextmanager
def page_workers(audience: str, pages: int) -> Iterator[PageWorkers | None]:
    """Worker processes for what an edition draws without the warehouse, by its standalone pages (one per cluster of
    an internal edition): from DRAWING_WORKER_MIN_PAGES one (its trend charts unless the night drew them, its map
    unless the night drew it, its index figure and the standalone pages),
    from PARALLEL_MIN_PAGES one per core at a lower priority (the standalone pages of an internal edition of several
    thousand clusters); None otherwise (everything is drawn here). Started before the report decides anything, so
    the worker's imports are done by the time its first drawing is asked for.

    Why: nothing in the report waits for those pages, so they are drawn while this process lays out its HTML and PDF;
    the charts and map are drawn there while this process decides and draws the supply-chain section. Spawned, not
    forked: the night's process holds DuckDB and Prefect threads. On leaving, pages not yet drawn are cancelled (the
    report failed)."""
    if not draws_in_worker(audience, pages):
        yield None
        return
    many = pages >= PARALLEL_MIN_PAGES
    size = _cpus() if many else 1
    pool = spawned_pool(size, niceness=PAGE_NICENESS if many else 0)
    for _ in range(size):       # a worker is spawned by its first job: these, not the first drawing
        pool.submit(_drawing_imports)
    try:
        yield PageWorkers(pool, size, niced=many)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def draws_in_worker(audience: str, pages: int) -> bool:
    """Whether an edition of `audience` with `pages` standalone pages draws in worker processes (page_workers)."""
    return audience == "internal" and pages >= DRAWING_WORKER_MIN_PAGES


def _drawing_imports() -> None:
    """The modules a drawing worker's jobs come from, imported by its first job, so the worker is spawned and has them
    before the report's first drawing reaches it. They import no matplotlib: pyplot and the chart font are loaded by
    the first drawing. Loading them here would move that cost, not remove it (a fresh process, the nation index
    figure: this job 0.21 s and the figure 0.77, or this job 0.68-0.78 and the figure 0.49)."""
    from flows.render import maps, report  # noqa: F401


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def draw_section(section: dict[str, Any], out_dir: Path, stem: str,
                 workers: PageWorkers | None = None) -> dict[str, Any]:
    """Draw the section that flows/stages/s11_chain.py decided: the index figure and blocks of the clusters it
    details ("featured"), and for the internal edition every cluster's chain diagram, radar and standalone offline
    HTML page, into <out_dir>/<stem>_chain/. Returns what the partial _chain.html.j2 shows, with the files written
    ("files") and, when clusters are left out, the sentence saying how many and where their detail is.

    With `workers` (page_workers) every standalone page is drawn there (here, only what the report shows): "files"
    is then complete only after wait_pages."""
    return finish_section(start_section(section, out_dir, stem, workers))


@dataclass
class StartedSection:
    """A section whose index figure and standalone pages are being drawn (start_section): what finish_section
    needs to draw the rest."""

    section: dict[str, Any]
    chain_dir: Path
    radar: dict[str, Any]
    own: list[dict[str, Any]]
    figures: Future[list[Path]]
    diagrams: Future[dict[str, str]]
    pages: _Pages
    workers: PageWorkers | None


def start_section(section: dict[str, Any], out_dir: Path, stem: str,
                  workers: PageWorkers | None = None) -> StartedSection:
    """The first part of draw_section: the index figure, the detailed clusters' chain diagrams and the standalone
    pages, handed to `workers` when given (drawn here otherwise). The report starts it as soon as the section is
    decided, before the rest of its content, so the worker draws the index figure and the diagrams while the report's
    process decides the rest (the report's HTML waits for them: finish_section)."""
    chain_dir = out_dir / f"{stem}_chain"
    scores, names = section["scores"], {b["id"]: b["name"] for b in section["blocks"]}
    internal = section["audience"] == "internal"
    featured = set(section["featured"])
    in_figure = [cid for cid in section["drawn"] if cid in featured]
    # the radars of the index figure (PNG tiles) and of the standalone pages (SVG) are all laid out for the widest
    # title of all the radars drawn
    tiled = [x["id"] for x in section["ranking"]] if internal else in_figure
    radar = {"scores": {cid: scores[cid] for cid in tiled}, "median": section["median"],
             "labels": section["dim_labels"], "widest": widest_title(names[cid] for cid in tiled) if tiled else None}
    own = [b for b in section["blocks"] if b["id"] in featured]
    # the index figure first: with workers it is drawn there (at the report's priority: the report waits for it)
    # while this process decides the rest of the report and writes the detailed clusters' blocks
    tiled_blocks = ([b for b in own if b["id"] in radar["scores"]] if internal else
                    [{"id": cid, "name": names[cid]} for cid in in_figure])
    # and the chain diagrams of the detailed clusters, there too: this process then needs no matplotlib (the nation
    # report's 30 diagrams cost ≈ 0.4 CPU-s here, most of it importing pyplot and loading the chart font; ≈ 0.13 in
    # the worker, whose imports are done); the public edition has none (its section holds no flows)
    diagrammed = [{k: b[k] for k in ("id", "name", "flows")} for b in own] if internal else []
    if workers is None:
        figures: Future[list[Path]] = Future()
        figures.set_result(index_figures(tiled_blocks, radar, in_figure, chain_dir))
        diagrams: Future[dict[str, str]] = Future()
        diagrams.set_result(_diagrams(diagrammed, section["t"], section["lang"]))
    else:
        figures = workers.pool.submit(index_figures, tiled_blocks, radar, in_figure, chain_dir)
        diagrams = workers.pool.submit(_diagrams, diagrammed, section["t"], section["lang"])
        workers.nice_from_here()     # the pages come next: nothing waits for them before the night's end
    # then the standalone pages: with workers they are drawn there while this process draws what the report shows
    # (and goes on with the report); with workers, every standalone page is theirs (the detailed clusters' too)
    pages = _Pages([], [b["id"] for b in section["blocks"]], {})
    rest = [b for b in section["blocks"] if workers is not None or b["id"] not in featured] if internal else []
    if rest:
        job = {k: section[k] for k in ("t", "lang", "audience", "weak_note")}
        parts = [rest] if workers is None else [rest[k::workers.size] for k in range(workers.size)]
        for part in (p for p in parts if p):
            args = (part, {**radar, "scores": {b["id"]: radar["scores"][b["id"]] for b in part
                                               if b["id"] in radar["scores"]}}, job, chain_dir)
            if workers is None:
                pages.add(_standalone_pages(*args))
            else:
                pages.pending.append(workers.pool.submit(_standalone_pages, *args))
    return StartedSection(section, chain_dir, radar, own, figures, diagrams, pages, workers)


def finish_section(started: StartedSection) -> dict[str, Any]:
    """The rest of draw_section once started (start_section): the detailed clusters' blocks, written here, and the
    index figure and their chain diagrams, waited for."""
    section, pages, t = started.section, started.pages, started.section["t"]
    internal = section["audience"] == "internal"
    blocks, files = _cluster_blocks(started.own, section, started.chain_dir, started.radar, started.diagrams.result(),
                                    report=True, pages=started.workers is None)
    figures = started.figures.result()
    pages.head = figures
    pages.add(files)
    note = t["detail_internal" if internal else "detail_public"].format(
        shown=len(set(section["featured"])), left=section["left_out"], folder=started.chain_dir.name) \
        if section["left_out"] else None
    listed = set(section["listed"])
    drawn = {"t": t, "audience": section["audience"], "detail_note": note,
             "ranking": [x for x in section["ranking"] if x["id"] in listed],
             "dim_labels": section["dim_labels"], "radars": [page.data_uri(p) for p in figures],
             "blocks": blocks, "files": [], "pages": pages, "index_note": section["index_note"],
             "weak_note": section["weak_note"], "leads_title": t["leads"].format(n=REPORT_LEADS)}
    if not pages.pending:
        wait_pages(drawn)
    return drawn


def wait_pages(drawn: dict[str, Any]) -> list[Path]:
    """The section's files, once the standalone pages drawn by workers are written: the index figures, then each
    cluster's chain diagram (the clusters the report details) and page in the section's order (the same list whoever
    drew them)."""
    pages: _Pages = drawn["pages"]
    for future in pages.pending:
        pages.add(future.result())
    pages.pending = []
    drawn["files"] = [*pages.head, *(p for cid in pages.order for p in pages.drawn.get(cid, []))]
    return drawn["files"]


@dataclass
class _Pages:
    """A section's files: the index figures, each cluster's files once drawn, and the parts still being drawn."""

    head: list[Path]
    order: list[str]
    drawn: dict[str, list[Path]]
    pending: list[Future[dict[str, list[Path]]]] = field(default_factory=list)

    def add(self, files: dict[str, list[Path]]) -> None:
        """Some clusters' files, after those already drawn (a detailed cluster's diagram, then its page)."""
        for cid, paths in files.items():
            self.drawn[cid] = [*self.drawn.get(cid, []), *paths]


def _radar_tiles(blocks: list[dict[str, Any]], radar: dict[str, Any]) -> dict[str, Any]:
    """The radar tiles of some clusters (flows/render/chain.py radars), laid out for radar["widest"]."""
    if not blocks:
        return {}
    return dict(zip((b["id"] for b in blocks), radars([(b["name"], radar["scores"][b["id"]]) for b in blocks],
                                                      radar["median"], radar["labels"], radar["widest"]), strict=True))


def index_figures(blocks: list[dict[str, Any]], radar: dict[str, Any], in_figure: list[str],
                  chain_dir: Path) -> list[Path]:
    """The index figure's files (radar_grids): the radars of `blocks` (a worker's job, or drawn here), those of
    `in_figure` side by side in that order."""
    if not in_figure:
        return []
    tiles = _radar_tiles(blocks, radar)
    return radar_grids([tiles[cid] for cid in in_figure], chain_dir)


def _standalone_pages(blocks: list[dict[str, Any]], radar: dict[str, Any], section: dict[str, Any],
                      chain_dir: Path) -> dict[str, list[Path]]:
    """Draw some clusters' radars, chain diagrams and standalone pages (in a worker process or not): their files.

    A page whose inputs are those it was last drawn from (page_inputs: the same hash in <cluster id>.inputs beside
    it, and its files all there) is not drawn again: a night that leaves a cluster's month as it was (a quiet night,
    a revision of another province) then costs the hash. Any other page is drawn, its hash removed first and written
    last, so a page interrupted half-way is never taken for a finished one."""
    digests = {b["id"]: page_inputs(b, radar, section) for b in blocks}
    files = {cid: kept for cid in digests if (kept := _kept(chain_dir, cid, digests[cid])) is not None}
    todo = [b for b in blocks if b["id"] not in files]
    drawn = _cluster_blocks(todo, section, chain_dir, radar, _diagrams(todo, section["t"], section["lang"]),
                            report=False)[1]
    for cid, paths in drawn.items():
        marker = _inputs_file(chain_dir, cid)
        partial = marker.with_name(marker.name + ".part")
        partial.write_text(json.dumps({"inputs": digests[cid], "files": [p.name for p in paths]}), encoding="utf-8")
        os.replace(partial, marker)
    files.update(drawn)
    return {b["id"]: files[b["id"]] for b in blocks}


def page_inputs(block: dict[str, Any], radar: dict[str, Any], section: dict[str, Any]) -> str:
    """SHA-256 of everything a standalone page and its diagrams are drawn from: the cluster's block (segments, flows,
    leads, title), its radar scores with the median, labels and the title width the radars are laid out for, the
    section's texts, and the drawing itself (_drawing_version)."""
    what = {"block": block, "scores": radar["scores"].get(block["id"]),
            **{k: radar[k] for k in ("median", "labels", "widest")},
            "section": {k: section[k] for k in ("t", "lang", "audience", "weak_note")}, "drawing": _drawing_version()}
    return hashlib.sha256(json.dumps(what, sort_keys=True, ensure_ascii=False, default=repr).encode()).hexdigest()


@cache
def _drawing_version() -> str:
    """What draws the pages: this module, the chart helpers and style, the page template, the libraries' versions
    and the CJK font file; a change to any of them draws every page again."""
    import matplotlib
    import PIL
    from matplotlib import font_manager

    from flows.render import style

    digest = hashlib.sha256()
    for source in (Path(__file__), Path(page.__file__), Path(style.__file__), TEMPLATES / "chain_cluster.html.j2"):
        digest.update(source.read_bytes())
    font = Path(font_manager.findfont(chart_style()["font.family"][0]))
    digest.update(f"{matplotlib.__version__} {PIL.__version__} {font} {font.stat().st_size}".encode())
    return digest.hexdigest()


def _inputs_file(chain_dir: Path, cid: str) -> Path:
    return chain_dir / f"{cid}.inputs"


def _kept(chain_dir: Path, cid: str, digest: str) -> list[Path] | None:
    """The files of a page drawn from these very inputs, or None when it must be drawn."""
    marker = _inputs_file(chain_dir, cid)
    if not marker.is_file():
        return None
    kept = json.loads(marker.read_text(encoding="utf-8"))
    paths = [chain_dir / name for name in kept["files"]]
    return paths if kept["inputs"] == digest and all(p.is_file() for p in paths) else None


def _diagrams(blocks: list[dict[str, Any]], t: dict[str, str], lang: str) -> dict[str, str]:
    """The chain diagram (chain_svgs) of each of the internal edition's clusters with flows, by cluster id."""
    drawn = [b for b in blocks if b["flows"]]
    if not drawn:
        return {}
    return dict(zip((b["id"] for b in drawn), chain_svgs(
        [(b["flows"], t["diagram"].format(name=b["name"])) for b in drawn], lang), strict=True))


def _cluster_blocks(decided_blocks: list[dict[str, Any]], section: dict[str, Any], chain_dir: Path,
                    radar: dict[str, Any], svgs: dict[str, str], report: bool,
                    pages: bool = True) -> tuple[list[dict[str, Any]], dict[str, list[Path]]]:
    """Each cluster's block as the report shows it, and for the internal edition its files: with `report` (the
    clusters the report details) the chain diagram (`svgs`, _diagrams) as <cluster id>_chain.svg and inline in the
    block for the report's HTML and PDF, and with `pages` the standalone offline HTML page with its chain diagram
    and radar inline as SVG. A cluster with both has its diagram written once."""
    t, lang = section["t"], section["lang"]
    blocks = [{k: decided[k] for k in ("id", "name", "segments", "weak")} for decided in decided_blocks]
    if section["audience"] != "internal":
        return blocks, {}
    chain_dir.mkdir(parents=True, exist_ok=True)
    uris = {cid: _svg_data_uri(svg) for cid, svg in svgs.items()}
    files: dict[str, list[Path]] = {b["id"]: [] for b in decided_blocks}
    for decided, block in zip(decided_blocks, blocks, strict=True):
        cid = decided["id"]
        if report and cid in svgs:
            diagram = chain_dir / f"{cid}_chain.svg"
            diagram.write_text(svgs[cid], encoding="utf-8")
            files[cid].append(diagram)
        block.update(diagram=uris.get(cid) if report else None, leads=decided["leads"][:REPORT_LEADS])
    if not pages:
        return blocks, files
    for b in decided_blocks:   # a page's kept hash says nothing of what is drawn over it now
        _inputs_file(chain_dir, b["id"]).unlink(missing_ok=True)
    scored = [b for b in decided_blocks if b["id"] in radar["scores"]]
    radar_svgs = dict(zip((b["id"] for b in scored), radars(
        [(b["name"], radar["scores"][b["id"]]) for b in scored], radar["median"], radar["labels"], radar["widest"],
        svg=True), strict=True))
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    for decided, block in zip(decided_blocks, blocks, strict=True):
        cid = decided["id"]
        standalone = chain_dir / f"{cid}.html"
        standalone.write_text(env.get_template("chain_cluster.html.j2").render(
            t=t, lang=lang, title=decided["title"],
            block={**block, "diagram": uris.get(cid), "leads": decided["leads"]}, radar=radar_svgs.get(cid),
            # shown as wide as the PNGs they replace were (their pixels at 1 CSS px each)
            diagram_px=round(DIAGRAM_IN[0] * DIAGRAM_DPI), radar_px=round(RADAR_TILE_IN[0] * RADAR_DPI),
            n_leads=len(decided["leads"]), weak_note=section["weak_note"]), encoding="utf-8")
        files[cid].append(standalone)
    return blocks, files
