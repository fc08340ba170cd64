"""Disclosure control for everything the report publishes (docs/architecture.md#disclosure-control), applied before
anything is rendered.

Why a module of its own: the rules decide what may leave the warehouse, so they are kept apart from the
layout code and tested on their own.

A *panel* is every cell the report can show: one row per (row_id, period, indicator) where row_id is a
cluster id, 'P:<province>' (the province roll-up of its clusters) or 'ALL' (all clusters). Rules:

* primary, every audience: a value built from fewer than MIN_FIRMS firms (``n_firms`` of the mart) is
  suppressed (status ``few``);
* primary, public audience: the (2, 85%) dominance rule — the two largest firms contribute more than 85% of
  a sum behind the value (status ``dominance``). Firm contributions come from the core tables
  (sql/report_contributions.sql); each indicator names the sums it is built from (DOMINANCE_MEASURES).
  top1_share and hhi describe the largest firms directly and are never public (status ``concentration``);
* secondary, public audience: for every roll-up relation total = f(parts) (ALL over provinces, ALL over
  clusters, each province over its clusters; every indicator, ratios too, which is conservative) the number
  of suppressed members is never exactly one: the smallest non-zero shown part is suppressed as well
  (status ``secondary``), or the total when no part is left; repeated until nothing changes.

Internal analysts see everything in DuckDB; the internal report still hides values from fewer than MIN_FIRMS firms.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from flows.support import disclosure_audit
from flows.support.registry import by_code, disclosure_settings, registry, with_role
from flows.support.warehouse import run_sql, sql_text

if TYPE_CHECKING:  # maps pulls in matplotlib and shapely; only the public map needs them
    from flows.render import maps

_THRESHOLDS = disclosure_settings()  # flows/registry/disclosure.toml, the one home of these numbers
MIN_FIRMS = int(_THRESHOLDS["min_firms"])
DOMINANCE_N = int(_THRESHOLDS["dominance_n"])
DOMINANCE_SHARE = float(_THRESHOLDS["dominance_share"])
AUDIENCES = ("internal", "public")
SYMBOL = "—*"
FOOTNOTE_ZH = (f"“{SYMBOL}”表示依统计数据保密规定不予公布（贡献企业少于{MIN_FIRMS}家、"
               f"前{DOMINANCE_N}家企业占比超过{DOMINANCE_SHARE:.0%}，或为防止推算而隐去的数据）。")
FOOTNOTE_EN = (f"“{SYMBOL}”: withheld for confidentiality (fewer than {MIN_FIRMS} firms, the largest "
               f"{DOMINANCE_N} firms above {DOMINANCE_SHARE:.0%} of the total, or withheld so that another "
               "withheld value cannot be derived).")

# The firm-level sums each indicator is built from (registry: disclosure.dominance; measures of
# sql/report_contributions.sql), and the indicators that describe the largest firms (role concentration).
DOMINANCE_MEASURES: dict[str, tuple[str, ...]] = {i.code: i.disclosure.dominance for i in registry()
                                                  if i.disclosure.dominance}
NEVER_PUBLIC = with_role("concentration")

@dataclass(frozen=True)
class Relation:
    """total = f(parts) for one period and indicator; a published table must not let one part be solved."""

    total: tuple[str, dt.date, str]
    parts: tuple[tuple[str, dt.date, str], ...]


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _periods_table(con: duckdb.DuckDBPyConnection, periods: Iterable[dt.date]) -> None:
    """Temp table report_periods; one statement (executemany is slow on a read-only connection)."""
    con.execute("CREATE OR REPLACE TEMP TABLE report_periods AS SELECT unnest(?::DATE[]) AS period",
                [sorted(set(periods))])


def contributions(con: duckdb.DuckDBPyConnection, periods: Iterable[dt.date]) -> pl.DataFrame:
    """Per group, period and measure: total and the two largest firms' sum (for the dominance rule)."""
    _periods_table(con, periods)
    sql = sql_text("report_contributions")
    if not _has(con, "work", "proc_buyer_month"):  # a warehouse whose indicator stage never ran
        sql = sql.replace("work.proc_buyer_month", "(SELECT NULL::VARCHAR AS buyer_uscc, NULL::DATE AS period, "
                          "NULL::DOUBLE AS amount, NULL::DOUBLE AS local_amount WHERE false)")
    return con.execute(sql).pl()


def panel(con: duckdb.DuckDBPyConnection, periods: Iterable[dt.date]) -> pl.DataFrame:
    """Every publishable cell of the periods: clusters, province roll-ups and the all-cluster roll-up.

    Columns: row_id, kind (cluster/province/all), province, period, indicator, value, n_firms.
    """
    _periods_table(con, periods)
    run_sql(con, "indicators_rollup")
    inds = registry()
    return run_sql(con, "report_panel", {"codes": [i.code for i in inds], "rollups": [i.rollup for i in inds]}
                   ).pl().with_columns(pl.col("n_firms").cast(pl.Int64))


def relations(frame: pl.DataFrame) -> list[Relation]:
    """The roll-up relations among the panel's cells (ALL = Σ provinces = Σ clusters; province = Σ clusters)."""
    by_province: dict[str, list[str]] = defaultdict(list)
    for row_id, province in frame.filter(pl.col("kind") == "cluster").select("row_id", "province").unique().rows():
        by_province[province].append(row_id)
    clusters = sorted(r for ids in by_province.values() for r in ids)
    provinces = sorted(by_province)
    out = []
    for period, indicator in frame.select("period", "indicator").unique().rows():
        out.append(Relation(("ALL", period, indicator), tuple((c, period, indicator) for c in clusters)))
        out.append(Relation(("ALL", period, indicator), tuple((f"P:{p}", period, indicator) for p in provinces)))
        for p in provinces:
            out.append(Relation((f"P:{p}", period, indicator),
                                tuple((c, period, indicator) for c in sorted(by_province[p]))))
    return out


def primary(frame: pl.DataFrame, audience: str, contrib: pl.DataFrame | None = None) -> dict[tuple, str]:
    """Primary suppression: fewer than MIN_FIRMS firms; for the public also dominance and concentration."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}")
    dominated: set[tuple[str, dt.date, str]] = set()
    if audience == "public" and contrib is not None and contrib.height:
        hit = contrib.filter(pl.col("top2") > DOMINANCE_SHARE * pl.col("total"))
        dominated = {(g, p, m) for g, p, m in hit.select("grp", "period", "measure").rows()}
    status: dict[tuple, str] = {}
    for row_id, period, indicator, value, n_firms in frame.select(
            "row_id", "period", "indicator", "value", "n_firms").rows():
        if value is None:
            continue
        key = (row_id, period, indicator)
        if n_firms is None or n_firms < MIN_FIRMS:
            status[key] = "few"
        elif audience == "public" and indicator in NEVER_PUBLIC:
            status[key] = "concentration"
        elif audience == "public" and any((row_id, period, m) in dominated
                                          for m in DOMINANCE_MEASURES.get(indicator, ())):
            status[key] = "dominance"
    return status


def secondary(values: dict[tuple, float | None], status: dict[tuple, str], rels: list[Relation]) -> dict[tuple, str]:
    """Add secondary suppressions until no relation has exactly one suppressed member (returns a new dict)."""
    status = dict(status)
    changed = True
    while changed:
        changed = False
        for rel in rels:
            members = (rel.total, *rel.parts)
            hidden = [k for k in members if k in status]
            if len(hidden) != 1:
                continue
            shown = [k for k in rel.parts if k not in status and values.get(k) is not None]
            # Prefer the smallest non-zero part (least information lost; a zero would let the sum be solved).
            shown.sort(key=lambda k: (abs(values[k] or 0.0) == 0.0, abs(values[k] or 0.0)))
            target = shown[0] if shown and values.get(rel.total) is not None else None
            if target is None and rel.total not in status and values.get(rel.total) is not None:
                target = rel.total
            if target is None:
                continue  # the lone suppressed value has no shown companion: nothing can be solved
            status[target] = "secondary"
            changed = True
    return status


def linked(frame_values: dict[tuple, float | None], status: dict[tuple, str]) -> dict[tuple, str]:
    """Indicators that share a sum are withheld together (returns a new dict).

    An indicator with a linked additive indicator (registry: disclosure.linked), e.g. output_ytd_yoy(m) =
    Σ YTD(m) / Σ YTD(m − 12) − 1 over comparable firms: shown beside output_ytd of either month it gives the
    other one within the comparable-basis difference, so it is withheld whenever the linked indicator of m or
    of m − 12 is withheld.
    """
    status = dict(status)
    codes = by_code()
    for (row_id, period, indicator), value in frame_values.items():
        base = codes[indicator].disclosure.linked if indicator in codes else None
        if base is None or value is None or (row_id, period, indicator) in status:
            continue
        year_before = period.replace(year=period.year - 1)
        if (row_id, period, base) in status or (row_id, year_before, base) in status:
            status[(row_id, period, indicator)] = "linked"
    return status


def settings() -> dict:
    """flows/registry/disclosure.toml (thresholds, protection range of the audit, rounds)."""
    return disclosure_settings()


@dataclass
class Protected:
    """The panel with `status`/`shown` columns and, for the public audience, the audit that let it out."""

    frame: pl.DataFrame
    audit: disclosure_audit.Audit | None
    earlier_editions: list[str] = field(default_factory=list)


def protect(con: duckdb.DuckDBPyConnection, periods: Iterable[dt.date], audience: str) -> pl.DataFrame:
    """The panel of the periods with a `status` column (None = may be shown) and `shown` (value or None)."""
    return protect_edition(con, periods, audience).frame


def protect_edition(con: duckdb.DuckDBPyConnection, periods: Iterable[dt.date], audience: str,
                    earlier: Iterable[Path] = (), protection: float | None = None) -> Protected:
    """Disclosure control of one edition: primary rules; for the public also the linked and roll-up rules,
    consistency with the public editions already out (`earlier`: their edition files; what they withheld
    stays withheld, what they published is known to every reader) and the attacker's audit."""
    periods = sorted({p.replace(day=1) for p in periods})
    frame = panel(con, periods)
    contrib = contributions(con, periods) if audience == "public" else None
    status = primary(frame, audience, contrib)
    audit, names = None, []
    if audience == "public":
        cfg = settings()
        protection = float(cfg["protection_range"] if protection is None else protection)
        values = {(r, p, i): v for r, p, i, v in frame.select("row_id", "period", "indicator", "value").rows()}
        fixed: dict[tuple, float] = {}
        for path in earlier:
            names.append(path.name)
            shown, withheld = read_edition(path)
            for key in withheld:
                if key in values and key not in status:
                    status[key] = "earlier_edition"
            for key, value in shown.items():  # revised since: the old value no longer ties today's cells
                now = values.get(key, value) if key in values else value
                if now is not None and abs(now - value) <= 1e-9 * max(abs(value), 1.0):
                    fixed[key] = value
        rels = relations(frame)

        def complete(st: dict[tuple, str]) -> dict[tuple, str]:
            while True:
                nxt = secondary(values, linked(values, st), rels)
                if nxt == st:
                    return st
                st = nxt

        status = complete(status)
        clusters = dict(frame.filter(pl.col("kind") == "cluster").select("row_id", "province").unique().rows())
        first = con.execute("SELECT min(period) FROM mart.cluster_indicators").fetchone()[0]
        status, audit = disclosure_audit.audit_and_complete(
            values, status, disclosure_audit.members_of(clusters), first, fixed, protection,
            int(cfg["max_rounds"]), complete)
    # a tuple per cell, not a dict: 190,000 cells at nation
    marks = [status.get(k) for k in frame.select("row_id", "period", "indicator").iter_rows()]
    frame = frame.with_columns(pl.Series("status", marks, dtype=pl.Utf8))
    frame = frame.with_columns(
        pl.when(pl.col("status").is_null()).then(pl.col("value")).otherwise(None).alias("shown"))
    return Protected(frame, audit, names)


def audit_note(audit: disclosure_audit.Audit | None, lang: str) -> dict[str, str] | None:
    """The audit's result as the data-quality section states it (None for the internal edition)."""
    if audit is None:
        return None
    p = f"{audit.protection_range:.0%}"
    if audit.cells_checked == 0:
        return ({"heading": "数据保密审核",
                 "text": (f"本期公开数据中没有需按±{p}保护的可加总保密单元格（企业少于{MIN_FIRMS}家或前{DOMINANCE_N}家"
                          f"企业占比超过{DOMINANCE_SHARE:.0%}的产值、企业数等），线性规划审核无需求解；"
                          "比率指标按汇总关系隐去。")}
                if lang == "zh" else
                {"heading": "Disclosure audit",
                 "text": (f"No confidential additive cell (outputs, counts from fewer than {MIN_FIRMS} firms or "
                          f"dominated by the largest {DOMINANCE_N}) is in this edition, so the linear-programming "
                          f"audit (±{p}) had nothing to solve; ratios are withheld by the roll-up rules.")})
    if audit.min_protection is None:
        achieved = "—"
    elif audit.min_protection == float("inf"):
        achieved = "∞"
    else:
        achieved = f"{audit.min_protection:.1%}"
    if lang == "zh":
        return {"heading": "数据保密审核",
                "text": (f"发布前以线性规划按本期及已发布各期公开数据推算每个保密单元格（企业少于{MIN_FIRMS}家"
                         f"或前{DOMINANCE_N}家企业占比超过{DOMINANCE_SHARE:.0%}）可被推得的最窄区间：审核单元格"
                         f"{audit.cells_checked}个，最小保护幅度{achieved}（要求不低于±{p}），为此另隐去"
                         f"{audit.complementary}个单元格。")}
    return {"heading": "Disclosure audit",
            "text": (f"Before publication a linear program (HiGHS) computed, from this edition and the public "
                     f"editions already out, the tightest interval a reader can derive for every confidential "
                     f"cell (fewer than {MIN_FIRMS} firms, or the largest {DOMINANCE_N} above "
                     f"{DOMINANCE_SHARE:.0%}): {audit.cells_checked} cells checked, minimum protection "
                     f"{achieved} (required ±{p}); {audit.complementary} further cells withheld for it.")}


PUBLIC_MAP_LABEL = "不予公布"
PUBLIC_MAP_NOTE = (f"灰色表示依统计数据保密规定不予公布的指标（贡献企业少于{MIN_FIRMS}家、前{DOMINANCE_N}家企业占比"
                   f"超过{DOMINANCE_SHARE:.0%}，或为防止推算而隐去）。")


def public_map(con: duckdb.DuckDBPyConnection, period: dt.date, frame: pl.DataFrame,
               out_dir: Path) -> maps.MapFiles | None:
    """The public edition's map (GeoJSON, PNG, offline HTML; flows.render.maps): the marts' rows of the period with
    every cell the edition withholds marked suppressed, so the map shows nothing its tables hide. None when
    the period has no cluster rows."""
    from flows.render import maps

    rows = maps.live_rows(con, period)
    if not rows:
        return None
    hidden = set(frame.filter((pl.col("period") == period) & pl.col("status").is_not_null())
                 .select("row_id", "indicator").rows())
    for row in rows:
        cid = row["cluster_id"]
        for code in maps.HEADLINE:
            row[f"{code}_suppressed"] = row[f"{code}_suppressed"] or (
                row.get(code) is not None and (cid, code) in hidden)
        # The stage shows whether the local supporting rate passed its threshold (as in the report's table).
        row["stage_suppressed"] = row["stage_suppressed"] or (row.get("stage") is not None and (
            row["local_supporting_rate_suppressed"] or (cid, "n_firms") in hidden))
    meta = {"snapshot_id": None, "period": period, "edition": "public", "content_hash": maps.content_hash(rows),
            "suppressed_label": PUBLIC_MAP_LABEL, "disclosure_note": PUBLIC_MAP_NOTE}
    return maps.render_rows(rows, period, "local_supporting_rate", out_dir, f"map_{period:%Y-%m}_public", meta)


# ------------------------------------------------------------------------------------------- editions


def write_edition(path: Path, protected: Protected, meta: dict) -> Path:
    """The edition file beside a published report: what it showed of the additive cells (a later edition's
    audit treats them as known), every cell it withheld (a later edition keeps them withheld) and the audit."""
    frame = protected.frame
    shown = frame.filter(pl.col("status").is_null() & pl.col("value").is_not_null()
                         & pl.col("indicator").is_in(list(disclosure_audit.ADDITIVE)))
    withheld = frame.filter(pl.col("status").is_not_null())
    body = {**meta,
            "audit": protected.audit.as_dict() if protected.audit else None,
            "earlier_editions": protected.earlier_editions,
            "withheld_by_reason": dict(sorted(withheld.group_by("status").len().rows())),
            "published": [[r, f"{p:%Y-%m}", i, v] for r, p, i, v in
                          shown.select("row_id", "period", "indicator", "value").sort("row_id", "period",
                                                                                        "indicator").rows()],
            "withheld": [[r, f"{p:%Y-%m}", i] for r, p, i in
                         withheld.select("row_id", "period", "indicator").sort("row_id", "period",
                                                                               "indicator").rows()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False, indent=0, default=str), encoding="utf-8")
    return path


def read_edition(path: Path) -> tuple[dict[tuple, float], set[tuple]]:
    """An edition file's published additive cells (key → value) and withheld cells."""
    body = json.loads(path.read_text(encoding="utf-8"))

    def month(text: str) -> dt.date:
        return dt.date(int(text[:4]), int(text[5:7]), 1)

    shown = {(r, month(p), i): float(v) for r, p, i, v in body["published"]}
    return shown, {(r, month(p), i) for r, p, i in body["withheld"]}


def earlier_editions(root: Path, exclude: Path) -> list[Path]:
    """Public edition files already out under root (one folder per month), except `exclude` (the edition
    being written). Every month counts: an edition re-rendered for an older month must not undo what a
    newer one withheld, nor ignore what it showed."""
    found = []
    for path in sorted(root.glob("*/*_public*_edition.json")):
        try:
            dt.date(int(path.parent.name[:4]), int(path.parent.name[5:7]), 1)
        except ValueError:
            continue  # not a month folder
        if path.resolve() != exclude.resolve():
            found.append(path)
    return found
