"""The monthly monitoring report (集群运行监测月报): self-contained HTML and an A4 PDF, in Chinese or English.

Why it is built this way:
* disclosure control (flows/disclosure.py) runs first, over every cell of every period the report shows;
  the layout code only ever sees the `shown` values, so nothing suppressed can slip into a table, a chart,
  a CSV or the PDF;
* the indicator registry (flows/indicators.toml) is read, never copied: names, units and the methodology
  appendix come from flows.indicators.registry();
* templates are jinja2 with autoescape on, charts are PNG data URIs and CSS is inline, so the HTML opens
  offline and a cluster or firm name is always text; CSV cells that a spreadsheet would run as a formula
  get a leading apostrophe (OWASP CSV injection);
* the PDF is rendered by WeasyPrint from the same HTML (A4, page numbers, table of contents with page
  numbers through CSS target-counter), with Noto Sans CJK from the system fonts.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape

from flows import alerts as alert_rules
from flows import disclosure, safe_text
from flows.indicators import Indicator, registry
from flows.settings import REPORTS_OUT, ROOT

TEMPLATES = ROOT / "reports" / "templates"
LANGS = ("zh", "en")
TREND_MONTHS = 36
# The cluster table's indicators, in column order (DESIGN §5; names and units come from the registry).
TABLE_CODES = ("output_ttm", "output_ytd_yoy", "local_supporting_rate", "per_mu_tax", "cloud_rate",
               "transformation_done_rate", "rd_intensity", "energy_intensity")
TREND_CODES = TABLE_CODES
# A trend chart draws at most this many clusters (the largest by output TTM): more lines are unreadable
# and, at nation scale, slow to draw. The chart's CSV keeps every cluster.
TREND_SERIES = 12
KPI_CODES = ("output_ttm", "output_ytd", "output_ytd_yoy", "local_supporting_rate", "per_mu_tax", "cloud_rate",
             "transformation_done_rate", "rd_intensity")
PROVINCE_CODES = ("output_ttm", "output_ytd", "output_ytd_yoy", "local_supporting_rate", "per_mu_tax",
                  "cloud_rate")
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "产业集群运行监测月报", "toc": "目　录", "s1": "一、总体情况", "s2": "二、集群运行情况",
        "s2_1": "（一）集群主要指标", "s2_2": "（二）分省汇总", "s3": "三、主要指标走势", "s4": "四、集群分布图",
        "s5": "五、预警情况", "s6": "六、亩均效益评价", "s7": "七、数据质量", "appendix": "附录　指标说明",
        "cluster": "集群", "domain": "领域", "province": "省份", "tier": "规模层级", "stage": "发展阶段",
        "total": "合计", "all": "全部集群", "n_clusters": "集群数", "indicator": "指标", "value": "本月",
        "mom": "环比", "yoy": "同比", "rank_note": "数值下方为领域内排名（名次/参评集群数）。",
        "internal": "内部资料　注意保存", "public": "公开版", "compiled": "编制", "data_as_of": "数据截至",
        "map_missing": "本期集群分布图尚未生成，从略。",
        "map_caption": "图　{period}集群分布（点大小：近12个月产值；颜色：本地配套率）",
        "alerts_none": "本月无预警。", "alerts_missing": "预警模块尚未启用，本节从略。",
        "new": "新增", "ongoing": "持续", "resolved": "已解除", "rule": "规则", "severity": "级别",
        "message": "说明", "evidence": "依据", "state": "状态",
        "ratings_intro": ("亩均效益评价按近12个月口径对规上且用地5亩以上企业评分，"
                          "A类前25%，B类至70%，C类至95%，其余D类。"),
        "rated": "参评企业", "d_firms": "D类企业名单（内部）", "firm": "企业名称", "score": "得分",
        "files": "接收文件", "kind": "数据类别", "status": "状态", "n_files": "文件数", "rows_in": "读入行数",
        "rows_loaded": "入库行数", "rows_quarantined": "隔离行数", "reason": "隔离原因", "rows": "行数",
        "missing": "本月未报送企业", "n_firms": "企业数", "n_reporting": "本月报送", "n_missing": "未报送",
        "lost": "上月报送本月未报", "code": "代码", "unit": "单位", "definition": "计算方法",
        "direction": "方向", "higher_better": "越大越好", "lower_better": "越小越好", "neutral": "中性",
        "chart": "图", "charts_note": "各集群近36个月走势；依保密规定不予公布的月份不绘制。",
        "charts_top": "集群较多，图中只绘近12个月产值最大的{n}个集群；全部集群的数据见各图的CSV文件。",
        "source": "资料来源：集群监测数据库（clusterwatch），按各集群企业月度统计、税收、采购与数字化调查数据计算。",
        "summary": ("{period}，纳入监测的{n}个产业集群近12个月实现工业总产值{ttm}亿元，同比{ttm_yoy}；"
                    "1—{month}月累计产值{ytd}亿元，可比口径同比增长{ytd_yoy}。集群本地配套率{lsr}，亩均税收{pmt}万元/亩。"),
        "yi": "亿元", "na": "—", "province_scope": "（{province}）",
    },
    "en": {
        "title": "Industrial Cluster Monitoring Report", "toc": "Contents", "s1": "1. Overview",
        "s2": "2. Clusters", "s2_1": "2.1 Key indicators by cluster", "s2_2": "2.2 Provinces",
        "s3": "3. Trends", "s4": "4. Cluster map", "s5": "5. Alerts", "s6": "6. Per-mu efficiency ratings",
        "s7": "7. Data quality", "appendix": "Annex: indicator definitions",
        "cluster": "Cluster", "domain": "Domain", "province": "Province", "tier": "Scale tier", "stage": "Stage",
        "total": "Total", "all": "All clusters", "n_clusters": "Clusters", "indicator": "Indicator",
        "value": "This month", "mom": "MoM", "yoy": "YoY",
        "rank_note": "Below each value: rank within the cluster's domain (rank/clusters).",
        "internal": "Internal — handle with care", "public": "Public edition", "compiled": "Compiled",
        "data_as_of": "Data as of", "map_missing": "No cluster map has been drawn for this period yet.",
        "map_caption": "Figure: clusters in {period} (size: output TTM; colour: local supporting rate)",
        "alerts_none": "No alerts this month.", "alerts_missing": "Alerts are not enabled yet.",
        "new": "new", "ongoing": "ongoing", "resolved": "resolved", "rule": "Rule", "severity": "Severity",
        "message": "Message", "evidence": "Evidence", "state": "State",
        "ratings_intro": ("Firms above designated size with at least 5 mu of land are scored on TTM per-mu "
                          "efficiency; A: top 25%, B: to 70%, C: to 95%, D: the rest."),
        "rated": "Rated firms", "d_firms": "Class D firms (internal)", "firm": "Firm", "score": "Score",
        "files": "Files received", "kind": "Kind", "status": "Status", "n_files": "Files", "rows_in": "Rows in",
        "rows_loaded": "Loaded", "rows_quarantined": "Quarantined", "reason": "Quarantine reason",
        "rows": "Rows", "missing": "Firms not reporting this month", "n_firms": "Firms",
        "n_reporting": "Reporting", "n_missing": "Not reporting", "lost": "Reported last month, not this month",
        "code": "Code", "unit": "Unit", "definition": "Definition", "direction": "Direction",
        "higher_better": "higher is better", "lower_better": "lower is better", "neutral": "neutral",
        "chart": "Figure", "charts_note": "36-month trends by cluster; withheld months are not drawn.",
        "charts_top": "With this many clusters the charts show the {n} largest by 12-month output; "
                      "every cluster is in each chart's CSV file.",
        "source": "Source: cluster monitoring warehouse (clusterwatch), from firms' monthly statistics, tax, "
                  "procurement and digital-transformation surveys.",
        "summary": ("In {period}, the {n} monitored clusters produced {ttm} 100 million yuan of output over the "
                    "last 12 months ({ttm_yoy} year on year); year-to-date output to month {month} was {ytd} "
                    "100 million yuan, {ytd_yoy} on a comparable basis. Local supporting rate {lsr}; tax per mu "
                    "{pmt} 10k yuan."),
        "yi": "100 million yuan", "na": "—", "province_scope": " ({province})",
    },
}


@dataclass
class ReportFiles:
    """What render_report wrote (paths), for the CLI, the nightly delivery and the tests."""

    period: dt.date
    lang: str
    audience: str
    province: str | None
    html: Path
    pdf: Path | None
    tables: list[Path] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)
    chart_data: list[Path] = field(default_factory=list)
    map_png: Path | None = None
    n_suppressed: int = 0
    edition: Path | None = None  # public edition: what it published and withheld, and the audit (JSON)

    def all(self) -> list[Path]:
        return [p for p in (self.html, self.pdf, *self.tables, *self.charts, *self.chart_data) if p is not None]


# ----------------------------------------------------------------------------------------- formatting


def indicators() -> dict[str, Indicator]:
    """The registry by code."""
    return {i.code: i for i in registry()}


def ind_name(code: str, lang: str) -> str:
    ind = indicators()[code]
    return ind.name_zh if lang == "zh" else ind.name_en


def display_unit(code: str, lang: str) -> str:
    """The unit a value is shown in: money totals in 亿元, ratios in %, else the registry's unit."""
    unit = indicators()[code].unit
    if unit == "万元" and code.startswith("output"):
        return TEXT[lang]["yi"]
    if unit == "ratio":
        return "%"
    return unit


def scaled(code: str, value: float | None) -> float | None:
    """A stored value in its display unit (万元 → 亿元 for output totals, ratio → percent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    unit = indicators()[code].unit
    if unit == "万元" and code.startswith("output"):
        return value / 1e4
    if unit == "ratio":
        return value * 100
    return value


def fmt(code: str, value: float | None, with_unit: bool = False, lang: str = "zh") -> str:
    """Format a stored value for display: thousands separators, sensible decimals, optional unit."""
    v = scaled(code, value)
    if v is None:
        return TEXT[lang]["na"]
    unit = indicators()[code].unit
    if unit == "ratio":
        text = f"{v:,.1f}%"
        return text
    decimals = 3 if code == "energy_intensity" else (0 if unit in ("家", "个", "人") else 2)
    text = f"{v:,.{decimals}f}"
    return f"{text} {display_unit(code, lang)}" if with_unit else text


def fmt_change(code: str, now: float | None, before: float | None, lang: str) -> str:
    """MoM/YoY change: relative for amounts, percentage points for ratios."""
    if now is None or before is None:
        return TEXT[lang]["na"]
    if indicators()[code].unit == "ratio":
        pts = (now - before) * 100
        return f"{pts:+.1f}" + ("个百分点" if lang == "zh" else " pts")
    if before == 0:
        return TEXT[lang]["na"]
    return f"{(now / before - 1) * 100:+.1f}%"


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas (OWASP CSV injection; flows/safe_text.py)."""
    return safe_text.spreadsheet_cell(value)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """UTF-8 with BOM (Excel opens Chinese correctly), every text cell formula-neutralised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_safe(h) for h in header])
        for row in rows:
            writer.writerow([csv_safe(v) for v in row])
    return path


def add_months(period: dt.date, n: int) -> dt.date:
    y, m = divmod(period.year * 12 + period.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def period_text(period: dt.date, lang: str) -> str:
    return f"{period.year}年{period.month}月" if lang == "zh" else f"{period:%B %Y}"


# ------------------------------------------------------------------------------------------- reading


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def latest_period(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest month with cluster indicators (what the nightly report covers)."""
    if not _has(con, "mart", "cluster_indicators"):
        return None
    row = con.execute("SELECT max(period) FROM mart.cluster_indicators").fetchone()
    return row[0] if row and row[0] else None


class Cells:
    """Disclosure-controlled cells: value(row_id, period, code) is the shown value or None; hidden() says why."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._map = {(r, p, i): (s, v) for r, p, i, s, v in
                     frame.select("row_id", "period", "indicator", "status", "shown").rows()}

    def value(self, row_id: str, period: dt.date, code: str) -> float | None:
        return self._map.get((row_id, period, code), (None, None))[1]

    def hidden(self, row_id: str, period: dt.date, code: str) -> str | None:
        return self._map.get((row_id, period, code), (None, None))[0]

    def cell(self, row_id: str, period: dt.date, code: str, lang: str) -> dict[str, Any]:
        """A table cell: text, raw shown value and whether it is suppressed."""
        status = self.hidden(row_id, period, code)
        if status:
            return {"text": disclosure.SYMBOL, "raw": None, "suppressed": True, "rank": None}
        value = self.value(row_id, period, code)
        return {"text": fmt(code, value, lang=lang), "raw": value, "suppressed": False, "rank": None}


# ------------------------------------------------------------------------------------------- charts


def _chart(code: str, series: dict[str, list[float | None]], months: list[dt.date], lang: str,
           path: Path) -> Path:
    """A trend chart (one line per cluster); text is never parsed as mathtext, so names stay literal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flows.maps import cjk_font

    font = cjk_font()
    with plt.rc_context({"font.family": [font, "DejaVu Sans"], "text.parse_math": False,
                         "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(9.0, 3.9), dpi=110)
        cmap = plt.get_cmap("tab20")
        for n, (name, values) in enumerate(series.items()):
            ys = [math.nan if v is None else v for v in values]
            ax.plot(months, ys, label=name, color=cmap(n % 20), linewidth=1.3)
        unit = display_unit(code, lang)
        ax.set_title(f"{ind_name(code, lang)}（{unit}）" if lang == "zh" else f"{ind_name(code, lang)} ({unit})",
                     fontsize=11)
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.10g}"))
        ax.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)
    return path


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# ------------------------------------------------------------------------------------------ sections


def _ranks(rows: list[dict[str, Any]], code: str) -> None:
    """Rank shown values within each domain (1 = best per the registry's direction); hidden cells get none."""
    direction = indicators()[code].direction
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["cells"][code]["raw"] is not None:
            by_domain.setdefault(row["domain"], []).append(row)
    for members in by_domain.values():
        members.sort(key=lambda r: r["cells"][code]["raw"], reverse=direction != "lower_better")
        for k, row in enumerate(members, 1):
            row["cells"][code]["rank"] = f"{k}/{len(members)}"


def _alerts(con: duckdb.DuckDBPyConnection, period: dt.date, lang: str, names: dict[str, str],
            hidden_clusters: set[str], audience: str, cells: Cells) -> dict[str, Any]:
    """Alerts of the month from mart.alerts (issue 6) grouped new / ongoing / resolved; absent → a note."""
    if not _has(con, "mart", "alerts"):
        return {"available": False, "groups": []}
    cols = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'mart' "
                                      "AND table_name = 'alerts'").fetchall()}
    rows = _rows(con, "SELECT * FROM mart.alerts")
    period_cols = [c for c in ("period", "last_period", "first_period") if c in cols]

    def state(row: dict[str, Any]) -> str:
        raw = str(row.get("status") or row.get("state") or "").lower()
        if "resolv" in raw:
            return "resolved"
        first = row.get("first_period") or row.get("raised_period") or row.get("period")
        if raw == "new" or (first is not None and _month(first) == period and "ongoing" not in raw):
            return "new"
        return "ongoing"

    def relevant(row: dict[str, Any]) -> bool:
        values = [_month(row[c]) for c in period_cols if row.get(c) is not None]
        return not values or period in values or (max(values) >= period and min(values) <= period)

    groups: dict[str, list[dict[str, Any]]] = {"new": [], "ongoing": [], "resolved": []}
    for row in rows:
        if not relevant(row):
            continue
        cluster = row.get("cluster_id")
        message = row.get(f"message_{lang}") or row.get("message_zh" if lang == "zh" else "message_en") \
            or row.get("message") or ""
        evidence = row.get("evidence")
        if isinstance(evidence, str):
            with contextlib.suppress(ValueError):
                evidence = json.loads(evidence)
        if isinstance(evidence, dict):
            evidence = "；".join(f"{k}: {_plain(v)}" for k, v in evidence.items())
        withheld = ((audience == "public" and cluster in hidden_clusters)
                    or alert_rules.quotes_withheld(row, cells.value))
        if row.get("rule") in alert_rules.config()["rules"]:  # the text again, the table's withheld values out
            message = alert_rules.stored_message(row, lang, names.get(cluster, cluster or ""), withhold=withheld)
        groups[state(row)].append({
            "cluster": names.get(cluster, cluster or ""), "rule": row.get("rule") or "",
            "severity": row.get("severity") or "", "message": str(message),
            "evidence": disclosure.SYMBOL if withheld else _plain(evidence)})
    return {"available": True,
            "groups": [{"state": k, "label": TEXT[lang][k], "rows": v} for k, v in groups.items()]}


def _month(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.replace(day=1)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _quality(con: duckdb.DuckDBPyConnection, period: dt.date, cluster_ids: list[str]) -> dict[str, Any]:
    """Files, rows loaded and quarantined (by rule), and firms that did not report this month."""
    files = _rows(con, """SELECT coalesce(kind, '?') AS kind, status, count(*) AS n_files,
                                 coalesce(sum(rows_in), 0) AS rows_in, coalesce(sum(rows_loaded), 0) AS rows_loaded,
                                 coalesce(sum(rows_quarantined), 0) AS rows_quarantined
                          FROM meta.files GROUP BY ALL ORDER BY kind, status""") if _has(con, "meta", "files") else []
    reasons = _rows(con, """SELECT rule, coalesce(kind, '?') AS kind, count(*) AS n FROM quarantine.rows
                            GROUP BY ALL ORDER BY n DESC, rule""") if _has(con, "quarantine", "rows") else []
    failed = _rows(con, "SELECT file_name, reason FROM meta.files WHERE status = 'failed' ORDER BY file_name") \
        if _has(con, "meta", "files") else []
    missing = _rows(con, """
        WITH f AS (SELECT uscc, cluster_id FROM core.firms WHERE cluster_id IN (SELECT unnest(?::VARCHAR[]))),
             now AS (SELECT DISTINCT uscc FROM core.firm_monthly WHERE period = ?),
             prev AS (SELECT DISTINCT uscc FROM core.firm_monthly WHERE period = ?)
        SELECT f.cluster_id, count(*) AS n_firms, count(now.uscc) AS n_reporting,
               count(*) - count(now.uscc) AS n_missing,
               count(*) FILTER (WHERE prev.uscc IS NOT NULL AND now.uscc IS NULL) AS lost
        FROM f LEFT JOIN now USING (uscc) LEFT JOIN prev USING (uscc)
        GROUP BY f.cluster_id ORDER BY f.cluster_id""", [cluster_ids, period, add_months(period, -1)])
    # columns of delivered files that were not loaded (no alias matched, comparison or cross-check columns)
    unread = _rows(con, """SELECT f.file_name, c.source_header, c.status, c.note FROM meta.file_columns c
                           JOIN meta.files f USING (file_id)
                           WHERE c.status IN ('ignored', 'not_loaded') AND c.source_header <> ''
                           ORDER BY f.file_name, c.position""") if _has(con, "meta", "file_columns") else []
    return {"files": files, "reasons": reasons, "failed": failed, "missing": missing, "unread": unread}


def _ratings(con: duckdb.DuckDBPyConnection, period: dt.date, cluster_ids: list[str],
             audience: str) -> dict[str, Any]:
    """A/B/C/D counts per cluster (annual, TTM at December: the latest December ≤ period, else the period)."""
    if not _has(con, "mart", "firm_ratings"):
        return {"period": None, "rows": [], "d_firms": []}
    december = dt.date(period.year if period.month == 12 else period.year - 1, 12, 1)
    have = con.execute("SELECT count(*) FROM mart.firm_ratings WHERE period = ?", [december]).fetchone()[0]
    rp = december if have else period
    rows = _rows(con, """SELECT cluster_id, count(*) FILTER (WHERE class = 'A') AS a,
                                count(*) FILTER (WHERE class = 'B') AS b, count(*) FILTER (WHERE class = 'C') AS c,
                                count(*) FILTER (WHERE class = 'D') AS d, count(*) FILTER (WHERE rated) AS rated
                         FROM mart.firm_ratings WHERE period = ? AND cluster_id IN (SELECT unnest(?::VARCHAR[]))
                         GROUP BY cluster_id ORDER BY cluster_id""", [rp, cluster_ids])
    d_firms: list[dict[str, Any]] = []
    if audience == "internal":  # firm names never reach the public edition
        d_firms = _rows(con, """SELECT r.cluster_id, f.firm_name, r.score FROM mart.firm_ratings r
                                JOIN core.firms f USING (uscc)
                                WHERE r.period = ? AND r.class = 'D' AND r.cluster_id IN (SELECT unnest(?::VARCHAR[]))
                                ORDER BY r.cluster_id, r.score LIMIT 60""", [rp, cluster_ids])
    return {"period": rp, "rows": rows, "d_firms": d_firms}


def _map_png(con: duckdb.DuckDBPyConnection, period: dt.date, maps_dir: Path) -> Path | None:
    """The period's cluster-map PNG (latest version); drawn from the stored snapshot when missing."""
    folder = maps_dir / f"{period:%Y-%m}"

    def found() -> Path | None:
        pngs = sorted(folder.glob(f"map_{period:%Y-%m}_v*_local_supporting_rate.png"),
                      key=lambda p: int(p.name.split("_v")[1].split("_")[0]))
        return pngs[-1] if pngs else None

    if found() is None:
        try:
            from flows import snapshot

            snapshot.render_snapshot(con, period, maps_dir)
        except LookupError:  # no stored snapshot yet: draw the marts as they are (flows.maps.render_map)
            try:
                from flows import maps

                return maps.render_map(con, period, out_dir=maps_dir).png
            except Exception:  # maps unavailable: the report says so and goes on
                return None
        except Exception:
            return None
    return found()


# ------------------------------------------------------------------------------------------- render


def _connect(warehouse_or_con: Path | str | duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(warehouse_or_con, duckdb.DuckDBPyConnection):
        return warehouse_or_con, False
    return duckdb.connect(str(warehouse_or_con), read_only=True), True


def render_report(warehouse_or_con: Path | str | duckdb.DuckDBPyConnection, period: dt.date, lang: str = "zh",
                  audience: str = "internal", province: str | None = None, out_dir: Path | None = None,
                  maps_dir: Path | None = None, pdf: bool = True) -> ReportFiles:
    """Render the monthly report of `period` (HTML, PDF, table and chart CSVs, chart PNGs) into out_dir.

    Disclosure control (flows/disclosure.py) is applied to every period shown before anything is laid out.
    Works on a read-only connection; default out_dir is reports/out/reports/<YYYY-MM>/.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")
    if audience not in disclosure.AUDIENCES:
        raise ValueError(f"audience must be one of {disclosure.AUDIENCES}")
    period = period.replace(day=1)
    out_dir = Path(out_dir or REPORTS_OUT / "reports" / f"{period:%Y-%m}")
    maps_dir = Path(maps_dir or REPORTS_OUT / "maps")
    con, own = _connect(warehouse_or_con)
    try:
        return _render(con, period, lang, audience, province, out_dir, maps_dir, pdf)
    finally:
        if own:
            con.close()


def _render(con: duckdb.DuckDBPyConnection, period: dt.date, lang: str, audience: str, province: str | None,
            out_dir: Path, maps_dir: Path, make_pdf: bool) -> ReportFiles:
    t = TEXT[lang]
    clusters = _rows(con, "SELECT cluster_id, cluster_name, province, city, domain FROM core.clusters "
                          "WHERE ? IS NULL OR province = ? ORDER BY domain, cluster_id", [province, province])
    if not clusters:
        raise LookupError(f"no clusters{f' in {province}' if province else ''}")
    months = [add_months(period, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    have = {r[0] for r in con.execute("SELECT DISTINCT period FROM mart.cluster_indicators").fetchall()}
    if period not in have:
        raise LookupError(f"no cluster indicators for {period:%Y-%m}")
    months = [m for m in months if m in have]
    total_id = f"P:{province}" if province else "ALL"
    stem = f"report_{period:%Y-%m}_{lang}_{audience}" + (f"_{province}" if province else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(period, lang, audience, province, out_dir / f"{stem}.html",
                        out_dir / f"{stem}.pdf" if make_pdf else None)
    edition = out_dir / f"{stem}_edition.json"
    protected = disclosure.protect_edition(
        con, months, audience,
        disclosure.earlier_editions(out_dir.parent, edition) if audience == "public" else ())
    cells = Cells(protected.frame)
    names = {c["cluster_id"]: c["cluster_name"] for c in clusters}
    ids = [c["cluster_id"] for c in clusters]
    classes = {r["cluster_id"]: r for r in _rows(
        con, "SELECT cluster_id, scale_tier, scale_tier_en, stage, stage_en FROM mart.cluster_classes "
             "WHERE period = ?", [period])} if _has(con, "mart", "cluster_classes") else {}

    # KPIs (the total row: all clusters, or the province) with month-on-month and year-on-year change.
    kpis = []
    for code in KPI_CODES:
        now = cells.value(total_id, period, code)
        kpis.append({"code": code, "name": ind_name(code, lang), "unit": display_unit(code, lang),
                     "value": disclosure.SYMBOL if cells.hidden(total_id, period, code) else fmt(code, now, lang=lang),
                     "mom": fmt_change(code, now, cells.value(total_id, add_months(period, -1), code), lang),
                     "yoy": fmt_change(code, now, cells.value(total_id, add_months(period, -12), code), lang)})
    kv = {k["code"]: k for k in kpis}
    summary = t["summary"].format(
        period=period_text(period, lang), n=len(clusters), ttm=kv["output_ttm"]["value"],
        ttm_yoy=kv["output_ttm"]["yoy"], month=period.month, ytd=kv["output_ytd"]["value"],
        ytd_yoy=kv["output_ytd_yoy"]["value"], lsr=kv["local_supporting_rate"]["value"],
        pmt=kv["per_mu_tax"]["value"])

    # Cluster table with ranks within domain, and its total row.
    rows = []
    for c in clusters:
        cid = c["cluster_id"]
        row_cells = {code: cells.cell(cid, period, code, lang) for code in TABLE_CODES}
        cls = classes.get(cid, {})
        tier_hidden = row_cells["output_ttm"]["suppressed"]
        stage_hidden = row_cells["local_supporting_rate"]["suppressed"] or bool(cells.hidden(cid, period, "n_firms"))
        tier = cls.get("scale_tier" if lang == "zh" else "scale_tier_en")
        stage = cls.get("stage" if lang == "zh" else "stage_en")
        rows.append({"id": cid, "name": c["cluster_name"], "domain": c["domain"], "province": c["province"],
                     "cells": row_cells, "tier": disclosure.SYMBOL if tier_hidden else (tier or t["na"]),
                     "stage": disclosure.SYMBOL if stage_hidden else (stage or t["na"])})
    for code in TABLE_CODES:
        _ranks(rows, code)
    total_row = {"name": t["total"] if province else t["all"],
                 "cells": {code: cells.cell(total_id, period, code, lang) for code in TABLE_CODES}}
    columns = [{"code": c, "name": ind_name(c, lang), "unit": display_unit(c, lang)} for c in TABLE_CODES]

    # Province roll-up with the all-cluster total (only for the national report).
    provinces = []
    if not province:
        for p in sorted({c["province"] for c in clusters}):
            provinces.append({"name": p, "n": sum(1 for c in clusters if c["province"] == p),
                              "cells": {code: cells.cell(f"P:{p}", period, code, lang) for code in PROVINCE_CODES}})
    province_columns = [{"code": c, "name": ind_name(c, lang), "unit": display_unit(c, lang)} for c in PROVINCE_CODES]
    province_total = {"name": t["all"], "n": len(clusters),
                      "cells": {code: cells.cell("ALL", period, code, lang) for code in PROVINCE_CODES}}

    # Table CSVs (raw shown values in stored units; the symbol where suppressed).
    def raw(cell: dict[str, Any]) -> Any:
        return disclosure.SYMBOL if cell["suppressed"] else ("" if cell["raw"] is None else cell["raw"])

    files.tables.append(write_csv(
        out_dir / f"{stem}_clusters.csv",
        ["row_kind", "cluster_id", "cluster_name", "province", "domain", *TABLE_CODES, "scale_tier", "stage"],
        [*(["cluster", r["id"], r["name"], r["province"], r["domain"],
            *[raw(r["cells"][c]) for c in TABLE_CODES], r["tier"], r["stage"]] for r in rows),
         ["total", total_id, total_row["name"], province or "", "", *[raw(total_row["cells"][c]) for c in TABLE_CODES],
          "", ""]]))
    if provinces:
        files.tables.append(write_csv(
            out_dir / f"{stem}_provinces.csv", ["row_kind", "province", "n_clusters", *PROVINCE_CODES],
            [*(["province", p["name"], p["n"], *[raw(p["cells"][c]) for c in PROVINCE_CODES]] for p in provinces),
             ["total", "ALL", len(clusters), *[raw(province_total["cells"][c]) for c in PROVINCE_CODES]]]))

    # Trend charts (PNG + CSV beside the report, PNG inlined as a data URI).
    chart_dir = out_dir / f"{stem}_charts"
    charts = []
    drawn = sorted(ids, key=lambda cid: -(cells.value(cid, period, "output_ttm") or 0.0))[:TREND_SERIES]
    for n, code in enumerate(TREND_CODES, 1):
        series = {names[cid]: [scaled(code, cells.value(cid, m, code)) for m in months] for cid in ids}
        png = _chart(code, {names[cid]: series[names[cid]] for cid in drawn}, months, lang,
                     chart_dir / f"trend_{code}.png")
        data = write_csv(chart_dir / f"trend_{code}.csv", ["period", *[names[cid] for cid in ids]],
                         [[f"{m:%Y-%m}", *["" if series[names[cid]][k] is None else series[names[cid]][k]
                                           for cid in ids]] for k, m in enumerate(months)])
        files.charts.append(png)
        files.chart_data.append(data)
        charts.append({"n": n, "title": ind_name(code, lang), "uri": _data_uri(png)})

    # Map: the internal edition shows the published snapshot; the public edition its own map drawn through
    # the edition's disclosure control (every value it withholds is withheld on the map as well).
    map_note, map_uri = None, None
    if audience == "public":
        public_map = disclosure.public_map(con, period, cells.frame, out_dir / f"{stem}_map")
        files.map_png = public_map.png if public_map else None
    else:
        files.map_png = _map_png(con, period, maps_dir)
    if files.map_png is None:
        map_note = t["map_missing"]
    else:
        map_uri = _data_uri(files.map_png)

    hidden_clusters = {cid for cid in ids if any(cells.hidden(cid, period, c) for c in TABLE_CODES)}
    alerts = _alerts(con, period, lang, names, hidden_clusters, audience, cells)
    ratings = _ratings(con, period, ids, audience)
    quality = _quality(con, period, ids)
    methodology = [{"code": i.code, "name": i.name_zh if lang == "zh" else i.name_en,
                    "other": i.name_en if lang == "zh" else i.name_zh, "unit": i.unit,
                    "direction": t.get(i.direction, i.direction), "definition": i.definition} for i in registry()]
    suppressed = cells.frame.filter(pl.col("status").is_not_null() & (pl.col("period") == period))
    files.n_suppressed = suppressed.height

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("monthly_report.html.j2").render(
        t=t, lang=lang, audience=audience, period=period, period_label=period_text(period, lang),
        province=province, scope=t["province_scope"].format(province=province) if province else "",
        kpis=kpis, summary=summary, columns=columns, rows=rows, total_row=total_row, provinces=provinces,
        province_columns=province_columns, province_total=province_total, charts=charts, map_uri=map_uri,
        charts_top=len(ids) > TREND_SERIES, trend_series=TREND_SERIES,
        map_note=map_note, alerts=alerts, ratings=ratings, quality=quality, names=names, methodology=methodology,
        symbol=disclosure.SYMBOL, footnote=disclosure.FOOTNOTE_ZH if lang == "zh" else disclosure.FOOTNOTE_EN,
        audit_note=disclosure.audit_note(protected.audit, lang),
        compiled=dt.date.today().isoformat(), css=(TEMPLATES / "monthly_report.css").read_text(encoding="utf-8"))
    files.html.write_text(html, encoding="utf-8")
    if files.pdf is not None:
        write_pdf(html, files.pdf)
    if audience == "public":
        files.edition = disclosure.write_edition(edition, protected, {
            "edition": stem, "period": f"{period:%Y-%m}", "lang": lang, "audience": audience, "province": province,
            "files": [p.name for p in files.all()]})
    return files


def write_pdf(html: str, path: Path) -> Path:
    """HTML → A4 PDF with WeasyPrint (no network: every resource is inline; fonts come from fontconfig)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)  # data: URIs only, never the network
    HTML(string=html, url_fetcher=fetcher).write_pdf(path)
    return path


# --------------------------------------------------------------------------------- CLI and nightly


def report_command(warehouse: Path, period: str | None, lang: str = "zh", audience: str = "internal",
                   province: str | None = None, out_dir: Path | None = None) -> int:
    """`clusterwatch report --period 2025-12 [--lang zh|en] [--audience internal|public] [--province P]`."""
    from flows.maps import parse_period

    with duckdb.connect(str(warehouse), read_only=True) as con:
        when = parse_period(period) if period else latest_period(con)
        if when is None:
            print("no indicators in the warehouse yet: nothing to report")
            return 1
        files = render_report(con, when, lang=lang, audience=audience, province=province, out_dir=out_dir)
    print(f"report     {files.html}")
    if files.pdf:
        print(f"           {files.pdf}")
    print(f"           {len(files.charts)} charts, {len(files.tables)} tables, {files.n_suppressed} cells withheld")
    if files.edition:
        print(f"edition    {files.edition}")
    return 0


def report_stage(con: duckdb.DuckDBPyConnection, period: dt.date | None = None,
                 recipients: Sequence[str] | None = None, langs: Sequence[str] = ("zh",),
                 audience: str = "internal", out_root: Path | None = None,
                 maps_dir: Path | None = None) -> list[ReportFiles]:
    """The nightly report stage: render the latest month and queue it for e-mail through the outbox.

    Recipients default to the delivery settings' smtp.to (config/delivery.toml); with none configured the
    report is rendered but not queued. Sending is flows.deliver.flush's job (retried and recorded there).
    """
    period = period or latest_period(con)
    if period is None:
        return []
    out = []
    for lang in langs:
        out_dir = (out_root / f"{period:%Y-%m}") if out_root else None
        out.append(render_report(con, period, lang=lang, audience=audience, out_dir=out_dir, maps_dir=maps_dir))
    if recipients is None:
        from flows import deliver

        recipients = list(deliver.load_settings().smtp_to)
    if recipients:
        for files in out:
            enqueue_report(con, files, list(recipients))
    return out


def enqueue_report(con: duckdb.DuckDBPyConnection, files: ReportFiles, recipients: list[str]) -> int:
    """Queue one report e-mail (PDF and HTML attached) in the delivery outbox; returns the outbox id."""
    from flows import deliver

    t = TEXT[files.lang]
    label = period_text(files.period, files.lang)
    subject = f"{t['title']}（{label}）" if files.lang == "zh" else f"{t['title']} — {label}"
    text = (f"{subject}\n\n附件为本期监测月报（PDF、HTML）。{t[files.audience]}。\n" if files.lang == "zh"
            else f"{subject}\n\nThe monthly report is attached (PDF and HTML). {t[files.audience]}.\n")
    attachments = [p for p in (files.pdf, files.html) if p is not None]
    return deliver.enqueue_email(con, recipients, subject, text, attachments=attachments)

