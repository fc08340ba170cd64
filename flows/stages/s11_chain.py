"""Stage 11, the report's supply-chain section: decide what it says; flows/render/chain.py draws it.

The section reads its own marts (mart.chain_flows, chain_segments, supply_leads, cluster_index: the queries are
sql/s11_report/18–25) and is included by a template partial (reports/templates/_chain.html.j2), so it changes
independently of the rest of the report (flows/stages/s11_report.py). What comes out is data only — formatted
cells, withheld flags, the flows a diagram draws, the radar's scores — so the drawing needs no warehouse.

Disclosure (docs/architecture.md#disclosure-control): flows and leads name firms (a supplier, the segment a firm
buys for), so they appear only in the internal edition, together with a standalone offline HTML page per cluster
(its diagram and radar inline SVG). The public edition shows per segment the registry counts and the TTM output
where at least MIN_FIRMS firms contribute and, for the public, the two largest do not exceed the dominance share,
with secondary suppression against the cluster's output (flows.support.disclosure.secondary). Index dimension scores
are hidden in the public edition wherever an indicator behind the dimension is suppressed for that cluster; the
total and rank (a blend of thirteen indicators over seven dimensions) are shown, and its radar is left out of the
index figure.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Collection
from functools import cache
from typing import Any

import duckdb

from flows.render.chain import TEXT
from flows.stages.s07_indicators import INDEX_DIMENSIONS, chain_index_config
from flows.support import disclosure
from flows.support.adcodes import adcode_names
from flows.support.settings import REGISTRY_DIR
from flows.support.warehouse import rows, run_sql

REPORT_CONFIG = REGISTRY_DIR / "report.toml"


def available(con: duckdb.DuckDBPyConnection, period: dt.date) -> bool:
    """The marts exist and hold the period (a warehouse built before them has none: the section is left out)."""
    return run_sql(con, "chain_available", {"period": period}).fetchone()[0] > 0


def _limit(table: str, key: str) -> int:
    """A whole number ≥ 1 from flows/registry/report.toml; anything else is refused, naming the file and key."""
    n = tomllib.loads(REPORT_CONFIG.read_text(encoding="utf-8"))[table][key]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{REPORT_CONFIG}: [{table}] {key} must be a whole number ≥ 1, not {n!r}")
    return n


def detail_limit() -> int:
    """How many clusters the section details one by one (flows/registry/report.toml, [detail] max_clusters)."""
    return _limit("detail", "max_clusters")


def table_limit() -> int:
    """How many clusters a per-cluster table of the report lists (flows/registry/report.toml, [tables] max_rows);
    the CSV beside the report holds every cluster."""
    return _limit("tables", "max_rows")


def detailed(ids: list[str], ranks: dict[str, int | None], alerted: Collection[str], limit: int) -> list[str]:
    """The clusters the section details, in table order: those with an alert in the month first, then the others
    by development index rank (unranked last, then by id), up to `limit`. Why a limit: at nation scale the detail of
    every cluster made a report nobody reads through and a PDF no mail server accepts; the standalone pages keep it."""
    order = sorted(ids, key=lambda c: (c not in alerted, ranks.get(c) is None, ranks.get(c) or 0, c))
    chosen = set(order[:limit])
    return [c for c in ids if c in chosen]


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
    known = _place(lead["province"], lead["city"], lang)
    if known:
        return known
    uscc = lead["supplier_uscc"] or ""
    names = dict(adcode_names())
    region = _place(names.get(uscc[2:4]), names.get(uscc[2:6]), lang)
    return t["unknown"] + (t["registered"].format(region=region) if len(uscc) == 18 and region else "")


@cache
def _place(province: str | None, city: str | None, lang: str) -> str:
    """A place as the lead tables write it. Cached: the 60,000 leads of a nation edition name a few hundred places
    (written one lead at a time, ≈0.3 CPU-s)."""
    from flows.stages.s11_report import term  # s11_report imports this module

    if lang == "en":
        return term("province", province, "en") if province else ""
    return " ".join(dict.fromkeys(x for x in (province, city) if x))


def _fmt(v: float | None, pattern: str, na: str) -> str:
    return na if v is None else pattern.format(v)


def chain_content(con: duckdb.DuckDBPyConnection, period: dt.date, lang: str, audience: str,
                  clusters: list[dict[str, Any]], hidden: Callable[[str, str], bool],
                  alerted: Collection[str] = ()) -> dict[str, Any] | None:
    """What the section says (flows.render.chain.draw_section draws it); None when the marts hold nothing for
    period. hidden(cluster_id, indicator) says whether the report's disclosure panel suppressed that cell;
    alerted are the clusters with an alert in the report's month (detailed first, see detailed())."""
    if not available(con, period):
        return None
    t = TEXT[lang]
    cfg = chain_index_config()
    dims = cfg["index"]["dimension"]
    ids = [c["cluster_id"] for c in clusters]
    names = {c["cluster_id"]: c["cluster_name"] for c in clusters}
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
                        "withheld": any(s == disclosure.SYMBOL for s in scores),
                        # the index CSV's row (every cluster): stored scores, the symbol where withheld
                        "raw": [r["rank"], *[disclosure.SYMBOL if s == disclosure.SYMBOL else r[d["code"]]
                                             for s, d in zip(scores, dims, strict=True)], r["total"]]})
    median = []
    for d in INDEX_DIMENSIONS:
        vals = sorted(r[d] for r in index.values() if r[d] is not None)
        median.append(None if not vals else (vals[(len(vals) - 1) // 2] + vals[len(vals) // 2]) / 2)

    ranks = {cid: r["rank"] for cid, r in index.items()}
    featured = detailed(ids, ranks, alerted, detail_limit())
    # the public edition has no standalone pages: a cluster it does not detail needs no block
    blocked = ids if audience == "internal" else featured

    segs: dict[str, list[dict[str, Any]]] = {}
    for s in rows(con, "chain_segments", {"period": period}):
        segs.setdefault(s["cluster_id"], []).append(s)
    out_ttm = dict(run_sql(con, "chain_output_ttm", {"period": period}).fetchall())
    period_label = t["period"].format(y=period.year, m=period.month)
    flows: dict[str, list[dict[str, Any]]] = {}
    leads: dict[str, list[dict[str, Any]]] = {}
    if audience == "internal":
        for name, into in (("chain_flows", flows), ("chain_leads", leads)):
            for r in rows(con, name, {"period": period, "clusters": blocked}):
                into.setdefault(r["cluster_id"], []).append(r)
    blocks = []
    for cid in blocked:
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
            block.update(
                flows=flows.get(cid, []),
                title=t["standalone"].format(name=names[cid], period=period_label),
                leads=[{"rank": r["rank"], "name": r["supplier_name"], "uscc": r["supplier_uscc"] or "",
                        "location": _location(r, t, lang),
                        "amount": f"{r['amount_ttm']:,.1f}", "share": f"{r['share_of_purchases']:.1%}",
                        "buyers": r["n_buying_firms"],
                        "supplies": ("、" if lang == "zh" else ", ").join(r["segments"] or []),
                        "change": t["new"] if r["amount_prev_ttm"] == 0 else _fmt(r["change_rate"], "{:+.1%}", na)}
                       for r in leads.get(cid, [])])
        blocks.append(block)
    return {"t": t, "lang": lang, "audience": audience, "ranking": ranking,
            "dim_labels": [d["name_zh"] if lang == "zh" else d["name_en"] for d in dims], "median": median,
            "scores": {cid: [r[d] for d in INDEX_DIMENSIONS] for cid, r in index.items()},
            "drawn": [x["id"] for x in ranking if not x["withheld"]], "blocks": blocks, "featured": featured,
            # the rows the index table lists (alerted first, then by rank, up to [tables] max_rows)
            "listed": detailed(list(index), ranks, alerted, table_limit()),
            "dim_codes": [d["code"] for d in dims],
            "left_out": len(ids) - len(featured),
            "index_note": t["index_note"].format(method=t.get(cfg["index"]["method"], cfg["index"]["method"])),
            "weak_note": t["weak_note"].format(ratio=cfg["chain"]["weak_ratio"])}
