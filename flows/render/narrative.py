"""The report's analysis text: 主要特点 / 存在问题 / 下一步建议 and the contribution analysis of output growth.

Why here and like this: officials read the analysis first, and a 监测月报 states what moved, what is wrong and
what to do. Every sentence is built from values the report's tables show (the report's Cells, after disclosure
control): a withheld value never reaches a sentence, so no text carries a value its table withholds.

Contribution of cluster c to the growth of the clusters' year-to-date output, on the comparable basis of
output_ytd_yoy (numerator N_c = YTD(m) of comparable firms, denominator D_c = the same firms' YTD a year earlier):
  拉动 (percentage points) = (N_c − D_c) / Σ D × 100, which add up to the total's growth rate;
  贡献率 (%)               = (N_c − D_c) / Σ (N − D) × 100, which add up to 100.
Within a cluster (internal edition only) the firms whose change moved the cluster most, as shares of the
cluster's change — no firm's own amount is printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from flows.support.warehouse import run_sql, sql_text

TOP_CLUSTERS = 3     # clusters named in the text and whose firms are listed
TOP_FIRMS = 3        # firms per cluster (internal edition)
TEXT = {
    "zh": {
        "pull": "从增长来源看，{names}拉动最大，分别拉动全部集群累计产值增长{pulls}个百分点，合计贡献率{share}。",
        "fastest": "分集群看，{hi}累计产值同比增长最快（{hi_v}），{lo}最慢（{lo_v}）。",
        "cloud": "集群企业上云率{v}，较上年同期{chg}；智改数转完成率{v2}，较上年同期{chg2}。",
        "below": "{n}个集群本地配套率低于{limit}（{items}），本地产业链配套仍偏弱。",
        "alerts": "本月预警{n}条（新增{new}条、持续{ongoing}条）：{items}。",
        "falling": "{n}个集群累计产值同比下降：{items}。",
        "quality": "数据方面，{items}。", "q_rows": "累计隔离问题数据{q:,}行（占读入行数的{share}）",
        "q_failed": "{failed}个文件无法读取", "q_missing": "{missing:,}家企业上月报送而本月未报送",
        "advise_lsr": ("针对本地配套率偏低或下降的集群（{items}），建议组织链主企业与本地供应商对接，"
                       "梳理本地可配套清单。"),
        "advise_falling": "对累计产值同比下降的集群（{items}），建议开展运行调度，摸排重点企业生产经营困难。",
        "advise_drift": "对数据分布异常的集群（{items}），建议核实企业是否变更计量单位或统计口径。",
        "advise_quality": "督促未按期报送的企业补报，核实被隔离的数据并在下期更正。",
        "advise_default": "继续按月跟踪集群主要指标，做好运行监测。",
        "none": "本月未发现需要特别关注的问题。",
        "sep": "、", "list_sep": "；", "pp": "{v:+.2f}", "pct": "{v:.1f}%",
        "alert_item": "{cluster}{rule}（{state}）",
    },
    "en": {
        "pull": "By source, {names} contributed most to the growth of the clusters' year-to-date output: {pulls} "
                "percentage points respectively, together {share} of the growth.",
        "fastest": "By cluster, year-to-date output grew fastest in {hi} ({hi_v}) and slowest in {lo} ({lo_v}).",
        "cloud": "Cloud adoption among the clusters' firms was {v} ({chg} on a year earlier); digital "
                 "transformation was complete in {v2} ({chg2}).",
        "below": "Clusters with a local supporting rate below {limit}: {n} ({items}); local supply chains remain weak.",
        "alerts": "Alerts this month: {n} ({new} new, {ongoing} ongoing): {items}.",
        "falling": "Clusters whose year-to-date output fell year on year: {n} — {items}.",
        "quality": "Data: {items}.", "q_rows": "{q:,} rows quarantined in all ({share} of rows read)",
        "q_failed": "unreadable files: {failed}",
        "q_missing": "firms that reported the month before but not this month: {missing:,}",
        "advise_lsr": "For the clusters whose local supporting rate is low or falling ({items}), bring chain leaders "
                      "together with local suppliers and list what can be sourced locally.",
        "advise_falling": "For the clusters whose output is falling ({items}), follow up with their main firms on "
                          "production and operating difficulties.",
        "advise_drift": "For the clusters whose data changed distribution ({items}), check whether firms changed "
                        "units or reporting basis.",
        "advise_quality": "Have the firms that did not report submit their returns, and have quarantined data "
                          "checked and corrected next month.",
        "advise_default": "Keep tracking the clusters' main indicators month by month.",
        "none": "Nothing this month calls for particular attention.",
        "sep": ", ", "list_sep": "; ", "pp": "{v:+.2f}", "pct": "{v:.1f}%",
        "alert_item": "{cluster}: {rule} ({state})",
    },
}


def contributions(con: duckdb.DuckDBPyConnection, period: dt.date, ids: Sequence[str],
                  shown: Callable[[str], bool]) -> list[dict[str, Any]]:
    """Each cluster's 拉动 (pp) and 贡献率 (%) to the growth of the clusters' comparable YTD output, largest
    first. `shown(cluster_id)` says whether the report shows that cluster's growth; the others carry None."""
    rows = run_sql(con, "contribution_rows", {"period": period, "clusters": list(ids)}).fetchall()
    base = sum(d for _, _, d in rows)
    change = sum(n - d for _, n, d in rows)
    out = []
    for cid, num, den in rows:
        visible = shown(cid) and base > 0
        out.append({"cluster_id": cid, "pull": (num - den) / base * 100 if visible else None,
                    "share": (num - den) / change * 100 if visible and change else None})
    out.sort(key=lambda r: (r["pull"] is None, -(r["pull"] or 0.0)))
    return out


def firm_drivers(con: duckdb.DuckDBPyConnection, period: dt.date, cluster_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Internal edition: per cluster the firms whose comparable YTD change moved it most, as shares of the
    cluster's change (sql/report_firm_growth.sql)."""
    if not cluster_ids:
        return []
    cursor = con.execute(sql_text("report_firm_growth"), {"period": period, "clusters": list(cluster_ids),
                                                          "top": TOP_FIRMS})
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    totals = dict(run_sql(con, "contribution_totals", {"period": period, "clusters": list(cluster_ids)}).fetchall())
    for r in rows:
        total = totals.get(r["cluster_id"])
        r["share"] = r["change"] / total * 100 if total else None
    return rows


def analysis(lang: str, values: dict[str, Any]) -> dict[str, list[str]]:
    """主要特点 / 存在问题 / 下一步建议 as lists of sentences, from what the report shows (see the caller)."""
    t = TEXT[lang]
    sep = t["sep"]
    features, problems, advice = [values["summary"]], [], []

    pulls = [r for r in values["contributions"] if r["pull"] is not None][:TOP_CLUSTERS]
    if pulls:
        features.append(t["pull"].format(
            names=sep.join(values["names"][r["cluster_id"]] for r in pulls),
            pulls=sep.join(t["pp"].format(v=r["pull"]) for r in pulls),
            share=t["pct"].format(v=sum(r["share"] or 0.0 for r in pulls))))
    growth = values["growth"]          # [(cluster_id, shown output_ytd_yoy)], shown values only
    if len(growth) >= 2:
        hi, lo = max(growth, key=lambda g: g[1]), min(growth, key=lambda g: g[1])
        features.append(t["fastest"].format(hi=values["names"][hi[0]], hi_v=values["fmt_growth"](hi[1]),
                                            lo=values["names"][lo[0]], lo_v=values["fmt_growth"](lo[1])))
    kv = values["kpis"]
    if kv["cloud_rate"]["value"] != values["na"]:
        features.append(t["cloud"].format(v=kv["cloud_rate"]["value"], chg=kv["cloud_rate"]["yoy"],
                                          v2=kv["transformation_done_rate"]["value"],
                                          chg2=kv["transformation_done_rate"]["yoy"]))

    below = values["below"]            # [(cluster_id, text)] shown local supporting rates under the threshold
    if below:
        problems.append(t["below"].format(n=len(below), limit=values["lsr_limit"], items=sep.join(
            f"{values['names'][cid]}{text}" if lang == "zh" else f"{values['names'][cid]} {text}"
            for cid, text in below)))
    listed = [a for g in values["alerts"] if g["state"] in ("new", "ongoing") for a in g["rows"]]
    if listed:
        count = {g["state"]: len(g["rows"]) for g in values["alerts"]}
        problems.append(t["alerts"].format(n=len(listed), new=count.get("new", 0), ongoing=count.get("ongoing", 0),
                                           items=t["list_sep"].join(
                                               t["alert_item"].format(cluster=a["cluster"], rule=a["rule"],
                                                                      state=a["state_label"]) for a in listed)))
    falling = [g for g in growth if g[1] < 0]
    if falling:
        problems.append(t["falling"].format(n=len(falling), items=sep.join(
            f"{values['names'][cid]}（{values['fmt_growth'](v)}）" if lang == "zh"
            else f"{values['names'][cid]} ({values['fmt_growth'](v)})" for cid, v in falling)))
    q = values["quality"]
    parts = []
    if q["quarantined"]:
        parts.append(t["q_rows"].format(q=q["quarantined"], share=f"{q['quarantined'] / q['rows_in'] * 100:.2f}%"))
    if q["failed"]:
        parts.append(t["q_failed"].format(failed=q["failed"]))
    if q["lost"]:
        parts.append(t["q_missing"].format(missing=q["lost"]))
    if parts:
        problems.append(t["quality"].format(items=t["sep"].join(parts)))

    lsr_clusters = [values["names"][cid] for cid, _ in below]
    lsr_clusters += [a["cluster"] for a in listed if a["rule_code"] == "local_supporting_rate_drop"
                     and a["cluster"] not in lsr_clusters]
    if lsr_clusters:
        advice.append(t["advise_lsr"].format(items=sep.join(lsr_clusters)))
    if falling:
        advice.append(t["advise_falling"].format(items=sep.join(values["names"][cid] for cid, _ in falling)))
    drifting = sorted({a["cluster"] for a in listed if a["rule_code"] == "data_drift"})
    if drifting:
        advice.append(t["advise_drift"].format(items=sep.join(drifting)))
    if q["lost"] or q["quarantined"]:
        advice.append(t["advise_quality"])
    advice.append(t["advise_default"])
    return {"features": features, "problems": problems or [t["none"]], "advice": advice}
