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
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb
import polars as pl

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


def _location(province: str | None, city: str | None, division: str | None, t: dict[str, str], lang: str) -> str:
    """Province and city of a lead (the English edition: the province in English; city names have no English
    table); for an unknown location the registration division of its USCC (`division`, characters 3–6 of an
    18-character USCC, GB 32100; None for any other), labelled as such: where it registered, not necessarily where
    it supplies from."""
    known = _place(province, city, lang)
    if known:
        return known
    names = dict(adcode_names())
    region = _place(names.get(division[:2]), names.get(division), lang) if division else ""
    return t["unknown"] + (t["registered"].format(region=region) if region else "")


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


LEAD_CELLS = ("rank", "name", "uscc", "location", "amount", "share", "buyers", "supplies", "change")


def leads_by_cluster(con: duckdb.DuckDBPyConnection, period: dt.date, clusters: list[str], t: dict[str, str],
                     lang: str) -> dict[str, list[dict[str, Any]]]:
    """The lead table's rows (LEAD_CELLS) of each of `clusters` in month `period`, in rank order. chain_leads.sql
    writes the cells and the result comes as Arrow; the locations are worked out once per distinct place and USCC
    division and joined on. Why: at nation 60,000 leads fetched as Python values and formatted one by one cost
    ≈ 0.8 CPU-s of the report's process, this ≈ 0.27."""
    frame = run_sql(con, "chain_leads", {"period": period, "clusters": clusters, "new": t["new"], "na": t["na"],
                                         "sep": "、" if lang == "zh" else ", "}).pl()
    frame = frame.with_columns(pl.when(pl.col("uscc").str.len_chars() == 18).then(pl.col("uscc").str.slice(2, 4))
                               .alias("division"))
    places = frame.select("province", "city", "division").unique()
    places = places.with_columns(pl.Series("location", [_location(*place, t, lang) for place in places.iter_rows()],
                                           dtype=pl.String))
    frame = frame.join(places, on=["province", "city", "division"], how="left", nulls_equal=True,
                       maintain_order="left")
    cells = frame.select(LEAD_CELLS).to_dicts()     # once: per cluster, polars' overhead was ≈ 0.15 CPU-s
    out, at = {}, 0
    for cid, n in frame.group_by("cluster_id", maintain_order=True).len().iter_rows():    # the query's order
        out[cid], at = cells[at:at + n], at + n
    return out


@dataclass
class Prepared:
    """What the section says apart from what depends on the month's alerts (prepare; content() adds that).

    Why split: the night prepares it beside its alert stage (s11_report.begin_reports), so the report stage only
    orders the clusters by their alerts. Nothing it reads (mart.cluster_index, chain_segments, chain_flows,
    supply_leads, cluster_indicators' output_ttm) is written by the alert stage, which writes mart.alerts,
    mart.alert_conditions, the drift results and the outbox (sql/s10_alerts, sql/s09_drift)."""

    head: dict[str, Any]                    # chain_content's keys before "blocks", in its order
    dim_codes: list[str]
    notes: dict[str, str]                   # its last keys: the index and weak-link notes
    ids: list[str]                          # the edition's clusters, in table order
    ranks: dict[str, int | None]            # development index rank of each indexed cluster
    block: Callable[[str], dict[str, Any]]  # a cluster's block (its segments; flows and leads internally)
    blocks: dict[str, dict[str, Any]]       # the internal edition's: every cluster's, built once

    def content(self, alerted: Collection[str] = ()) -> dict[str, Any]:
        """The section (flows.render.chain.draw_section draws it): alerted are the clusters with an alert in the
        report's month, detailed first (see detailed())."""
        featured = detailed(self.ids, self.ranks, alerted, detail_limit())
        # the public edition has no standalone pages: a cluster it does not detail needs no block
        blocks = ([self.blocks[cid] for cid in self.ids] if self.head["audience"] == "internal" else
                  [self.block(cid) for cid in featured])
        return {**self.head, "blocks": blocks, "featured": featured,
                # the rows the index table lists (alerted first, then by rank, up to [tables] max_rows)
                "listed": detailed(list(self.ranks), self.ranks, alerted, table_limit()),
                "dim_codes": self.dim_codes, "left_out": len(self.ids) - len(featured), **self.notes}


def chain_content(con: duckdb.DuckDBPyConnection, period: dt.date, lang: str, audience: str,
                  clusters: list[dict[str, Any]], hidden: Callable[[str, str], bool],
                  alerted: Collection[str] = ()) -> dict[str, Any] | None:
    """What the section says (flows.render.chain.draw_section draws it); None when the marts hold nothing for
    period. hidden(cluster_id, indicator) says whether the report's disclosure panel suppressed that cell;
    alerted are the clusters with an alert in the report's month (detailed first, see detailed())."""
    prepared = prepare(con, period, lang, audience, clusters, hidden)
    return None if prepared is None else prepared.content(alerted)


def prepare(con: duckdb.DuckDBPyConnection, period: dt.date, lang: str, audience: str,
            clusters: list[dict[str, Any]], hidden: Callable[[str, str], bool]) -> Prepared | None:
    """The section but for its alerted clusters' order (Prepared); None when the marts hold nothing for period.
    hidden(cluster_id, indicator) says whether the report's disclosure panel suppressed that cell."""
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

    segs: dict[str, list[dict[str, Any]]] = {}
    for s in rows(con, "chain_segments", {"period": period}):
        segs.setdefault(s["cluster_id"], []).append(s)
    out_ttm = dict(run_sql(con, "chain_output_ttm", {"period": period}).fetchall())
    period_label = t["period"].format(y=period.year, m=period.month)
    flows: dict[str, list[dict[str, Any]]] = {}
    leads: dict[str, list[dict[str, Any]]] = {}
    if audience == "internal":
        for r in rows(con, "chain_flows", {"period": period, "clusters": ids}):
            flows.setdefault(r["cluster_id"], []).append(r)
        leads = leads_by_cluster(con, period, ids, t, lang)

    def block(cid: str) -> dict[str, Any]:
        seg_rows = segs.get(cid, [])
        status = _segment_output_status(seg_rows, out_ttm.get(cid), hidden(cid, "output_ttm"), audience)
        seg_view = [{"segment": s["segment"], "n_firms": s["n_firms"], "n_srdi": s["n_srdi"],
                     "leaders": s["n_chain_leaders"],
                     "output": disclosure.SYMBOL if s["segment"] in status else
                     _fmt(None if s["output_ttm"] is None else s["output_ttm"] / 1e4, "{:,.2f}", na),
                     "local_share": _fmt(s["local_share"], "{:.1%}", na),
                     "weak": t["yes"] if s["weak_link"] else ""} for s in seg_rows]
        built: dict[str, Any] = {"id": cid, "name": names[cid], "segments": seg_view,
                                 "weak": [s["segment"] for s in seg_rows if s["weak_link"]]}
        if audience == "internal":
            built.update(flows=flows.get(cid, []),
                         title=t["standalone"].format(name=names[cid], period=period_label),
                         leads=leads.get(cid, []))
        return built

    head = {"t": t, "lang": lang, "audience": audience, "ranking": ranking,
            "dim_labels": [d["name_zh"] if lang == "zh" else d["name_en"] for d in dims], "median": median,
            "scores": {cid: [r[d] for d in INDEX_DIMENSIONS] for cid, r in index.items()},
            "drawn": [x["id"] for x in ranking if not x["withheld"]]}
    notes = {"index_note": t["index_note"].format(method=t.get(cfg["index"]["method"], cfg["index"]["method"])),
             "weak_note": t["weak_note"].format(ratio=cfg["chain"]["weak_ratio"])}
    return Prepared(head, [d["code"] for d in dims], notes, ids, {cid: r["rank"] for cid, r in index.items()}, block,
                    {cid: block(cid) for cid in ids} if audience == "internal" else {})
