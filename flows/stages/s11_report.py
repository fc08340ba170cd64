"""Stage 11, report: decide what the monthly monitoring report (集群运行监测月报) says, in Chinese or English.

This stage builds the report's content as data — tables, cells, withheld flags, charts' series, the inputs of
the analysis text — and flows/render/report.py lays it out (HTML through the templates, charts, CSV, PDF).
Why it is built this way:
* disclosure control (flows/support/disclosure.py) runs first, over every cell of every period the report shows;
  the sections only ever see the `shown` values (Edition.cells), so nothing suppressed can slip into a table,
  a chart, a CSV or the PDF;
* the indicator registry (flows/registry/indicators.toml) is read, never copied: names, units and the methodology
  appendix come from flows.support.registry (the registry also says which table shows what, in which unit);
* every query is a file in sql/ (report_*.sql) run with named parameters.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from flows.render import chain as chain_render
from flows.render import narrative
from flows.render import report as page
from flows.stages import s10_alerts as alert_rules
from flows.stages import s11_chain
from flows.stages.s07_indicators import classification
from flows.support import disclosure
from flows.support.registry import Indicator, codes_for, registry
from flows.support.settings import REGISTRY_DIR, REPORTS_OUT
from flows.support.warehouse import rows

T = TypeVar("T")

LANGS = ("zh", "en")
NIGHT_LANGS = ("zh",)       # the editions the nightly report renders (report_stage)
TREND_MONTHS = 36
# The cluster table's indicators, in column order, with a trend chart each; the KPIs; the province table
# (docs/architecture.md#indicators; which indicators, in what order, names, units and precision: the registry's
# `report` and `display`).
TABLE_CODES = codes_for("table")
TREND_CODES = TABLE_CODES
# A trend chart draws at most this many clusters (the largest by output TTM): more lines are unreadable
# and, at nation scale, slow to draw. The chart's CSV keeps every cluster.
TREND_SERIES = 12
KPI_CODES = codes_for("kpi")
PROVINCE_CODES = codes_for("province")
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "产业集群运行监测月报", "toc": "目　录", "s1": "一、总体情况", "s2": "二、集群运行情况",
        "s2_1": "（一）集群主要指标", "s2_2": "（二）分省汇总", "s3": "三、主要指标走势", "s4": "四、集群分布图",
        "s5": "五、预警情况", "s6": "六、亩均效益评价", "s7": "七、数据质量", "appendix": "附录　指标说明",
        "s1_1": "（一）主要特点", "s1_2": "（二）主要指标", "s2_3": "（三）增长贡献", "s2_2c": "（二）增长贡献",
        "s9": "九、存在问题与下一步建议",
        "s9_1": "（一）存在问题", "s9_2": "（二）下一步建议", "growth": "累计同比", "pull": "拉动（百分点）",
        "contribution": "贡献率", "firm_share": "占该集群增量比重", "increase": "增", "decrease": "减",
        "contrib_note": ("可比口径。拉动：集群累计产值增量占全部集群上年同期累计产值的百分点数，"
                         "各集群之和等于全部集群增速；贡献率：集群增量占全部集群增量的比重。"),
        "firms_note": "内部资料：各集群中增减最多的企业及其占该集群增量的比重（不列企业产值）。",
        "cluster": "集群", "domain": "领域", "province": "省份", "tier": "规模层级", "stage": "发展阶段",
        "total": "合计", "all": "全部集群", "n_clusters": "集群数", "indicator": "指标", "value": "本月",
        "mom": "环比", "yoy": "同比", "rank_note": "数值下方为领域内排名（名次/参评集群数）。",
        "internal": "内部资料　注意保存", "public": "公开版", "compiled": "编制", "data_as_of": "数据截至",
        "map_missing": "本期集群分布图尚未生成，从略。",
        "map_caption": "图　{period}集群分布（点大小：近12个月产值；颜色：本地配套率）",
        "alerts_none": "本月无预警。",
        "new": "新增", "ongoing": "持续", "resolved": "已解除", "rule": "预警规则", "severity": "级别",
        "message": "说明", "state": "状态", "file_subject": "（数据文件）",
        "alert_withheld": "依保密规定，具体数值不予公布。",
        "ratings_intro": ("亩均效益评价按近12个月口径对规上且用地5亩以上企业评分，"
                          "A类前25%，B类至70%，C类至95%，其余D类。"),
        "rated": "参评企业", "d_firms": "D类企业名单（内部）", "firm": "企业名称", "score": "得分",
        "files": "接收文件", "kind": "数据类别", "status": "状态", "n_files": "文件数", "rows_in": "读入行数",
        "rows_loaded": "入库行数", "rows_quarantined": "隔离行数", "reason": "隔离原因", "rows": "行数",
        "missing": "本月未报送企业", "n_firms": "企业数", "n_reporting": "本月报送", "n_missing": "未报送",
        "lost": "上月报送本月未报", "code": "代码", "unit": "单位", "definition": "计算方法",
        "direction": "方向", "higher_better": "越大越好", "lower_better": "越小越好", "neutral": "中性",
        "chart": "图",
        "charts_note": ("各集群近36个月走势。依保密规定不予公布的月份不绘制；近12个月、累计类指标在数据起点后"
                        "统计窗口尚不完整的月份不绘制，也不计算增减。"),
        "kpi_note": "累计值逐月累加，不计算环比；统计窗口不完整的月份不作比较（记为—）。",
        "charts_top": "集群较多，图中只绘近12个月产值最大的{n}个集群；全部集群的数据见各图附带的数据文件。",
        "source": "资料来源：产业集群监测数据库，按各集群企业月度统计、税收、采购与数字化调查数据计算。",
        "summary": ("{period}，纳入监测的{n}个产业集群近12个月实现工业总产值{ttm}亿元，同比{ttm_yoy}；"
                    "1—{month}月累计产值{ytd}亿元，可比口径同比增长{ytd_yoy}。集群本地配套率{lsr}，亩均税收{pmt}万元/亩。"),
        "na": "—", "colon": "：", "gap": "　", "rated_as_of": "（评价期：{period}）",
        "province_scope": "（{province}）",
        "engines_disagree": "校验复核不一致（错误）", "not_checked": "规则未校验",
        "problems_public": "两种校验引擎结论不一致的校验规则：{n}条（相关数据的校验结论未获确认）。",
        "listed_note": ("本表列示{shown}个集群（有本月预警的集群，以及{leading}）；"
                        "全部{n}个集群见随本报告生成的数据文件 {file}。"),
        "leading_output": "近12个月产值最大的集群", "leading_index": "发展指数名次居前的集群",
    },
    "en": {
        "title": "Industrial Cluster Monitoring Report", "toc": "Contents", "s1": "1. Overview",
        "s2": "2. Clusters", "s2_1": "2.1 Key indicators by cluster", "s2_2": "2.2 Provinces",
        "s3": "3. Trends", "s4": "4. Cluster map", "s5": "5. Alerts", "s6": "6. Per-mu efficiency ratings",
        "s7": "7. Data quality", "appendix": "Annex: indicator definitions",
        "s1_1": "1.1 Main features", "s1_2": "1.2 Key indicators", "s2_3": "2.3 Contributions to growth",
        "s2_2c": "2.2 Contributions to growth",
        "s9": "9. Problems and next steps", "s9_1": "9.1 Problems", "s9_2": "9.2 Next steps",
        "growth": "YTD growth", "pull": "Pull (percentage points)", "contribution": "Share of growth",
        "firm_share": "Share of the cluster's change", "increase": "up", "decrease": "down",
        "contrib_note": ("Comparable basis. Pull: a cluster's change in year-to-date output as percentage points of "
                         "all clusters' output a year earlier (the pulls add up to the total's growth). Share: the "
                         "cluster's change over the total change."),
        "firms_note": ("Internal: the firms that moved each cluster most, as shares of the cluster's change "
                       "(no firm's output is printed)."),
        "cluster": "Cluster", "domain": "Domain", "province": "Province", "tier": "Scale tier", "stage": "Stage",
        "total": "Total", "all": "All clusters", "n_clusters": "Clusters", "indicator": "Indicator",
        "value": "This month", "mom": "MoM", "yoy": "YoY",
        "rank_note": "Below each value: rank within the cluster's domain (rank/clusters).",
        "internal": "Internal — handle with care", "public": "Public edition", "compiled": "Compiled",
        "data_as_of": "Data as of", "map_missing": "No cluster map has been drawn for this period yet.",
        "map_caption": "Figure: clusters in {period} (size: output TTM; colour: local supporting rate)",
        "alerts_none": "No alerts this month.",
        "new": "new", "ongoing": "ongoing", "resolved": "resolved", "rule": "Rule", "severity": "Severity",
        "message": "Message", "state": "State", "file_subject": "(data file)",
        "alert_withheld": "Figures withheld for confidentiality.",
        "ratings_intro": ("Firms above designated size with at least 5 mu of land are scored on TTM per-mu "
                          "efficiency; A: top 25%, B: to 70%, C: to 95%, D: the rest."),
        "rated": "Rated firms", "d_firms": "Class D firms (internal)", "firm": "Firm", "score": "Score",
        "files": "Files received", "kind": "Kind", "status": "Status", "n_files": "Files", "rows_in": "Rows in",
        "rows_loaded": "Loaded", "rows_quarantined": "Quarantined", "reason": "Quarantine reason",
        "rows": "Rows", "missing": "Firms not reporting this month", "n_firms": "Firms",
        "n_reporting": "Reporting", "n_missing": "Not reporting", "lost": "Reported last month, not this month",
        "code": "Code", "unit": "Unit", "definition": "Definition", "direction": "Direction",
        "higher_better": "higher is better", "lower_better": "lower is better", "neutral": "neutral",
        "chart": "Figure",
        "charts_note": ("36-month trends by cluster. Withheld months are not drawn, nor are months whose "
                        "trailing-12-month or year-to-date window is not yet complete after the start of the data; "
                        "no change is computed for them."),
        "kpi_note": ("A year-to-date total grows every month, so it has no month-on-month change; no change is "
                     "computed against a month whose window is incomplete (shown as —)."),
        "charts_top": "With this many clusters the charts show the {n} largest by 12-month output; "
                      "every cluster is in each chart's CSV file.",
        "source": "Source: industrial cluster monitoring warehouse, from firms' monthly statistics, tax, "
                  "procurement and digital-transformation surveys.",
        "summary": ("In {period}, the {n} monitored clusters produced output of {ttm} (CNY 100 million) over "
                    "the last 12 months ({ttm_yoy} year on year); year-to-date output to month {month} was {ytd} "
                    "(CNY 100 million), {ytd_yoy} on a comparable basis. Local supporting rate {lsr}; tax per mu "
                    "{pmt} (CNY 10 thousand per mu)."),
        "na": "—", "colon": ": ", "gap": " — ", "rated_as_of": " (rated on {period})",
        "names_note": "Cluster names are given in Chinese where the cluster registry has no English name.",
        "province_scope": " ({province})",
        "engines_disagree": "Validation not confirmed (error)", "not_checked": "Rule not checked",
        "problems_public": "Validation rules on which the two validation engines disagreed: {n} (the verdicts on "
                           "the data concerned are not confirmed).",
        "listed_note": ("This table lists {shown} of the {n} clusters (those with an alert this month, and {leading}); "
                        "every cluster is in the data file {file} written with this report."),
        "leading_output": "the largest by 12-month output", "leading_index": "the best ranked by development index",
    },
}


# Data-quality words (the report shows no codes). Parse-level rules come from flows/stages/s04_standardise.py RULES; the
# validation suites' rules (expectations/gx/expectations/*.json meta.rule) and file-level reasons are named
# here; tests/test_report.py checks that every code the suites and the standardiser can write has a name.
QUALITY_TERMS: dict[str, tuple[str, str]] = {
    "invalid_uscc": ("统一社会信用代码无效", "invalid unified social credit code"),
    "invalid_adcode": ("行政区划代码无效", "invalid administrative division code"),
    "unknown_firm": ("企业不在名录中", "firm not in the registry"),
    "unknown_cluster": ("集群不在名录中", "cluster not in the registry"),
    "negative_value": ("数值为负", "negative value"),
    "out_of_range": ("数值超出合理范围", "value out of range"),
    "not_whole_number": ("应为整数", "not a whole number"),
    "duplicate_key": ("同一键重复", "duplicate key"),
    "period_out_of_window": ("统计期超出合理范围", "period outside the plausible window"),
    "unit_suspect": ("疑似计量单位错误", "suspected unit error"),
    "not_a_table": ("不是表格文件", "not a table"),
    "unreadable_file": ("文件无法读取", "unreadable file"),
    "missing_columns": ("缺少必需的列", "required columns missing"),
    "empty_file": ("空文件", "empty file"),
    "unknown_unit": ("计量单位不明", "unit not stated or ambiguous"),
    "ambiguous_unit": ("计量单位有歧义", "ambiguous unit"),
    "ambiguous_column": ("多列对应同一字段", "several columns map to one field"),
    "ambiguous_basis": ("口径（本月/累计）有歧义", "ambiguous basis (current month or year to date)"),
    "old_identifier": ("按旧代码（组织机构代码/税务登记号）对应到企业", "matched by an old identifier"),
    "ambiguous_identifier": ("旧代码对应多家企业", "old identifier matches several firms"),
    # file-level reasons of flows/support/guards.py (resource guards) and of the per-file isolation in flows/nightly.py
    "xlsx_too_large": ("Excel文件解压后过大", "workbook too large when uncompressed"),
    "sheet_too_large": ("工作表范围过大", "worksheet range too large"),
    "field_too_large": ("单行内容过长", "line too long"),
    "unsupported_column": ("含无法保存为文本的列", "a column that cannot be kept as text"),
    "check_failed": ("校验时出错", "failed while being checked"),
    "load_failed": ("入库时出错", "failed while being loaded"),
    "out_of_memory": ("处理时内存不足", "ran out of memory"),
    "io_error": ("读写出错", "input/output error"),
    "unknown_kind": ("文件名不是已知数据类别", "file name names no known kind"),
}
KIND_EN = {"clusters": "cluster registry", "firms": "firm registry", "platforms": "innovation platforms",
           "monthly": "monthly statistics", "tax": "tax", "procurement": "procurement",
           "digital": "digital transformation survey"}
FILE_STATUS = {"loaded": ("已入库", "loaded"), "failed": ("无法读取", "could not be read"),
               "landed": ("已接收", "received")}


@cache
def _terms() -> dict[str, dict[str, str]]:
    return tomllib.loads((REGISTRY_DIR / "report_terms.toml").read_text(encoding="utf-8"))


def term(table: str, value: str | None, lang: str) -> str:
    """A registry value (province, domain) in the report's language (report_terms.toml); as given if unlisted."""
    if value is None:
        return TEXT[lang]["na"]
    return value if lang == "zh" else _terms()[table].get(value, value)


def quality_term(code: str, lang: str) -> str:
    """A rule or reason code in words; the code itself only if no name is known (tests keep that from happening)."""
    from flows.stages.s04_standardise import RULES

    zh, en = QUALITY_TERMS.get(code) or RULES.get(code) or (code, code)
    return zh if lang == "zh" else en


def kind_term(kind: str, lang: str) -> str:
    from flows.support.contract import KINDS

    if kind not in KINDS:
        return kind
    return KINDS[kind].zh if lang == "zh" else KIND_EN[kind]


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
    chain: list[Path] = field(default_factory=list)  # flows/render/chain.py: index figures, diagrams, pages
    # every row of the ratings, missing-firms and index tables (the report lists up to [tables] max_rows); apart
    # from `tables`, whose CSVs decide whether a new edition is a revision (flows/support/editions.py)
    full_tables: list[Path] = field(default_factory=list)
    edition: Path | None = None  # public edition: what it published and withheld, and the audit (JSON)

    def all(self) -> list[Path]:
        return [p for p in (self.html, self.pdf, *self.tables, *self.full_tables, *self.charts, *self.chart_data,
                            *self.chain) if p is not None]


# ----------------------------------------------------------------------------------------- formatting


def indicators() -> dict[str, Indicator]:
    """The registry by code."""
    return {i.code: i for i in registry()}


def ind_name(code: str, lang: str) -> str:
    ind = indicators()[code]
    return ind.name_zh if lang == "zh" else ind.name_en


def display_unit(code: str, lang: str) -> str:
    """The unit a value is shown in (registry display: money totals in 亿元, ratios in %)."""
    display = indicators()[code].display
    return display.unit_zh if lang == "zh" else display.unit_en


def scaled(code: str, value: float | None) -> float | None:
    """A stored value in its display unit (万元 → 亿元 for output totals, ratio → percent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return indicators()[code].display.apply(value)


def fmt(code: str, value: float | None, with_unit: bool = False, lang: str = "zh") -> str:
    """Format a stored value for display: thousands separators, sensible decimals, optional unit."""
    v = scaled(code, value)
    if v is None:
        return TEXT[lang]["na"]
    display = indicators()[code].display
    text = f"{v:,.{display.decimals}f}"
    if display.unit_zh == "%":
        return f"{text}%"
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


def add_months(period: dt.date, n: int) -> dt.date:
    y, m = divmod(period.year * 12 + period.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def period_text(period: dt.date, lang: str) -> str:
    return f"{period.year}年{period.month}月" if lang == "zh" else f"{period:%B %Y}"


# ------------------------------------------------------------------------------------------- reading


def latest_period(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest month with cluster indicators (what the nightly report covers)."""
    return rows(con, "report_latest_period")[0]["period"]


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


def partial_cells(con: duckdb.DuckDBPyConnection, months: Sequence[dt.date]) -> set[tuple[str, dt.date, str]]:
    """(row_id, period, indicator) whose window (TTM, YTD, last year's YTD) starts before the data: flagged
    partial_window in the marts. Such a value covers fewer months than its name says, so it is neither drawn
    nor compared. The all-cluster row is partial when any cluster is."""
    found = [(r["row_id"], r["period"], r["indicator"]) for r in rows(con, "report_partial_cells",
                                                                      {"months": list(months)})]
    out = set(found)
    out |= {("ALL", p, i) for r, p, i in found if not r.startswith("P:")}
    return out


# ------------------------------------------------------------------------------------------ sections


def _signed(value: float | None, lang: str) -> str:
    """A growth rate as +6.9% (— when not shown)."""
    return TEXT[lang]["na"] if value is None else f"{value * 100:+.1f}%"


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
    """The month's alerts (flows.stages.s10_alerts.month_listing: the same list as the digest and `clusterwatch alerts`)
    grouped new / ongoing / resolved. The public edition leaves out alerts about files (internal); a message
    that quotes a cell the edition withholds shows the symbol in its place."""
    groups: dict[str, list[dict[str, Any]]] = {state: [] for state in alert_rules.STATES}
    for row in alert_rules.month_listing(con, period):
        cluster = row["cluster_id"]
        if audience == "public" and cluster is None:
            continue
        withheld = ((audience == "public" and cluster in hidden_clusters)
                    or alert_rules.quotes_withheld(row, cells.value))
        name = names.get(cluster, cluster) if cluster else TEXT[lang]["file_subject"]
        message = (alert_rules.stored_message(row, lang, name, withhold=withheld)
                   if row["rule"] in alert_rules.config()["rules"] else row[f"message_{lang}"])
        groups[row["state"]].append({
            "cluster_id": cluster, "rule_code": row["rule"], "state_label": TEXT[lang][row["state"]], "cluster": name,
            "rule": alert_rules.rule_name(row["rule"], lang),
            "severity": alert_rules.severity_name(row["severity"], lang),
            "message": message})
    return {"groups": [{"state": k, "label": TEXT[lang][k], "rows": v} for k, v in groups.items()]}


def _quality(con: duckdb.DuckDBPyConnection, period: dt.date, cluster_ids: list[str], lang: str,
             audience: str) -> dict[str, Any]:
    """Files, rows loaded and quarantined (by rule), firms that did not report this month, and validation
    problems, in words.

    Aggregates only, except the lists of unreadable files, unread columns and validation problems, which name
    files and so stay internal."""
    internal = audience == "internal"
    files = rows(con, "report_quality_files")
    reasons = rows(con, "report_quality_reasons")
    failed = rows(con, "report_quality_failed") if internal else []
    for f in files:
        f["failed"] = f["status"] == "failed"
        f["kind"] = kind_term(f["kind"], lang)
        f["status"] = FILE_STATUS.get(f["status"], (f["status"], f["status"]))[0 if lang == "zh" else 1]
    for r in reasons:
        r["rule"], r["kind"] = quality_term(r["rule"], lang), kind_term(r["kind"], lang)
    for f in failed:   # reason: "<code>: <zh message> / <en message>" (flows/nightly.py)
        code, _, text = str(f["reason"] or "").partition(": ")
        zh, _, en = text.partition(" / ")
        zh, en = zh.removeprefix(f"{f['file_name']}："), en.removeprefix(f"{f['file_name']}: ")   # named beside it
        f["reason"] = f"{quality_term(code, lang)}（{zh}）" if lang == "zh" else f"{quality_term(code, lang)} ({en})"
    missing = rows(con, "report_quality_missing", {"clusters": cluster_ids, "period": period,
                                                   "previous": add_months(period, -1)})
    unread = rows(con, "report_quality_unread") if internal else []
    for c in unread:   # note: "<zh> / <en>" (flows/stages/s03_layout.py)
        zh, _, en = str(c["note"] or "").partition(" / ")
        c["note"] = zh if lang == "zh" else en
    return {"files": files, "reasons": reasons, "failed": failed, "missing": missing, "unread": unread,
            **_validation_problems(con, lang, audience)}


def _validation_problems(con: duckdb.DuckDBPyConnection, lang: str, audience: str) -> dict[str, Any]:
    """polars verdicts not confirmed by Great Expectations (errors) and rules not checked (warnings), from
    meta.validation_problems (flows/stages/s05_validate.py): listed by file internally, counted in public."""
    problems = rows(con, "report_validation_problems")
    for p in problems:
        p["label"] = TEXT[lang][p["problem"]]
        p["detail"] = p["detail_zh"] if lang == "zh" else p["detail_en"]
        rule, where = quality_term(p["rule"], lang), p["example_rows"]
        p["where"] = f"{rule}（{p['column_name']}）" if lang == "zh" else f"{rule} ({p['column_name']})"
        p["rows"] = "" if not where else (f"（行 {where}）" if lang == "zh" else f" (rows {where})")
    errors = sum(1 for p in problems if p["severity"] == "error")
    return {"problems": problems if audience == "internal" else [],
            "problems_public": TEXT[lang]["problems_public"].format(n=errors)
            if audience == "public" and errors else None}


def _ratings(con: duckdb.DuckDBPyConnection, period: dt.date, cluster_ids: list[str],
             audience: str) -> dict[str, Any]:
    """A/B/C/D counts per cluster (annual, TTM at December: the latest December ≤ period, else the period)."""
    december = dt.date(period.year if period.month == 12 else period.year - 1, 12, 1)
    rp = december if rows(con, "report_ratings_count", {"period": december})[0]["n"] else period
    params = {"period": rp, "clusters": cluster_ids}
    # firm names never reach the public edition
    d_firms = rows(con, "report_d_firms", params) if audience == "internal" else []
    return {"period": rp, "rows": rows(con, "report_ratings", params), "d_firms": d_firms}


def _map_png(con: duckdb.DuckDBPyConnection, period: dt.date, maps_dir: Path, lang: str,
             pool: Executor | None = None) -> Callable[[], Path | None]:
    """The report's copy of the period's cluster map, drawn at the page's text width with texts of at least
    CHART_FONT_PT and in the report's language: the latest stored snapshot (what was published), else the
    marts as they are now; None (the report says so) when the period has no cluster to draw. Written beside
    the period's map files; drawn in `pool` when given (the rows are read here). Returns the wait for it.
    A stored snapshot's copy is drawn once per version and language and kept, as the snapshot's own files are (a
    version never changes): the copy the night drew beside its alert stage (draw_report_maps) is used as it is."""
    return _map_copy(_map_source(con, period, maps_dir, lang), period, lang, pool)


MapSource = tuple[list[dict[str, Any]], dict[str, Any], Path, bool]


def _map_source(con: duckdb.DuckDBPyConnection, period: dt.date, maps_dir: Path, lang: str) -> MapSource:
    """The rows and metadata the report's map copy is drawn from, its path, and whether it is a stored
    snapshot's (named after its version, kept once drawn) or the live marts' (drawn each time)."""
    from flows.render import maps

    folder = maps_dir / f"{period:%Y-%m}"
    stored = maps.stored_rows(con, period)
    if stored is None:
        live = maps.live_rows(con, period)
        meta = {"snapshot_id": None, "period": period, "content_hash": maps.content_hash(live)}
        return live, meta, folder / f"map_{period:%Y-%m}_report_{lang}_local_supporting_rate.png", False
    header, map_rows = stored
    meta = {k: header[k] for k in ("snapshot_id", "period", "version", "content_hash", "created_at")}
    name = f"map_{period:%Y-%m}_v{header['version']}_report_{lang}_local_supporting_rate.png"
    return map_rows, meta, folder / name, True


def _map_copy(source: MapSource, period: dt.date, lang: str, pool: Executor | None) -> Callable[[], Path | None]:
    from flows.render import maps

    map_rows, _, path, kept = source
    if not maps.located(map_rows):
        return lambda: None
    if kept and path.exists():
        return lambda: path
    args, kwargs = _map_drawing(source, period, lang)
    return _drawn(pool, maps.write_png, *args, **kwargs)


def _map_drawing(source: MapSource, period: dt.date, lang: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """maps.write_png's arguments for the report's copy of the map."""
    map_rows, meta, path, _ = source
    return ((map_rows, path, period, "local_supporting_rate", meta),
            {"width_in": page.CHART_WIDTH_IN, "min_pt": page.CHART_FONT_PT, "lang": lang})


def draw_report_maps(con: duckdb.DuckDBPyConnection, maps_dir: Path, pool: Executor,
                     langs: Sequence[str] = NIGHT_LANGS) -> list[Future[Path]]:
    """Hand the nightly report's map copies of the latest month's stored snapshot (`langs`) to `pool` now, those not
    drawn yet; returns their drawings. The night draws them in its worker beside the alert stage, which leaves a core
    to spare, instead of the report waiting for its own drawing worker to draw them (≈ 1 s of a nation night's
    report); a drawing the worker has not started by the report is cancelled and the report draws the copy itself.
    Without a stored snapshot there is nothing to draw ahead: the report draws the live marts' map each time."""
    from flows.render import maps

    period = latest_period(con)
    if period is None:
        return []
    drawings = []
    for lang in langs:
        source = _map_source(con, period, maps_dir, lang)
        map_rows, _, path, kept = source
        if kept and maps.located(map_rows) and not path.exists():
            args, kwargs = _map_drawing(source, period, lang)
            drawings.append(pool.submit(maps.write_png, *args, **kwargs))
    return drawings


def _drawn(pool: Executor | None, draw: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T]:
    """draw(*args, **kwargs) in `pool` (the wait for its result returned), or here at once."""
    if pool is None:
        result = draw(*args, **kwargs)
        return lambda: result
    return pool.submit(draw, *args, **kwargs).result


# ------------------------------------------------------------------------------------------- render


def _connect(warehouse_or_con: Path | str | duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(warehouse_or_con, duckdb.DuckDBPyConnection):
        return warehouse_or_con, False
    return duckdb.connect(str(warehouse_or_con), read_only=True), True


def render_report(warehouse_or_con: Path | str | duckdb.DuckDBPyConnection, period: dt.date, lang: str = "zh",
                  audience: str = "internal", province: str | None = None, out_dir: Path | None = None,
                  maps_dir: Path | None = None, pdf: bool = True) -> ReportFiles:
    """Render the monthly report of `period` (HTML, PDF, table and chart CSVs, chart PNGs) into out_dir.

    Disclosure control (flows/support/disclosure.py) is applied to every period shown before anything is laid out.
    Works on a read-only connection; default out_dir is reports/out/reports/<YYYY-MM>/.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")
    if audience not in disclosure.AUDIENCES:
        raise ValueError(f"audience must be one of {disclosure.AUDIENCES}")
    period = period.replace(day=1)
    out_dir, maps_dir = Path(out_dir or _out_dir(None, period)), _maps_dir(maps_dir)
    con, own = _connect(warehouse_or_con)
    try:
        clusters = rows(con, "report_clusters", {"province": province})
        # the drawing workers start, and import, while the edition is read and protected
        with chain_render.page_workers(audience, len(clusters)) as workers:
            return _render(_begin(con, clusters, period, lang, audience, province, out_dir, maps_dir, pdf, None),
                           workers)
    finally:
        if own:
            con.close()


@dataclass
class Begun:
    """An edition decided before its report is laid out (begin_reports): the files it writes, its trend charts'
    drawing (page.trend_charts' arguments), when handed ahead to another process that drawing's future and, when
    begun by begin_reports, its supply-chain section as prepared there (a done future, as an undrawn figure's is in
    flows.render.chain.start_section; None: the report prepares it)."""

    edition: Edition
    files: ReportFiles
    drawing: list[tuple[str, dict[str, list[float | None]], bool, Path]]
    ahead: Future[list[Path]] | None
    chain: Future[s11_chain.Prepared | None] | None = None


def begin_reports(con: duckdb.DuckDBPyConnection, pool: Executor, langs: Sequence[str] = NIGHT_LANGS,
                  audience: str = "internal", out_root: Path | None = None,
                  maps_dir: Path | None = None) -> list[Begun]:
    """The nightly report's editions of the latest month (report_stage's), decided beside the alert stage (the night
    runs this in a thread of its own, flows.nightly), with the trend charts of those that draw in a worker
    (chain_render.draws_in_worker: the nation's) handed to `pool` now and each edition's supply-chain section prepared
    (s11_chain.prepare: all of it but the alerted clusters' order, which the report stage adds).

    Why: at nation the report's own drawing worker drew them (≈ 2.4 s) after its imports, and the report's process
    waited for it before its HTML; the night's worker (`pool`, matplotlib imported) draws them beside the alert stage
    instead. The supply-chain section was ≈ 1 CPU-s of the report stage's own process, on the night's critical path;
    here ≈ 0.4 CPU-s (s11_chain.leads_by_cluster), most of it in DuckDB and polars. Nothing the edition reads
    (core.clusters, the indicator, class and supply-chain marts: s11_chain.Prepared) is written by the alert stage,
    which only adds alerts, drift results and the outbox: the report's alert section is decided in the report stage,
    as before. A drawing `pool` has not started by then is cancelled and drawn by the report (render_begun)."""
    period = latest_period(con)
    if period is None:
        return []
    clusters = rows(con, "report_clusters", {"province": None})
    ahead = pool if chain_render.draws_in_worker(audience, len(clusters)) else None
    begun = [_begin(con, clusters, period, lang, audience, None, _out_dir(out_root, period), _maps_dir(maps_dir),
                    True, ahead) for lang in langs]
    for b in begun:
        e, b.chain = b.edition, Future()
        b.chain.set_result(s11_chain.prepare(con, e.period, e.lang, e.audience, e.clusters, _chain_hidden(e)))
    return begun


def _chain_hidden(e: Edition) -> Callable[[str, str], bool]:
    """Whether the edition's disclosure panel suppressed a cluster's indicator in its month (s11_chain's `hidden`)."""
    return lambda cid, code: bool(e.cells.hidden(cid, e.period, code))


def _out_dir(out_root: Path | None, period: dt.date) -> Path:
    """Where an edition of `period` is written: <out_root>/<YYYY-MM>/, by default under reports/out/reports."""
    return Path(out_root or REPORTS_OUT / "reports") / f"{period:%Y-%m}"


def _maps_dir(maps_dir: Path | None) -> Path:
    """Where the map files are (the report's copy of the map is written beside them): by default reports/out/maps."""
    return Path(maps_dir or REPORTS_OUT / "maps")


def render_begun(begun: Begun) -> ReportFiles:
    """The report of an edition begun ahead (begin_reports), drawn as render_report draws it."""
    e = begun.edition
    with chain_render.page_workers(e.audience, len(e.clusters)) as workers:
        return _render(begun, workers)


@dataclass
class Edition:
    """What one edition of the report covers and may show: its clusters and months, and the cells after
    disclosure control (only `cells` reaches a table, chart or text)."""

    con: duckdb.DuckDBPyConnection
    period: dt.date
    lang: str
    audience: str
    province: str | None
    out_dir: Path
    maps_dir: Path
    stem: str
    total_id: str
    months: list[dt.date]
    clusters: list[dict[str, Any]]
    names: dict[str, str]
    untranslated: bool
    protected: Any
    cells: Cells
    partial: set[tuple[str, dt.date, str]]
    classes: dict[str, dict[str, Any]]

    @property
    def t(self) -> dict[str, str]:
        return TEXT[self.lang]

    @property
    def ids(self) -> list[str]:
        return [c["cluster_id"] for c in self.clusters]

    @property
    def edition_file(self) -> Path:
        return self.out_dir / f"{self.stem}_edition.json"


def _edition(con: duckdb.DuckDBPyConnection, clusters: list[dict[str, Any]], period: dt.date, lang: str,
             audience: str, province: str | None, out_dir: Path, maps_dir: Path) -> Edition:
    """Read what the edition of `clusters` (report_clusters.sql's rows) covers and apply disclosure control to every
    month it shows."""
    if not clusters:
        raise LookupError(f"no clusters{f' in {province}' if province else ''}")
    have = {r["period"] for r in rows(con, "report_periods")}
    if period not in have:
        raise LookupError(f"no cluster indicators for {period:%Y-%m}")
    months = [m for m in (add_months(period, -k) for k in range(TREND_MONTHS - 1, -1, -1)) if m in have]
    stem = f"report_{period:%Y-%m}_{lang}_{audience}" + (f"_{province}" if province else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    edition = out_dir / f"{stem}_edition.json"
    protected = disclosure.protect_edition(
        con, months, audience,
        disclosure.earlier_editions(out_dir.parent, edition) if audience == "public" else ())
    both = alert_rules.cluster_names(con)
    names = {c["cluster_id"]: both[c["cluster_id"]][0 if lang == "zh" else 1] for c in clusters}
    classes = {r["cluster_id"]: r for r in rows(con, "report_classes", {"period": period})}
    return Edition(con, period, lang, audience, province, out_dir, maps_dir, stem,
                   f"P:{province}" if province else "ALL", months, clusters, names,
                   lang == "en" and any(both[cid][1] == both[cid][0] for cid in names), protected,
                   Cells(protected.frame), partial_cells(con, months), classes)


def _begin(con: duckdb.DuckDBPyConnection, clusters: list[dict[str, Any]], period: dt.date, lang: str, audience: str,
           province: str | None, out_dir: Path, maps_dir: Path, make_pdf: bool, ahead: Executor | None) -> Begun:
    """The edition (_edition), its files, its chart CSVs and its trend charts' drawing, handed to `ahead` if given."""
    e = _edition(con, clusters, period, lang, audience, province, out_dir, maps_dir)
    files = ReportFiles(e.period, e.lang, e.audience, e.province, e.out_dir / f"{e.stem}.html",
                        e.out_dir / f"{e.stem}.pdf" if make_pdf else None)
    drawing = _trend_drawing(e, files)
    return Begun(e, files, drawing, ahead.submit(page.trend_charts, drawing, e.months) if ahead else None)


def _render(begun: Begun, workers: chain_render.PageWorkers | None) -> ReportFiles:
    """Decide every section's content, then hand it to flows/render/report.py to lay out. At nation a worker process
    (`workers`, chain_render.page_workers) draws the trend charts (unless the night drew them: begin_reports), the map
    (unless the night drew it: draw_report_maps) and the supply-chain section's index figure, then its standalone
    pages, while this process decides the content and draws the section's blocks; the HTML waits for the charts, the
    map and the figure."""
    e, files = begun.edition, begun.files
    pool = workers.pool if workers else None
    if begun.ahead is not None and not begun.ahead.cancel():
        pngs = begun.ahead.result
    else:                   # not handed ahead, or not started there yet
        pngs = _drawn(pool, page.trend_charts, begun.drawing, e.months)
    charts_drawn = _trend_charts(e, files, pngs)
    map_drawn = _map(e, files, pool)
    prepared = begun.chain.result if begun.chain else lambda: s11_chain.prepare(
        e.con, e.period, e.lang, e.audience, e.clusters, _chain_hidden(e))
    return _laid_out(e, files, workers, charts_drawn, map_drawn, prepared)


def _laid_out(e: Edition, files: ReportFiles, workers: chain_render.PageWorkers | None,
              charts_drawn: Callable[[], list[dict[str, Any]]],
              map_drawn: Callable[[], tuple[str | None, str | None]],
              prepared: Callable[[], s11_chain.Prepared | None]) -> ReportFiles:
    """The rest of _render, while `workers` draw: every section's content, the HTML, the PDF and the pages. The
    supply-chain section (`prepared`, ordered by the month's alerts here) is decided first and its drawing started
    (at nation its index figure and pages are drawn by `workers` while this process decides the other sections)."""
    hidden_clusters = {cid for cid in e.ids if any(e.cells.hidden(cid, e.period, c) for c in TABLE_CODES)}
    alerts = _alerts(e.con, e.period, e.lang, e.names, hidden_clusters, e.audience, e.cells)
    alerted = {row["cluster_id"] for group in alerts["groups"] for row in group["rows"]}
    chain_prepared = prepared()
    decided = chain_prepared.content(alerted) if chain_prepared else None
    started = chain_render.start_section(decided, e.out_dir, e.stem, workers) if decided else None
    kpis, summary = _kpis(e)
    tables = _tables(e)
    files.tables += _table_csvs(e, tables)
    ratings = _ratings(e.con, e.period, e.ids, e.audience)
    quality = _quality(e.con, e.period, e.ids, e.lang, e.audience)
    growth = _growth(e)
    contrib = narrative.contributions(e.con, e.period, e.ids, lambda cid: growth(cid) is not None)
    files.n_suppressed = e.cells.frame.filter(pl.col("status").is_not_null() & (pl.col("period") == e.period)).height
    files.full_tables += _full_table_csvs(e, ratings, quality, decided)
    listed = _listed(e, alerted)
    # the tables as the report lists them (the full ones went to the CSVs; the analysis reads the full ones)
    shown = {"rows": [r for r in tables["rows"] if r["id"] in listed],
             "ratings": {**ratings, "rows": [r for r in ratings["rows"] if r["cluster_id"] in listed]},
             "quality": {**quality, "missing": [m for m in quality["missing"] if m["cluster_id"] in listed]}}
    t = e.t
    chain = chain_render.finish_section(started) if started else None
    charts = charts_drawn()
    map_uri, map_note = map_drawn()
    content = {
        "t": t, "lang": e.lang, "audience": e.audience, "period": e.period,
        "period_label": period_text(e.period, e.lang), "province": e.province,
        "scope": t["province_scope"].format(province=term("province", e.province, e.lang)) if e.province else "",
        "untranslated": e.untranslated, "kpis": kpis, "summary": summary, **tables, "charts": charts,
        "map_uri": map_uri, "charts_top": len(e.ids) > TREND_SERIES, "trend_series": TREND_SERIES,
        "map_note": map_note, "alerts": alerts,
        "analysis": _analysis(e, summary, kpis, contrib, growth, alerts, quality),
        "contrib_rows": _contribution_rows(e, contrib, growth), "drivers": _drivers(e, contrib),
        "ratings_label": period_text(ratings["period"], e.lang) if ratings["period"] else "",
        "names": e.names, "methodology": _methodology(e.lang), **shown,
        "table_notes": _listed_notes(e, tables["rows"], ratings["rows"], quality["missing"], decided, shown),
        "symbol": disclosure.SYMBOL,
        "footnote": disclosure.FOOTNOTE_ZH if e.lang == "zh" else disclosure.FOOTNOTE_EN,
        "audit_note": disclosure.audit_note(e.protected.audit, e.lang), "compiled": dt.date.today().isoformat(),
        "chain": chain}
    html = page.report_html(content)
    files.html.write_text(html, encoding="utf-8")
    if files.pdf is not None:
        page.write_pdf(html, files.pdf)
    files.chain = chain_render.wait_pages(chain) if chain else []
    if e.audience == "public":
        files.edition = disclosure.write_edition(e.edition_file, e.protected, {
            "edition": e.stem, "period": f"{e.period:%Y-%m}", "lang": e.lang, "audience": e.audience,
            "province": e.province, "files": [p.name for p in files.all()]})
    return files


def _kpis(e: Edition) -> tuple[list[dict[str, Any]], str]:
    """The total row's KPIs (all clusters, or the province) with month-on-month and year-on-year change, and
    the overview sentence built from them.

    A cumulative (YTD) figure has no month-on-month change (it grows every month by construction), and no
    change is taken against a value whose window was not yet complete."""
    t, period, total = e.t, e.period, e.total_id

    def compared(code: str, back: int) -> str:
        before = add_months(period, -back)
        if (back == 1 and indicators()[code].window == "ytd") or {(total, period, code),
                                                                (total, before, code)} & e.partial:
            return t["na"]
        return fmt_change(code, e.cells.value(total, period, code), e.cells.value(total, before, code), e.lang)

    kpis = [{"code": code, "name": ind_name(code, e.lang), "unit": display_unit(code, e.lang),
             "value": disclosure.SYMBOL if e.cells.hidden(total, period, code)
             else fmt(code, e.cells.value(total, period, code), lang=e.lang),
             "mom": compared(code, 1), "yoy": compared(code, 12)} for code in KPI_CODES]
    kv = {k["code"]: k for k in kpis}
    summary = t["summary"].format(
        period=period_text(period, e.lang), n=len(e.clusters), ttm=kv["output_ttm"]["value"],
        ttm_yoy=kv["output_ttm"]["yoy"], month=period.month, ytd=kv["output_ytd"]["value"],
        ytd_yoy=kv["output_ytd_yoy"]["value"], lsr=kv["local_supporting_rate"]["value"],
        pmt=kv["per_mu_tax"]["value"])
    return kpis, summary


def _tables(e: Edition) -> dict[str, Any]:
    """The cluster table (ranks within domain, classes, total row) and the province roll-up (national only)."""
    t, period = e.t, e.period
    rows_ = []
    for c in e.clusters:
        cid = c["cluster_id"]
        cells = {code: e.cells.cell(cid, period, code, e.lang) for code in TABLE_CODES}
        cls = e.classes.get(cid, {})
        tier_hidden = cells["output_ttm"]["suppressed"]
        stage_hidden = cells["local_supporting_rate"]["suppressed"] or bool(e.cells.hidden(cid, period, "n_firms"))
        tier = cls.get("scale_tier" if e.lang == "zh" else "scale_tier_en")
        stage = cls.get("stage" if e.lang == "zh" else "stage_en")
        rows_.append({"id": cid, "name": e.names[cid], "domain": term("domain", c["domain"], e.lang),
                      "province": c["province"], "cells": cells,
                      "tier": disclosure.SYMBOL if tier_hidden else (tier or t["na"]),
                      "stage": disclosure.SYMBOL if stage_hidden else (stage or t["na"])})
    for code in TABLE_CODES:
        _ranks(rows_, code)
    provinces = [] if e.province else [
        {"name": p, "label": term("province", p, e.lang), "n": sum(1 for c in e.clusters if c["province"] == p),
         "cells": {code: e.cells.cell(f"P:{p}", period, code, e.lang) for code in PROVINCE_CODES}}
        for p in sorted({c["province"] for c in e.clusters})]
    return {
        "columns": [{"code": c, "name": ind_name(c, e.lang), "unit": display_unit(c, e.lang)} for c in TABLE_CODES],
        "rows": rows_,
        "total_row": {"name": t["total"] if e.province else t["all"],
                      "cells": {code: e.cells.cell(e.total_id, period, code, e.lang) for code in TABLE_CODES}},
        "provinces": provinces,
        "province_columns": [{"code": c, "name": ind_name(c, e.lang), "unit": display_unit(c, e.lang)}
                             for c in PROVINCE_CODES],
        "province_total": {"name": t["all"], "n": len(e.clusters),
                           "cells": {code: e.cells.cell("ALL", period, code, e.lang) for code in PROVINCE_CODES}}}


def _table_csvs(e: Edition, tables: dict[str, Any]) -> list[Path]:
    """The tables as CSV beside the report: raw shown values in stored units, the symbol where suppressed."""
    def raw(cell: dict[str, Any]) -> Any:
        return disclosure.SYMBOL if cell["suppressed"] else ("" if cell["raw"] is None else cell["raw"])

    total = tables["total_row"]
    out = [page.write_csv(
        e.out_dir / f"{e.stem}_clusters.csv",
        ["row_kind", "cluster_id", "cluster_name", "province", "domain", *TABLE_CODES, "scale_tier", "stage"],
        [*(["cluster", r["id"], r["name"], r["province"], r["domain"],
            *[raw(r["cells"][c]) for c in TABLE_CODES], r["tier"], r["stage"]] for r in tables["rows"]),
         ["total", e.total_id, total["name"], e.province or "", "", *[raw(total["cells"][c]) for c in TABLE_CODES],
          "", ""]])]
    if tables["provinces"]:
        everything = tables["province_total"]
        out.append(page.write_csv(
            e.out_dir / f"{e.stem}_provinces.csv", ["row_kind", "province", "n_clusters", *PROVINCE_CODES],
            [*(["province", p["name"], p["n"], *[raw(p["cells"][c]) for c in PROVINCE_CODES]]
               for p in tables["provinces"]),
             ["total", "ALL", len(e.clusters), *[raw(everything["cells"][c]) for c in PROVINCE_CODES]]]))
    return out


def _full_table_csvs(e: Edition, ratings: dict[str, Any], quality: dict[str, Any],
                     decided: dict[str, Any] | None) -> list[Path]:
    """Every row of the ratings, missing-firms and development index tables as CSV beside the report, whether the
    report lists them all or not (the index as the edition shows it: the symbol where a score is withheld)."""
    rated = f"{ratings['period']:%Y-%m}" if ratings["period"] else ""
    out = [page.write_csv(e.out_dir / f"{e.stem}_ratings.csv",
                          ["cluster_id", "cluster_name", "rating_period", "a", "b", "c", "d", "rated"],
                          ([r["cluster_id"], e.names.get(r["cluster_id"], r["cluster_id"]), rated,
                            r["a"], r["b"], r["c"], r["d"], r["rated"]] for r in ratings["rows"])),
           page.write_csv(e.out_dir / f"{e.stem}_missing.csv",
                          ["cluster_id", "cluster_name", "n_firms", "n_reporting", "n_missing", "lost"],
                          ([m["cluster_id"], e.names.get(m["cluster_id"], m["cluster_id"]), m["n_firms"],
                            m["n_reporting"], m["n_missing"], m["lost"]] for m in quality["missing"]))]
    if decided is not None:
        out.append(page.write_csv(e.out_dir / f"{e.stem}_index.csv",
                                  ["rank", "cluster_id", "cluster_name", *decided["dim_codes"], "total"],
                                  ([x["raw"][0], x["id"], x["name"], *x["raw"][1:]] for x in decided["ranking"])))
    return out


def _listed(e: Edition, alerted: set[str]) -> set[str]:
    """The clusters the cluster, ratings and missing-firms tables list: those with an alert in the month, then the
    largest by output TTM as the edition shows it (a withheld value counts as none), up to [tables] max_rows
    (flows/registry/report.toml: why a limit is said there). The CSVs keep every cluster."""
    output = {cid: v for cid in e.ids if (v := e.cells.value(cid, e.period, "output_ttm")) is not None}
    ranks = {cid: k for k, cid in enumerate(sorted(output, key=lambda cid: -output[cid]), 1)}
    return set(s11_chain.detailed(e.ids, ranks, alerted, s11_chain.table_limit()))


def _listed_notes(e: Edition, rows_: list[dict[str, Any]], ratings: list[dict[str, Any]],
                  missing: list[dict[str, Any]], decided: dict[str, Any] | None,
                  shown: dict[str, Any]) -> dict[str, str | None]:
    """Under each table that leaves clusters out: how many it lists and which file holds every row; None where
    the table lists every cluster."""
    def note(full: int, listed: int, suffix: str, leading: str) -> str | None:
        return None if listed == full else e.t["listed_note"].format(
            shown=listed, n=full, leading=e.t[leading], file=f"{e.stem}_{suffix}.csv")

    return {"clusters": note(len(rows_), len(shown["rows"]), "clusters", "leading_output"),
            "ratings": note(len(ratings), len(shown["ratings"]["rows"]), "ratings", "leading_output"),
            "missing": note(len(missing), len(shown["quality"]["missing"]), "missing", "leading_output"),
            "index": None if decided is None else note(len(decided["ranking"]), len(decided["listed"]), "index",
                                                       "leading_index")}


def _trend_drawing(e: Edition, files: ReportFiles) -> list[tuple[str, dict[str, list[float | None]], bool, Path]]:
    """One chart per trend indicator (the TREND_SERIES largest clusters drawn, every cluster in its CSV, written
    here); a withheld month or one whose window is incomplete is a gap. Returns page.trend_charts' charts."""
    chart_dir = e.out_dir / f"{e.stem}_charts"
    drawn = sorted(e.ids, key=lambda cid: -(e.cells.value(cid, e.period, "output_ttm") or 0.0))[:TREND_SERIES]
    drawing = []
    for code in TREND_CODES:
        series = {e.names[cid]: [None if (cid, m, code) in e.partial else scaled(code, e.cells.value(cid, m, code))
                                 for m in e.months] for cid in e.ids}
        unit = display_unit(code, e.lang)
        title = f"{ind_name(code, e.lang)}（{unit}）" if e.lang == "zh" else f"{ind_name(code, e.lang)} ({unit})"
        drawing.append((title, {e.names[cid]: series[e.names[cid]] for cid in drawn}, unit == "%",
                        chart_dir / f"trend_{code}.png"))
        files.chart_data.append(page.write_csv(
            chart_dir / f"trend_{code}.csv", ["period", *[e.names[cid] for cid in e.ids]],
            [[f"{m:%Y-%m}", *["" if series[e.names[cid]][k] is None else series[e.names[cid]][k] for cid in e.ids]]
             for k, m in enumerate(e.months)]))
    return drawing


def _trend_charts(e: Edition, files: ReportFiles,
                  pngs: Callable[[], list[Path]]) -> Callable[[], list[dict[str, Any]]]:
    """The wait for the trend charts (`pngs`: the wait for their drawing) as the report shows them."""
    def shown() -> list[dict[str, Any]]:
        drawn = pngs()
        files.charts += drawn
        return [{"n": n, "title": ind_name(code, e.lang), "uri": page.data_uri(png)}
                for n, (code, png) in enumerate(zip(TREND_CODES, drawn, strict=True), 1)]
    return shown


def _map(e: Edition, files: ReportFiles,
         pool: Executor | None = None) -> Callable[[], tuple[str | None, str | None]]:
    """The map (data URI) or the note that there is none; returns the wait for it. The internal edition shows the
    published snapshot (drawn in `pool` when given); the public edition its own map drawn through the edition's
    disclosure control (every value it withholds is withheld on the map as well)."""
    if e.audience == "public":
        public_map = disclosure.public_map(e.con, e.period, e.cells.frame, e.out_dir / f"{e.stem}_map")
        drawn = _drawn(None, lambda: public_map.png if public_map else None)
    else:
        drawn = _map_png(e.con, e.period, e.maps_dir, e.lang, pool)

    def shown() -> tuple[str | None, str | None]:
        files.map_png = drawn()
        if files.map_png is None:
            return None, e.t["map_missing"]
        return page.data_uri(files.map_png), None
    return shown


def _growth(e: Edition) -> Callable[[str], float | None]:
    """A cluster's shown YTD growth, None where withheld or its window is incomplete."""
    def growth(cid: str) -> float | None:
        if (cid, e.period, "output_ytd_yoy") in e.partial:
            return None
        return e.cells.value(cid, e.period, "output_ytd_yoy")
    return growth


def _contribution_rows(e: Edition, contrib: list[dict[str, Any]],
                       growth: Callable[[str], float | None]) -> list[dict[str, Any]]:
    """Each cluster's pull and share of the total's growth (flows/render/narrative.py), as table cells."""
    pct = narrative.TEXT[e.lang]["pct"]
    return [{"name": e.names[r["cluster_id"]], "growth": _signed(growth(r["cluster_id"]), e.lang),
             "pull": disclosure.SYMBOL if r["pull"] is None else f"{r['pull']:+.2f}",
             "share": disclosure.SYMBOL if r["share"] is None else pct.format(v=r["share"])} for r in contrib]


def _drivers(e: Edition, contrib: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The firms that moved the clusters that pulled most (internal edition only: firms are named)."""
    if e.audience != "internal":
        return []
    t, pct = e.t, narrative.TEXT[e.lang]["pct"]
    pulled = sorted((r for r in contrib if r["pull"] is not None), key=lambda r: -abs(r["pull"]))
    top = [r["cluster_id"] for r in pulled]
    return [{"cluster": e.names[d["cluster_id"]], "firm": d["firm_name"],
             "direction": t["increase"] if d["change"] >= 0 else t["decrease"],
             "share": t["na"] if d["share"] is None else pct.format(v=d["share"])}
            for d in narrative.firm_drivers(e.con, e.period, top[:narrative.TOP_CLUSTERS])]


def _analysis(e: Edition, summary: str, kpis: list[dict[str, Any]], contrib: list[dict[str, Any]],
              growth: Callable[[str], float | None], alerts: dict[str, Any], quality: dict[str, Any]) -> Any:
    """主要特点 / 存在问题 / 下一步建议 from the values the tables show (flows/render/narrative.py)."""
    limit = classification()["stage"]["linkage_min_local_supporting_rate"]
    below = [(cid, fmt("local_supporting_rate", v, lang=e.lang)) for cid in e.ids
             if (v := e.cells.value(cid, e.period, "local_supporting_rate")) is not None and v < limit]
    return narrative.analysis(e.lang, {
        "summary": summary, "contributions": contrib, "names": e.names,
        "growth": [(cid, v) for cid in e.ids if (v := growth(cid)) is not None], "kpis": {k["code"]: k for k in kpis},
        "na": e.t["na"], "fmt_growth": lambda v: _signed(v, e.lang), "below": below,
        "lsr_limit": f"{limit:.0%}", "alerts": alerts["groups"],
        "quality": {"rows_in": sum(f["rows_in"] for f in quality["files"]),
                    "quarantined": sum(f["rows_quarantined"] for f in quality["files"]),
                    "failed": sum(f["n_files"] for f in quality["files"] if f["failed"]),
                    "lost": sum(m["lost"] for m in quality["missing"])}})


def _methodology(lang: str) -> list[dict[str, Any]]:
    """The annex: every registered indicator with its unit, direction and definition."""
    return [{"code": i.code, "name": ind_name(i.code, lang), "unit": display_unit(i.code, lang),
             "direction": TEXT[lang][i.direction], "definition": i.definition_zh if lang == "zh" else i.definition}
            for i in registry()]


# --------------------------------------------------------------------------------- CLI and nightly


def report_stage(con: duckdb.DuckDBPyConnection, period: dt.date | None = None,
                 recipients: Sequence[str] | None = None, langs: Sequence[str] = NIGHT_LANGS,
                 audience: str = "internal", out_root: Path | None = None,
                 maps_dir: Path | None = None, begun: Sequence[Begun] = ()) -> list[ReportFiles]:
    """The nightly report stage: render the latest month and queue it for e-mail through the outbox.

    `begun`: the editions the night began before its alert stage (begin_reports), rendered as they are; any other
    language is rendered from the start. Recipients default to the delivery settings' smtp.to
    (config/delivery.toml); with none configured the report is rendered but not queued. Sending is
    flows.stages.s12_deliver.flush's job (retried and recorded there).
    """
    period = period or latest_period(con)
    if period is None:
        return []
    ahead = {b.edition.lang: b for b in begun}
    for b in begun:
        if (b.edition.period, b.edition.audience, b.edition.out_dir) != (period, audience, _out_dir(out_root, period)):
            raise ValueError(f"an edition begun for {b.edition.period:%Y-%m} {b.edition.audience} in "
                             f"{b.edition.out_dir} is not one of this stage's")
    out = []
    for lang in langs:
        out.append(render_begun(ahead[lang]) if lang in ahead else
                   render_report(con, period, lang=lang, audience=audience, out_dir=_out_dir(out_root, period),
                                 maps_dir=maps_dir))
    if recipients is None:
        from flows.stages import s12_deliver as deliver

        recipients = list(deliver.load_settings().smtp_to)
    if recipients:
        from flows.support import editions

        for files in out:       # once per period; again only as a revision when its numbers changed
            scope = files.province or "all"
            edition = editions.next_edition(con, files.period, files.lang, files.audience, scope, files.tables)
            if edition is not None:
                outbox_id = enqueue_report(con, files, list(recipients),
                                           revision=edition.note(files.lang) if edition.is_revision else None)
                editions.record(con, files.period, files.lang, files.audience, scope, edition, outbox_id)
    return out


def enqueue_report(con: duckdb.DuckDBPyConnection, files: ReportFiles, recipients: list[str],
                   revision: str | None = None, max_message_mb: float | None = None) -> int:
    """Queue one report e-mail (PDF and HTML attached) in the delivery outbox; returns the outbox id.
    A revision (修订版) is marked in the subject and says what changed.

    The attachments stay under max_message_mb (default: the delivery settings' smtp max_message_mb) once
    base64-encoded, the PDF first: a mail server refuses a larger message outright, every night again. A file
    that does not fit is not attached; the mail names it with its size and where it is on the server."""
    from flows.stages import s12_deliver as deliver

    limit = deliver.load_settings().smtp_max_message_mb if max_message_mb is None else max_message_mb

    t = TEXT[files.lang]
    label = period_text(files.period, files.lang)
    subject = f"{t['title']}（{label}）" if files.lang == "zh" else f"{t['title']} — {label}"
    if revision:
        subject = f"【修订版】{subject}" if files.lang == "zh" else f"[Revised] {subject}"
    text = (f"{subject}\n\n附件为本期监测月报（PDF、HTML）。{t[files.audience]}。\n" if files.lang == "zh"
            else f"{subject}\n\nThe monthly report is attached (PDF and HTML). {t[files.audience]}.\n")
    if revision:
        text += f"\n{revision}\n"
    attachments, room = [], limit * 1e6
    for path in (p for p in (files.pdf, files.html) if p is not None):
        size = path.stat().st_size
        if size * 4 / 3 <= room:
            attachments.append(path)
            room -= size * 4 / 3
        else:
            text += (f"\n{path.name}（{size / 1e6:.1f} MB）超过邮件大小上限（{limit:g} MB），未随信附送，见服务器上的"
                     f" {path}。\n" if files.lang == "zh" else
                     f"\n{path.name} ({size / 1e6:.1f} MB) is over the mail size limit ({limit:g} MB) and is not "
                     f"attached; it is on the server at {path}.\n")
    return deliver.enqueue_email(con, recipients, subject, text, attachments=attachments)

