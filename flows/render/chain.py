"""The report's supply-chain section: chain diagram, 招商线索 table, development index ranking and radar charts.

Why a module of its own: flows/stages/s11_report.py decides the monitoring report's content (flows/render/report.py
lays it out); this section still reads its own marts (mart.chain_flows, chain_segments, supply_leads, cluster_index,
sql/indicators_chain*.sql) and is included by a template partial (reports/templates/_chain.html.j2), so the two
change independently.

Disclosure (docs/architecture.md#disclosure-control): flows and leads name firms (a supplier, the segment a firm buys
for), so they appear only
in the internal edition, together with a standalone offline HTML page and PNG per cluster. The public edition
shows per segment the registry counts and the TTM output where at least MIN_FIRMS firms contribute and, for the
public, the two largest do not exceed the dominance share, with secondary suppression against the cluster's
output (flows.support.disclosure.secondary). Index dimension scores are hidden in the public edition wherever an
indicator behind the dimension is suppressed for that cluster; the total and rank (a blend of thirteen
indicators over seven dimensions) are shown.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from flows.render import report as page
from flows.render.maps import chart_style
from flows.stages.s07_indicators import INDEX_DIMENSIONS, chain_index_config
from flows.support import disclosure
from flows.support.adcodes import adcode_names
from flows.support.settings import TEMPLATES_DIR
from flows.support.warehouse import rows, run_sql

TEMPLATES = TEMPLATES_DIR
# Leads shown per cluster in the report (the standalone page and the mart hold up to max_leads).
REPORT_LEADS = 10
RADAR_TILE_IN = (2.6, 2.7)   # one cluster's radar, also one cell of the index figure
RADAR_DPI = 110
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
    },
}
GROUP_LABELS = {
    "zh": {"member": "", "local": "外部·本地非成员", "province": "外部·省内其他地区", "other_province": "外部·外省",
           "unknown": "外部·所在地不明"},
    "en": {"member": "", "local": "outside: local", "province": "outside: rest of province",
           "other_province": "outside: other provinces", "unknown": "outside: unknown location"},
}


def available(con: duckdb.DuckDBPyConnection, period: dt.date) -> bool:
    """The marts exist and hold the period (a warehouse built before them has none: the section is left out)."""
    return run_sql(con, "chain_available", {"period": period}).fetchone()[0] > 0


def _uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ribbon(ax: Any, x0: float, y0: tuple[float, float], x1: float, y1: tuple[float, float], colour: str) -> None:
    """A band from (x0, y0 bottom..top) to (x1, y1 bottom..top) with cubic Bézier edges."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    xm = (x0 + x1) / 2
    verts = [(x0, y0[1]), (xm, y0[1]), (xm, y1[1]), (x1, y1[1]), (x1, y1[0]), (xm, y1[0]), (xm, y0[0]), (x0, y0[0]),
             (x0, y0[1])]
    codes = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.LINETO, MPath.CURVE4, MPath.CURVE4,
             MPath.CURVE4, MPath.CLOSEPOLY]
    ax.add_patch(PathPatch(MPath(verts, codes), facecolor=colour, edgecolor="none", alpha=0.45))


def chain_diagram(flows: list[dict[str, Any]], title: str, lang: str, path: Path) -> Path:
    """Layered Sankey: supplier sides (member segments, then the outside groups) on the left, buying segments on
    the right, band widths proportional to the TTM amount. Text is never parsed as mathtext."""
    plt = _plt()
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
    labels = GROUP_LABELS[lang]
    with plt.rc_context(chart_style()):
        fig, ax = plt.subplots(figsize=(9.0, 5.2), dpi=110)
        ax.set_xlim(-0.62, 1.62)
        ax.set_ylim(-0.04, 1.06)
        ax.axis("off")
        ordered = sorted(flows, key=lambda f: (left_order.index((f["supplier_group"], f["supplier_segment"])),
                                               right_order.index(f["buyer_segment"])))
        for f in ordered:
            k = (f["supplier_group"], f["supplier_segment"])
            hl, hr = f["amount_ttm"] * scale_l, f["amount_ttm"] * scale_r
            y0 = (lcur[k] - hl, lcur[k])
            y1 = (rcur[f["buyer_segment"]] - hr, rcur[f["buyer_segment"]])
            lcur[k] -= hl
            rcur[f["buyer_segment"]] -= hr
            _ribbon(ax, 0.06, y0, 0.94, y1, GROUP_COLOURS[f["supplier_group"]])
        for k, (lo, hi) in lpos.items():
            ax.add_patch(plt.Rectangle((0.0, lo), 0.06, hi - lo, color=GROUP_COLOURS[k[0]]))
            name = (f"成员·{k[1]}" if lang == "zh" else f"member: {k[1]}") if k[0] == "member" else labels[k[0]]
            ax.text(-0.02, (lo + hi) / 2, f"{name}  {left[k] / 1e4:,.2f}亿 ({left[k] / total:.0%})"
                    if lang == "zh" else f"{name}  {left[k] / 1e4:,.2f} ({left[k] / total:.0%})",
                    ha="right", va="center", fontsize=8)
        local = {f["buyer_segment"]: f["buyer_segment_local_share"] for f in flows}
        for s, (lo, hi) in rpos.items():
            ax.add_patch(plt.Rectangle((0.94, lo), 0.06, hi - lo, color="#2f4b7c"))
            share = local.get(s)
            tail = "" if share is None else (f"  本地配套率 {share:.0%}" if lang == "zh" else f"  local {share:.0%}")
            ax.text(1.02, (lo + hi) / 2, f"{s}  {buyers[s] / 1e4:,.2f}{'亿' if lang == 'zh' else ''}{tail}",
                    ha="left", va="center", fontsize=8)
        ax.set_title(title, fontsize=11)
        return page.save_chart(fig, path)


def radars(series: list[tuple[str, list[float | None]]], median: list[float | None],
           labels: list[str]) -> list[Any]:
    """One radar chart per cluster (RGB images, RADAR_TILE_IN at RADAR_DPI): its dimension scores (0–100) over the
    median of all clusters (dashed). A hidden or missing score is drawn as a gap at the centre and its axis label
    marked.

    Why one figure for all: creating a polar axes and laying it out cost more than drawing it, so the axes is made
    and laid out once (for the widest labels: every one marked) and only the cluster's line, area, labels and title
    change between clusters. Every tile thus has the same geometry, and the index figure is tiles side by side."""
    if not series:
        return []
    plt = _plt()
    angles = [2 * math.pi * k / len(labels) for k in range(len(labels))]
    ring = [*angles, angles[0]]

    def closed(values: list[float | None]) -> list[float]:
        ys = [0.0 if v is None else v for v in values]
        return [*ys, ys[0]]

    images = []
    with plt.rc_context(chart_style()):
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
            ax.set_title(series[0][0], fontsize=8.5, pad=12)
            fig.tight_layout()
            for name, values in series:
                line.set_ydata(closed(values))
                area.set_xy(list(zip(ring, closed(values), strict=True)))
                ax.set_xticklabels([lab if v is not None else f"{lab}*" for lab, v in zip(labels, values, strict=True)],
                                   fontsize=6.5)
                ax.set_title(name, fontsize=8.5, pad=12)
                images.append(page.chart_image(fig, tight=False))
        finally:
            plt.close(fig)
    return images


def radar_grid(images: list[Any], path: Path, cols: int = 4) -> Path:
    """The radars side by side, `cols` to a row (the index figure of the report)."""
    from PIL import Image

    cols = min(cols, len(images))
    width, height = images[0].size
    grid = Image.new("RGB", (width * cols, height * math.ceil(len(images) / cols)), "white")
    for i, image in enumerate(images):
        grid.paste(image, ((i % cols) * width, (i // cols) * height))
    return page.write_image(grid, path, RADAR_DPI)


def _segment_output_status(segments: list[dict[str, Any]], cluster_output: float | None,
                           cluster_hidden: bool, audience: str) -> dict[str, str]:
    """Suppression status of each segment's TTM output (flows.support.disclosure's rules and secondary suppression
    against the cluster's output, which the parts add up to)."""
    status: dict[tuple, str] = {}
    values: dict[tuple, float | None] = {}
    total = ("cluster", "output_ttm")
    values[total] = cluster_output
    if cluster_hidden:
        status[total] = "primary"
    parts = []
    for s in segments:
        key = ("segment", s["segment"])
        parts.append(key)
        values[key] = s["output_ttm"]
        if s["output_ttm"] is None:
            continue
        if s["n_firms_contrib"] < disclosure.MIN_FIRMS:
            status[key] = "few"
        elif (audience == "public" and s["top2_output_ttm"] is not None
              and s["top2_output_ttm"] > disclosure.DOMINANCE_SHARE * s["output_ttm"]):
            status[key] = "dominance"
    rel = disclosure.Relation(total, tuple(parts))  # type: ignore[arg-type]
    done = disclosure.secondary(values, status, [rel])
    return {k[1]: v for k, v in done.items() if k[0] == "segment"}


def _location(lead: dict[str, Any], t: dict[str, str], lang: str) -> str:
    """Province and city of a lead (the English edition: the province in English; city names have no English
    table); for an unknown location the registration division of its USCC (characters 3–8, GB 32100),
    labelled as such: where it registered, not necessarily where it supplies from."""
    from flows.stages.s11_report import term

    def place(province: str | None, city: str | None) -> str:
        if lang == "en":
            return term("province", province, "en") if province else ""
        return " ".join(dict.fromkeys(x for x in (province, city) if x))

    known = place(lead["province"], lead["city"])
    if known:
        return known
    uscc = lead["supplier_uscc"] or ""
    names = dict(adcode_names())
    region = place(names.get(uscc[2:4]), names.get(uscc[2:6]))
    return t["unknown"] + (t["registered"].format(region=region) if len(uscc) == 18 and region else "")


def _fmt(v: float | None, pattern: str, na: str) -> str:
    return na if v is None else pattern.format(v)


def chain_section(con: duckdb.DuckDBPyConnection, period: dt.date, lang: str, audience: str,
                  clusters: list[dict[str, Any]], hidden: Callable[[str, str], bool], out_dir: Path,
                  stem: str) -> dict[str, Any] | None:
    """Everything the partial _chain.html.j2 shows, and the files written beside the report (PNG per cluster,
    standalone offline HTML per cluster for the internal edition). None when the marts hold nothing for period.

    hidden(cluster_id, indicator) says whether the report's disclosure panel suppressed that cell."""
    if not available(con, period):
        return None
    t = TEXT[lang]
    cfg = chain_index_config()
    dims = cfg["index"]["dimension"]
    dim_labels = [d["name_zh"] if lang == "zh" else d["name_en"] for d in dims]
    ids = [c["cluster_id"] for c in clusters]
    names = {c["cluster_id"]: c["cluster_name"] for c in clusters}
    chain_dir = out_dir / f"{stem}_chain"
    files: list[Path] = []
    na = t["na"]

    index = {r["cluster_id"]: r for r in rows(con, "chain_index", {"period": period, "clusters": ids})}
    ranking = []
    for cid in sorted(index, key=lambda c: (index[c]["rank"] is None, index[c]["rank"] or 0, c)):
        r = index[cid]
        scores = []
        for d in dims:
            withheld = audience == "public" and any(hidden(cid, i["code"]) for i in d["indicators"])
            scores.append(disclosure.SYMBOL if withheld else _fmt(r[d["code"]], "{:.1f}", na))
        ranking.append({"id": cid, "rank": r["rank"] or na, "name": names[cid], "scores": scores,
                        "total": _fmt(r["total"], "{:.1f}", na),
                        "withheld": any(s == disclosure.SYMBOL for s in scores)})
    drawn = [x for x in ranking if not x["withheld"]]
    median = []
    for d in INDEX_DIMENSIONS:
        vals = sorted(r[d] for r in index.values() if r[d] is not None)
        median.append(None if not vals else (vals[(len(vals) - 1) // 2] + vals[len(vals) // 2]) / 2)
    # each cluster's radar is drawn once: a cell of the index figure and, internally, the cluster's own PNG
    tiled = [x["id"] for x in drawn] if audience == "public" else [x["id"] for x in ranking]
    tiles = dict(zip(tiled, radars([(names[cid], [index[cid][d] for d in INDEX_DIMENSIONS]) for cid in tiled],
                                   median, dim_labels), strict=True))
    radar_png = radar_grid([tiles[x["id"]] for x in drawn], chain_dir / "index_radar.png") if drawn else None
    if radar_png:
        files.append(radar_png)

    segs: dict[str, list[dict[str, Any]]] = {}
    for s in rows(con, "chain_segments", {"period": period}):
        segs.setdefault(s["cluster_id"], []).append(s)
    out_ttm = dict(run_sql(con, "chain_output_ttm", {"period": period}).fetchall())
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    period_label = t["period"].format(y=period.year, m=period.month)
    blocks = []
    for cid in ids:
        seg_rows = segs.get(cid, [])
        status = _segment_output_status(seg_rows, out_ttm.get(cid), hidden(cid, "output_ttm"), audience)
        seg_view = [{"segment": s["segment"], "n_firms": s["n_firms"], "n_srdi": s["n_srdi"],
                     "leaders": s["n_chain_leaders"],
                     "output": disclosure.SYMBOL if s["segment"] in status else
                     _fmt(None if s["output_ttm"] is None else s["output_ttm"] / 1e4, "{:,.2f}", na),
                     "local_share": _fmt(s["local_share"], "{:.1%}", na),
                     "weak": t["yes"] if s["weak_link"] else ""} for s in seg_rows]
        block: dict[str, Any] = {"id": cid, "name": names[cid], "segments": seg_view,
                                 "weak": [s["segment"] for s in seg_rows if s["weak_link"]]}
        if audience == "internal":
            flows = rows(con, "chain_flows", {"cluster_id": cid, "period": period})
            leads = rows(con, "chain_leads", {"cluster_id": cid, "period": period})
            lead_view = [{"rank": r["rank"], "name": r["supplier_name"], "uscc": r["supplier_uscc"] or "",
                          "location": _location(r, t, lang),
                          "amount": f"{r['amount_ttm']:,.1f}", "share": f"{r['share_of_purchases']:.1%}",
                          "buyers": r["n_buying_firms"],
                          "supplies": ("、" if lang == "zh" else ", ").join(r["segments"] or []),
                          "change": t["new"] if r["amount_prev_ttm"] == 0 else _fmt(r["change_rate"], "{:+.1%}", na)}
                         for r in leads]
            png = None
            if flows:
                png = chain_diagram(flows, t["diagram"].format(name=names[cid]), lang, chain_dir / f"{cid}_chain.png")
                files.append(png)
            one_radar = None
            if cid in tiles:
                one_radar = page.write_image(tiles[cid], chain_dir / f"{cid}_radar.png", RADAR_DPI)
                files.append(one_radar)
            block.update(diagram=_uri(png) if png else None, leads=lead_view[:REPORT_LEADS])
            standalone = chain_dir / f"{cid}.html"
            standalone.write_text(env.get_template("chain_cluster.html.j2").render(
                t=t, lang=lang, title=t["standalone"].format(name=names[cid], period=period_label),
                block={**block, "leads": lead_view}, radar=_uri(one_radar) if one_radar else None,
                n_leads=len(lead_view), weak_note=t["weak_note"].format(ratio=cfg["chain"]["weak_ratio"])),
                encoding="utf-8")
            files.append(standalone)
        blocks.append(block)
    return {"t": t, "audience": audience, "ranking": ranking, "dim_labels": dim_labels,
            "radar": _uri(radar_png) if radar_png else None, "blocks": blocks, "files": files,
            "index_note": t["index_note"].format(method=t.get(cfg["index"]["method"], cfg["index"]["method"])),
            "weak_note": t["weak_note"].format(ratio=cfg["chain"]["weak_ratio"]),
            "leads_title": t["leads"].format(n=REPORT_LEADS)}
