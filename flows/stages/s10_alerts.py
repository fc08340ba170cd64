"""Alerts (docs/architecture.md#snapshots-alerts-and-reports): threshold and drift rules → episodes in mart.alerts →
notices in the outbox.

Rules and their parameters live in flows/registry/alerts.toml. Every month in the data is evaluated, so the first
night (36 months of history at once) records the history's episodes with their own months; only alerts
that are new or resolved in the latest month are queued for delivery (a history episode that resolved
long ago is information for the report, not news). An alert is one episode of (rule, subject): its id is a
hash of rule, subject and first month, so re-running a night upserts the same rows and never re-sends —
a notice is queued only while delivered_at / resolved_delivered_at is empty.

Episodes: a month whose condition holds opens or continues an episode; a month evaluated as not holding
closes it (resolved). Months that cannot be evaluated (January for the reporting gap, a missing value) do
not change the state. The drift rule has hysteresis (raise_score to open, keep_score to stay open), so an
episode does not flicker around one threshold.

Incremental (docs/scaling.md): the conditions of every month are kept in mart.alert_conditions. A night
evaluates again only the months its recomputed indicators and drift scores can change (_scope); the firm-level
SQL (reporting gap, unit-jump evidence) reads only those months. Episodes are then built over every stored
month, so the result is the one a full evaluation gives (tests/test_alerts.py compares the two after a
revision of an old month).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from flows.render import safe_text
from flows.stages import s09_drift as drift
from flows.stages import s12_deliver as deliver
from flows.support import disclosure
from flows.support.settings import REGISTRY_DIR, REPORTS_OUT
from flows.support.warehouse import one_thread, run_sql, sql_text

# The SQL a stored condition was computed with: a change to one of them evaluates every month again.
CONDITION_SQL = ("alerts_conditions", "drift_flags", "drift_unit_jumps")
CONDITION_COLUMNS = ["rule", "subject", "cluster_id", "period", "active", "keep", "value", "baseline", "evidence"]

CONFIG_PATH = REGISTRY_DIR / "alerts.toml"
# One-off rules: the condition belongs to one month (a file), so the episode ends with that month and no
# "resolved" notice is sent.
EVENT_RULES = {"quarantine_share"}


@cache
def config(path: Path = CONFIG_PATH) -> dict:
    """The rule file, parsed once."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


@dataclass
class Alert:
    """One episode of a rule on a subject, as of the latest evaluated month."""

    alert_id: str
    rule: str
    subject: str
    cluster_id: str | None
    period: dt.date
    last_period: dt.date
    resolved_period: dt.date | None
    status: str
    severity: str
    message_zh: str
    message_en: str
    evidence: dict


@dataclass
class AlertSummary:
    """What the alert stage did, for the flow log, the CLI and the tests."""

    latest: dt.date | None
    alerts: list[Alert] = field(default_factory=list)
    new: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    drift: drift.DriftRun | None = None
    outbox_ids: list[int] = field(default_factory=list)
    evaluated: list[dt.date] | None = None   # the months whose conditions were evaluated again (None: all)

    @property
    def ongoing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "ongoing"]

    def __str__(self) -> str:
        d = self.drift
        return (f"alerts {self.latest}: {len(self.new)} new, {len(self.ongoing)} ongoing, {len(self.resolved)} "
                f"resolved this month; {len(self.alerts)} episodes in history; drift {len(d.periods) if d else 0} "
                f"months in {d.seconds if d else 0:.1f}s; conditions of "
                f"{'every month' if self.evaluated is None else f'{len(self.evaluated)} months'} evaluated; "
                f"{len(self.outbox_ids)} notices queued")


def _months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return [r[0] for r in con.execute(
        "SELECT DISTINCT period FROM mart.cluster_indicators ORDER BY period").fetchall()]


def _drift_periods(con: duckdb.DuckDBPyConnection, months: list[dt.date], latest: dt.date) -> list[dt.date]:
    """Months after the last month with drift results (every month on a first evaluation), plus months whose
    data or references (12 months on) changed last run.

    Earlier months without results (the first months, whose references do not exist yet) would give none
    again unless their data changed: scoring them every night read the whole history each time.
    """
    done = {r[0] for r in con.execute("SELECT DISTINCT period FROM mart.drift_results").fetchall()}
    todo = {m for m in months if m <= latest and (not done or m > max(done))}
    from flows.stages.s07_indicators import changed_periods

    run_id = con.execute("SELECT max(run_id) FROM meta.runs").fetchone()[0]
    changed = changed_periods(con, run_id) if run_id is not None else set()
    if changed is None:
        return [m for m in months if m <= latest]
    for c in changed:
        todo.update(m for m in months if c <= m <= drift._months_back(c, -12) and m <= latest)
    return sorted(todo)


def _params(rules: dict) -> dict:
    return {
        "lsr_drop_points": float(rules["local_supporting_rate_drop"]["drop_points"]),
        "lsr_lag_months": int(rules["local_supporting_rate_drop"]["lag_months"]),
        "yoy_min": float(rules["output_ytd_yoy_low"]["min_yoy"]),
        "tax_max_yoy": float(rules["per_mu_tax_drop"]["max_yoy"]),
        "gap_max_share": float(rules["reporting_gap"]["max_share"]),
        "gap_exempt_months": [int(m) for m in rules["reporting_gap"].get("exempt_months", [])],
        "q_max_share": float(rules["quarantine_share"]["max_share"]),
    }


def conditions(con: duckdb.DuckDBPyConnection, cfg: dict, latest: dt.date, flags: pd.DataFrame,
               months: list[dt.date] | None = None) -> pd.DataFrame:
    """(rule, subject, month) rows evaluated: active (opens/continues) and keep (continues only).

    flags: the data-drift rule per cluster and month (drift.cluster_flags, as the drift stage returned it).
    months: evaluate only these months (None: every month); the quarantine rule's rows are always all there.
    """
    run_sql(con, "alerts_conditions", {**_params(cfg["rules"]), "months": months})
    cond = con.execute("SELECT * FROM alert_conditions WHERE period <= ?", [latest]).df()
    cond["keep"] = cond["active"]
    if len(flags):
        flags = flags[flags["period"] <= latest]
        if months is not None:
            flags = flags[flags["period"].isin(set(months))]
        jumps = drift.unit_jumps(con, cfg["rules"]["data_drift"], flags[flags["raise"] | flags["keep"]])
        jump = {(r.cluster_id, pd.Timestamp(r.period).date()): int(r.n_firms) for r in jumps.itertuples()}
        evidence = [{"score": s, "kinds": k, "columns": c, "n_unit_jump_x10": jump.get((cl, p), 0),
                     "method": cfg["rules"]["data_drift"]["method"]}
                    for s, k, c, cl, p in zip(flags["score"], flags["kinds"], flags["columns"],
                                              flags["cluster_id"], flags["period"], strict=True)]
        dcond = pd.DataFrame({
            "rule": "data_drift", "subject": flags["cluster_id"], "cluster_id": flags["cluster_id"],
            "period": flags["period"], "active": flags["raise"], "keep": flags["keep"], "value": flags["score"],
            "baseline": float("nan"), "evidence": [json.dumps(e, ensure_ascii=False) for e in evidence]})
        cond = pd.concat([c for c in (cond, dcond) if len(c)], ignore_index=True)
    cond["period"] = pd.to_datetime(cond["period"]).dt.date
    return cond[CONDITION_COLUMNS]


def fingerprint(cfg: dict) -> str:
    """What stored conditions depend on besides the data: the rule parameters and the rules' SQL."""
    text = json.dumps(cfg["rules"], sort_keys=True) + "".join(sql_text(name) for name in CONDITION_SQL)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _scope(con: duckdb.DuckDBPyConnection, months: list[dt.date], recomputed: set[dt.date] | None,
           drift_periods: list[dt.date], cfg: dict, stamp: str) -> list[dt.date] | None:
    """The months whose conditions must be evaluated again; None for every month.

    A month's threshold conditions read indicators of that month, of the month before (reporting gap),
    lag_months and 12 months earlier; its drift condition reads the drift scores of that month and of 12
    months earlier. So a recomputed month p is felt in p, p + 1, p + lag and p + 12, a rescored month d in d
    and d + 12. Every month is evaluated when the caller does not say what it recomputed (None), when nothing
    is stored or it was stored under other rules (fingerprint), and when a change reaches the first stored
    month (the first months decide which months can be evaluated at all).
    """
    if recomputed is None:
        return None
    first, same = run_sql(con, "alert_conditions_scope", {"stamp": stamp}).fetchone()
    touched = set(recomputed) | set(drift_periods)
    if first is None or not same or (touched and min(touched) <= first):
        return None
    lag = int(cfg["rules"]["local_supporting_rate_drop"]["lag_months"])
    affected = {drift._months_back(p, -k) for p in recomputed for k in (0, 1, lag, 12)}
    affected |= {drift._months_back(d, -k) for d in drift_periods for k in (0, 12)}
    return sorted(affected & set(months))


def store_conditions(con: duckdb.DuckDBPyConnection, cond: pd.DataFrame, months: list[dt.date] | None,
                     stamp: str) -> pd.DataFrame:
    """Replace the evaluated months' rows (all rows when months is None; the quarantine rule's always) in
    mart.alert_conditions and return every stored row, in (rule, subject, period) order."""
    run_sql(con, "alert_conditions_clear", {"months": months})
    if len(cond):
        con.register("alert_conditions_new", cond)
        run_sql(con, "alert_conditions_store", {"stamp": stamp})
        con.unregister("alert_conditions_new")
    columns = ", ".join(f'"{c}"' for c in CONDITION_COLUMNS)
    return _parsed(con.execute(f"SELECT {columns} FROM mart.alert_conditions ORDER BY rule, subject, period").df())


def _parsed(cond: pd.DataFrame) -> pd.DataFrame:
    """Conditions with months as dates and evidence as dicts, as episodes() reads them."""
    cond = cond.copy()
    cond["period"] = pd.to_datetime(cond["period"]).dt.date
    cond["evidence"] = cond["evidence"].map(json.loads)
    return cond


def _alert_id(rule: str, subject: str, start: dt.date) -> str:
    return hashlib.sha256(f"{rule}|{subject}|{start.isoformat()}".encode()).hexdigest()[:16]


def episodes(cond: pd.DataFrame, latest: dt.date) -> list[dict]:
    """Runs of months in which a rule holds on a subject (see the module docstring for the state rules).

    One pass over plain column lists: every stored month of every subject is read each night, and a pandas
    group per subject (≈1 s at nation scale) cost more than the night's new month did.
    """
    # Each (rule, subject)'s rows in month order, subjects in key order: the groups of a groupby of the
    # month-sorted rows (a stable sort keeps its order inside a group; a group key cannot be missing).
    by_month = cond.sort_values("period")
    ordered = by_month[by_month["rule"].notna() & by_month["subject"].notna()].sort_values(
        ["rule", "subject"], kind="stable")
    columns = ("rule", "subject", "cluster_id", "period", "active", "keep", "evidence")
    out: list[dict] = []
    open_ep: dict | None = None
    group: tuple | None = None
    for rule, subject, cluster_id, period, active, keep, evidence in zip(
            *(ordered[c].tolist() for c in columns), strict=True):
        if (rule, subject) != group:
            if open_ep is not None:
                out.append(open_ep)
            open_ep, group = None, (rule, subject)
        holds = bool(active) or (open_ep is not None and bool(keep))
        if holds and open_ep is None:
            open_ep = {"rule": rule, "subject": subject, "cluster_id": cluster_id, "start": period,
                       "last": period, "resolved": None, "first_ev": evidence, "last_ev": evidence, "months": 1}
        elif holds:
            open_ep.update(last=period, last_ev=evidence, months=open_ep["months"] + 1)
        elif open_ep is not None:
            open_ep.update(resolved=period, resolved_ev=evidence)
            out.append(open_ep)
            open_ep = None
        if open_ep is not None and rule in EVENT_RULES:
            out.append(open_ep)
            open_ep = None
    if open_ep is not None:
        out.append(open_ep)
    return out


def _fmt(template: str, values: dict) -> str:
    """A message template filled; a placeholder without a value is an error (a half-filled alert is never sent)."""
    try:
        return template.format(**values)
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"alert message template {template!r} cannot be filled from {sorted(values)}: {e!r}") from e


def month_text(period: dt.date, lang: str) -> str:
    """A month as a reader writes it: 2025年12月 / December 2025."""
    return f"{period.year}年{period.month}月" if lang == "zh" else f"{period:%B %Y}"


def _column_names(columns: str, lang: str) -> str:
    """Source columns (output,revenue) as words: 工业总产值、营业收入 / gross industrial output, revenue."""
    from flows.support.contract import KINDS

    known = {c.name: c for kind in KINDS.values() for c in kind.columns}
    names = [known[c].zh if lang == "zh" else (known[c].en or c.replace("_", " ")) if c in known else c
             for c in (x.strip() for x in columns.split(",")) if c]
    return ("、" if lang == "zh" else ", ").join(names)


class _Withheld:
    """Formats as the disclosure symbol under any format spec ({value:.1%} too): the value stays out of the text."""

    def __format__(self, spec: str) -> str:
        return disclosure.SYMBOL


def quoted_month(rule: str, last: dt.date, resolved: dt.date | None, evidence: dict
                 ) -> tuple[dt.date, dict, bool]:
    """The month an alert's message quotes, its evidence, and whether it is the month the rule stopped holding:
    the latest month it held, or for a resolved episode the month it stopped (evidence["resolved"])."""
    gone = resolved is not None and evidence.get("resolved") is not None
    ev = dict(evidence["resolved"] if gone else evidence.get("latest") or evidence.get("start") or {})
    if rule == "data_drift" and not ev.get("columns"):  # which columns drifted is said once, at the start
        ev["columns"] = (evidence.get("latest") or {}).get("columns") or (evidence.get("start") or {}).get("columns")
    return (resolved if gone else last), ev, gone


def message_values(rule: str, subject: str, month: dt.date, evidence: dict, lang: str) -> dict:
    """The values a rule's message template is filled with in one language (everything but the cluster name)."""
    ev = {k: v for k, v in evidence.items() if v is not None}
    values = {"subject": subject, **ev, "period": month_text(month, lang)}
    if rule == "data_drift":
        n = int(ev.get("n_unit_jump_x10", 0))
        values.update(unit_note_zh=f"；{n}家企业数值约为此前的10倍，疑似计量单位错误" if n else "",
                      unit_note_en=f"; {n} firms report about 10 times their earlier values (a unit slip?)" if n
                      else "", columns=_column_names(str(ev.get("columns") or ev.get("kinds", "")), lang))
    return values


def render_message(rule_cfg: dict, lang: str, values: dict, name: str, text: Callable[[Any], str] = str,
                   withhold: bool = False, resolved: bool = False) -> str:
    """A rule's message: the template is the code, names and the subject are data put through `text` (the
    output's escaping), and with `withhold` every value the rule lists under `withheld` shows as the symbol.
    A resolved episode takes the rule's resolved_<lang> template where it has one."""
    hidden = set(rule_cfg.get("withheld", ())) if withhold else set()
    filled = {k: (_Withheld() if k in hidden else v) for k, v in values.items()}
    filled["subject"] = text(values.get("subject", ""))
    template = (rule_cfg.get(f"resolved_{lang}") if resolved else None) or rule_cfg[f"message_{lang}"]
    return _fmt(template, {**rule_cfg, **filled, "cluster_name": text(name)})


def _row_quote(row: dict) -> tuple[dt.date, dict, bool]:
    """quoted_month of a mart.alerts row (or a month_listing row)."""
    evidence = row.get("evidence")
    evidence = json.loads(evidence) if isinstance(evidence, str) else (evidence or {})
    last = row.get("last_period") or row["period"]
    last = last.date() if isinstance(last, dt.datetime) else last
    resolved = row.get("resolved_period")
    resolved = resolved.date() if isinstance(resolved, dt.datetime) else resolved
    return quoted_month(row["rule"], last, resolved, evidence)


def stored_message(row: dict, lang: str, name: str, text: Callable[[Any], str] = str, withhold: bool = False) -> str:
    """The message of a mart.alerts row rendered again for an output (its own escaping, withheld values)."""
    month, ev, gone = _row_quote(row)
    values = message_values(row["rule"], str(row.get("subject") or ""), month, ev, lang)
    return render_message(config()["rules"][row["rule"]], lang, values, name, text, withhold, gone)


def rule_cells(rule_cfg: dict) -> tuple[str, tuple[int, ...]] | None:
    """The indicator a rule's message quotes and the months it quotes it at (months back from the quoted one)."""
    if "indicator" not in rule_cfg:
        return None
    return rule_cfg["indicator"], tuple(int(k) for k in rule_cfg.get("months_back", [0]))


def quotes_withheld(row: dict, shown: Callable[[str, dt.date, str], Any]) -> bool:
    """Whether a stored alert (a mart.alerts or month_listing row) quotes a cell that an output does not show
    (shown(row_id, period, indicator) is None there)."""
    quoted = rule_cells(config()["rules"].get(row.get("rule"), {}))
    if quoted is None or not row.get("cluster_id"):
        return False
    code, back = quoted
    month = _row_quote(row)[0].replace(day=1)
    return any(shown(row["cluster_id"], drift._months_back(month, k), code) is None for k in back)


def withheld_rows(con: duckdb.DuckDBPyConnection, rows: list[dict], audience: str) -> set[str]:
    """alert_ids of listing rows whose quoted indicator cells are withheld for the audience
    (flows/support/disclosure.py), so their texts carry the symbol instead of the value in every channel."""
    quoting = [r for r in rows if r.get("cluster_id") and rule_cells(config()["rules"].get(r["rule"], {}))]
    wanted = set()
    for r in quoting:
        month = _row_quote(r)[0].replace(day=1)
        wanted |= {drift._months_back(month, k) for k in rule_cells(config()["rules"][r["rule"]])[1]}
    if not wanted:
        return set()
    frame = disclosure.protect(con, wanted, audience)
    shown = {(r, p, i): v for r, p, i, v in frame.select("row_id", "period", "indicator", "shown").rows()}
    return {r["alert_id"] for r in quoting if quotes_withheld(r, lambda c, p, i: shown.get((c, p, i)))}


def rule_name(rule: str, lang: str) -> str:
    """The rule's name in the reader's language (flows/registry/alerts.toml)."""
    return config()["rules"][rule][f"name_{lang}"]


def severity_name(severity: str, lang: str) -> str:
    """info / warning / critical in the reader's language (flows/registry/alerts.toml [severity])."""
    return config()["severity"][severity][f"name_{lang}"]


STATES = ("new", "ongoing", "resolved")


def month_listing(con: duckdb.DuckDBPyConnection, period: dt.date) -> list[dict]:
    """The alerts of a month, the one list the report, the digest and `clusterwatch alerts --period` show:
    new (first month = period), ongoing (opened before, still holding in period), resolved (stopped holding
    in period; one-month rules such as quarantine_share are never "resolved"). Withdrawn ones are left out."""
    cursor = con.execute(sql_text("alerts_month"), {"period": period.replace(day=1), "events": sorted(EVENT_RULES)})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _status(ep: dict, latest: dt.date) -> str:
    if ep["resolved"] is not None and ep["resolved"] <= latest:
        return "resolved"
    if ep["rule"] in EVENT_RULES:
        return "new" if ep["start"] == latest else "resolved"
    return "new" if ep["start"] == latest else "ongoing"


def cluster_names(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """cluster_id → (Chinese name, English name); the Chinese name stands where the registry gives no English one."""
    return {r[0]: (r[1], r[2] or r[1]) for r in run_sql(con, "alerts_cluster_names").fetchall()}


def upsert(con: duckdb.DuckDBPyConnection, eps: list[dict], cfg: dict, latest: dt.date) -> list[Alert]:
    """Write the episodes into mart.alerts (same id → update), withdraw ids no longer supported by the data."""
    names = cluster_names(con)
    alerts: list[Alert] = []
    for ep in eps:
        rule_cfg = cfg["rules"][ep["rule"]]
        evidence = {"start": ep["first_ev"], "latest": ep["last_ev"], "resolved": ep.get("resolved_ev"),
                    "months": ep["months"]}
        # the message quotes the current month (the latest it held, or the month it stopped holding)
        month, ev, gone = quoted_month(ep["rule"], ep["last"], ep["resolved"], evidence)
        zh, en = (render_message(rule_cfg, lang, message_values(ep["rule"], ep["subject"], month, ev, lang),
                                 name, resolved=gone)
                  for lang, name in zip(("zh", "en"), names.get(ep["cluster_id"] or "", (ep["subject"],) * 2),
                                        strict=True))
        resolved = ep["resolved"]
        if ep["rule"] in EVENT_RULES and resolved is None and ep["start"] < latest:
            resolved = drift._months_back(ep["start"], -1)
        alerts.append(Alert(
            alert_id=_alert_id(ep["rule"], ep["subject"], ep["start"]), rule=ep["rule"], subject=ep["subject"],
            cluster_id=ep["cluster_id"] if isinstance(ep["cluster_id"], str) else None, period=ep["start"],
            last_period=ep["last"], resolved_period=resolved, status=_status(ep, latest),
            severity=rule_cfg.get("severity", "warning"), message_zh=zh, message_en=en, evidence=evidence))
    columns = ("alert_id", "rule", "subject", "cluster_id", "period", "last_period", "resolved_period", "severity",
               "message_zh", "message_en", "evidence", "status")
    episodes = pd.DataFrame([[a.alert_id, a.rule, a.subject, a.cluster_id, a.period, a.last_period,
                              a.resolved_period, a.severity, a.message_zh, a.message_en,
                              json.dumps(a.evidence, ensure_ascii=False, default=str), a.status] for a in alerts],
                            columns=list(columns), dtype=object)
    con.execute("CREATE OR REPLACE TEMP TABLE alerts_new AS SELECT * FROM mart.alerts LIMIT 0")
    con.register("alerts_tonight", episodes)
    run_sql(con, "alerts_new_fill")
    con.unregister("alerts_tonight")
    run_sql(con, "alerts_upsert")
    return alerts


STATE_NAMES = {"zh": {"new": "新增", "ongoing": "持续", "resolved": "解除"},
               "en": {"new": "new", "ongoing": "ongoing", "resolved": "resolved"}}


def listing_line(row: dict, lang: str, message: str | None = None) -> str:
    """One alert of a month's listing as a line: state, severity, rule and the message (the stored one unless
    the output rendered its own, escaped and with withheld values)."""
    state = STATE_NAMES[lang][row["state"]]
    head = (f"【{state}】{severity_name(row['severity'], lang)}｜{rule_name(row['rule'], lang)}：" if lang == "zh"
            else f"[{state}] {severity_name(row['severity'], lang)} | {rule_name(row['rule'], lang)}: ")
    return head + (row[f"message_{lang}"] if message is None else message)


def _digest(latest: dt.date, listing: list[dict], names: dict[str, tuple[str, str]],
            withheld: set[str]) -> tuple[str, str, str]:
    """Subject, plain text (zh then en) and robot markdown of the month's alerts: every new, ongoing and resolved
    episode (month_listing, the same list as the report and `clusterwatch alerts --period`), pointing at the
    month's report for the rest. Names escaped for each format (plain text: nothing a mail client links;
    markdown: nothing forms a link, mention or emphasis), values of withheld cells as the symbol. No firm-level
    figures."""
    count = {state: sum(1 for r in listing if r["state"] == state) for state in STATES}
    subject = (f"集群运行监测预警 {month_text(latest, 'zh')}：新增{count['new']}条，持续{count['ongoing']}条，"
               f"解除{count['resolved']}条 / cluster alerts {month_text(latest, 'en')}")

    def lines(lang: str, escape: Callable[[Any], str]) -> list[str]:
        out = []
        for r in listing:
            name = names.get(r["cluster_id"] or "", (r["subject"], r["subject"]))[lang == "en"]
            message = stored_message(r, lang, name, escape, r["alert_id"] in withheld) \
                if r["rule"] in config()["rules"] else escape(r[f"message_{lang}"])
            out.append(listing_line(r, lang, message))
        return out

    refer_zh = f"详见《产业集群运行监测月报》（{month_text(latest, 'zh')}）第五部分“预警情况”。"
    refer_en = (f"See section 5, Alerts, of the Industrial Cluster Monitoring Report for "
                f"{month_text(latest, 'en')}.")
    text = "\n".join([*lines("zh", safe_text.plain_text), refer_zh, "", *lines("en", safe_text.plain_text),
                      refer_en])
    # Robot markdown: each whole line is data (nothing in it is meant as markup), so names, file names and
    # the withheld symbol —* alike can form no link, mention or emphasis.
    markdown = "\n".join([*(f"- {safe_text.markdown_text(line)}" for line in lines("zh", str)), "",
                          safe_text.markdown_text(refer_zh)])
    return subject, text, markdown


def notify(con: duckdb.DuckDBPyConnection, cfg: dict, latest: dt.date, alerts: list[Alert],
           settings: deliver.DeliverySettings) -> tuple[list[Alert], list[Alert], list[int]]:
    """Queue one digest (e-mail and/or robot) for the latest month's new and resolved alerts, once."""
    pending = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT alert_id, delivered_at, resolved_delivered_at FROM mart.alerts").fetchall()}
    new = [a for a in alerts if a.status == "new" and a.period == latest and pending[a.alert_id][0] is None]
    resolved = [a for a in alerts if a.status == "resolved" and a.resolved_period == latest
                and a.rule not in EVENT_RULES and pending[a.alert_id][1] is None]
    if not new and not resolved:
        return new, resolved, []
    listing = month_listing(con, latest)
    subject, text, markdown = _digest(latest, listing, cluster_names(con), withheld_rows(con, listing, "internal"))
    ids: list[int] = []
    if cfg.get("delivery", {}).get("email", True) and settings.smtp_to:
        ids.append(deliver.enqueue_email(con, list(settings.smtp_to), subject, text))
    if cfg.get("delivery", {}).get("webhook", True) and settings.webhook_url:
        ids.append(deliver.enqueue_webhook(con, settings.webhook_name, deliver.robot_markdown(
            f"集群运行监测预警 {latest:%Y-%m}", markdown, settings.webhook_flavour)))
    if ids:
        for column, items in (("delivered_at", new), ("resolved_delivered_at", resolved)):
            for a in items:
                con.execute(f"UPDATE mart.alerts SET {column} = current_localtimestamp() WHERE alert_id = ?",
                            [a.alert_id])
    return new, resolved, ids


def evaluate_alerts(con: duckdb.DuckDBPyConnection, period: dt.date | None = None, reports_dir: Path = REPORTS_OUT,
                    settings: deliver.DeliverySettings | None = None, config_path: Path = CONFIG_PATH,
                    recomputed: set[dt.date] | None = None, html_pool: Executor | None = None) -> AlertSummary:
    """Drift + threshold rules over every month up to `period` (default: the latest), upsert mart.alerts,
    queue notices for the latest month's new/resolved alerts. `con` is the night's read-write connection.

    recomputed: the months whose indicators the night recomputed; only the conditions they can change are
    evaluated again (None: every month, as a first night or `period` before the latest month does).
    html_pool: where the drift stage's Evidently HTML is rendered (s09_drift.run); the caller then waits for it
    (summary.drift.wait_html()). None: rendered here before this returns.

    DuckDB runs the stage on one thread: where both cores are busy, as the night's are during the stage (its worker
    process draws the report's map, then this stage's Evidently HTML beside it), a second thread cost more CPU than
    it saved wall. Nation night 2's stage in one process (HTML not rendered), 4 alternating pairs with the machine
    shared (load 2.5-3.1): 6.3-6.9 → 5.4-5.8 CPU-s, wall 5.9-6.8 → 5.4-5.9 s; a first night's (every month), 2
    pairs: 20.0-20.8 → 18.4-19.2 CPU-s, wall 19.4-21.7 → 18.9-19.6 s.
    """
    with one_thread(con):
        return _evaluate(con, period, reports_dir, settings, config_path, recomputed, html_pool)


def _evaluate(con: duckdb.DuckDBPyConnection, period: dt.date | None, reports_dir: Path,
              settings: deliver.DeliverySettings | None, config_path: Path, recomputed: set[dt.date] | None,
              html_pool: Executor | None) -> AlertSummary:
    """evaluate_alerts' work, on the threads DuckDB is given."""
    cfg = config(Path(config_path))
    months = _months(con)
    if not months:
        return AlertSummary(latest=None)
    latest = period or months[-1]
    rule = cfg["rules"]["data_drift"]
    drift_run = drift.run(con, _drift_periods(con, months, latest), latest, rule, cfg["drift"]["kinds"],
                          Path(reports_dir), html_pool)
    if latest == months[-1]:
        stamp = fingerprint(cfg)
        scope = _scope(con, months, recomputed, drift_run.periods, cfg, stamp)
        cond = store_conditions(con, conditions(con, cfg, latest, drift_run.flags, scope), scope, stamp)
    else:  # as of an earlier month: everything evaluated, nothing kept (the next night evaluates every month)
        scope = None
        con.execute("DELETE FROM mart.alert_conditions")
        cond = _parsed(conditions(con, cfg, latest, drift_run.flags))
    alerts = upsert(con, episodes(cond, latest), cfg, latest)
    new, resolved, ids = notify(con, cfg, latest, alerts, settings or deliver.load_settings())
    return AlertSummary(latest=latest, alerts=alerts, new=[a for a in alerts if a.status == "new"],
                        resolved=[a for a in alerts if a.status == "resolved" and a.resolved_period == latest],
                        drift=drift_run, outbox_ids=ids, evaluated=scope)
