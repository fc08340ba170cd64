"""Alerts (DESIGN §6): threshold and drift rules → episodes in mart.alerts → notices in the outbox.

Rules and their parameters live in flows/alerts.toml. Every month in the data is evaluated, so the first
night (36 months of history at once) records the history's episodes with their own months; only alerts
that are new or resolved in the latest month are queued for delivery (a history episode that resolved
long ago is information for the report, not news). An alert is one episode of (rule, subject): its id is a
hash of rule, subject and first month, so re-running a night upserts the same rows and never re-sends —
a notice is queued only while delivered_at / resolved_delivered_at is empty.

Episodes: a month whose condition holds opens or continues an episode; a month evaluated as not holding
closes it (resolved). Months that cannot be evaluated (January for the reporting gap, a missing value) do
not change the state. The drift rule has hysteresis (raise_score to open, keep_score to stay open), so an
episode does not flicker around one threshold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from flows import deliver, disclosure, drift, safe_text
from flows.settings import REPORTS_OUT
from flows.warehouse import connect_readonly, run_sql

CONFIG_PATH = Path(__file__).with_name("alerts.toml")
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
    values: dict = field(default_factory=dict)        # the message template's values, names apart
    names: tuple[str, str] = ("", "")                 # the subject's name in zh and en (data, never template)
    rule_cfg: dict = field(default_factory=dict)      # the rule's settings (templates, withheld values)

    def text(self, lang: str, escape: Callable[[Any], str], withhold: bool = False) -> str:
        """The message for one output: names through that output's escaping, values withheld if told."""
        return render_message(self.rule_cfg, lang, self.values, self.names[lang == "en"], escape, withhold)


@dataclass
class AlertSummary:
    """What the alert stage did, for the flow log, the CLI and the tests."""

    latest: dt.date | None
    alerts: list[Alert] = field(default_factory=list)
    new: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    drift: drift.DriftRun | None = None
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def ongoing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "ongoing"]

    def __str__(self) -> str:
        d = self.drift
        return (f"alerts {self.latest}: {len(self.new)} new, {len(self.ongoing)} ongoing, {len(self.resolved)} "
                f"resolved this month; {len(self.alerts)} episodes in history; drift {len(d.periods) if d else 0} "
                f"months in {d.seconds if d else 0:.1f}s; {len(self.outbox_ids)} notices queued")


def _months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return [r[0] for r in con.execute(
        "SELECT DISTINCT period FROM mart.cluster_indicators ORDER BY period").fetchall()]


def _drift_periods(con: duckdb.DuckDBPyConnection, months: list[dt.date], latest: dt.date) -> list[dt.date]:
    """Months without drift results, plus months whose data or references (12 months on) changed last run."""
    done = {r[0] for r in con.execute("SELECT DISTINCT period FROM mart.drift_results").fetchall()}
    todo = {m for m in months if m not in done and m <= latest}
    try:
        from flows.indicators import changed_periods

        run_id = con.execute("SELECT max(run_id) FROM meta.runs").fetchone()[0]
        changed = changed_periods(con, run_id) if run_id is not None else set()
    except duckdb.Error:
        changed = set()
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


def conditions(con: duckdb.DuckDBPyConnection, cfg: dict, latest: dt.date, flags: pd.DataFrame) -> pd.DataFrame:
    """Every (rule, subject, month) evaluated: active (opens/continues) and keep (continues only).

    flags: the data-drift rule per cluster and month (drift.cluster_flags, as the drift stage returned it).
    """
    run_sql(con, "alerts_conditions", _params(cfg["rules"]))
    cond = con.execute("SELECT * FROM alert_conditions WHERE period <= ?", [latest]).df()
    cond["keep"] = cond["active"]
    cond["evidence"] = cond["evidence"].map(json.loads)
    if len(flags):
        flags = flags[flags["period"] <= latest]
        jumps = drift.unit_jumps(con, cfg["rules"]["data_drift"], flags[flags["raise"] | flags["keep"]])
        jump = {(r.cluster_id, pd.Timestamp(r.period).date()): int(r.n_firms) for r in jumps.itertuples()}
        dcond = pd.DataFrame({
            "rule": "data_drift", "subject": flags["cluster_id"], "cluster_id": flags["cluster_id"],
            "period": flags["period"], "active": flags["raise"], "keep": flags["keep"], "value": flags["score"],
            "baseline": float("nan"),
            "evidence": [{"score": s, "kinds": k, "columns": c, "n_unit_jump_x10": jump.get((cl, p), 0),
                          "method": cfg["rules"]["data_drift"]["method"]}
                         for s, k, c, cl, p in zip(flags["score"], flags["kinds"], flags["columns"],
                                                   flags["cluster_id"], flags["period"], strict=True)]})
        cond = pd.concat([c for c in (cond, dcond) if len(c)], ignore_index=True)
    cond["period"] = pd.to_datetime(cond["period"]).dt.date
    return cond


def _alert_id(rule: str, subject: str, start: dt.date) -> str:
    return hashlib.sha256(f"{rule}|{subject}|{start.isoformat()}".encode()).hexdigest()[:16]


def episodes(cond: pd.DataFrame, latest: dt.date) -> list[dict]:
    """Runs of months in which a rule holds on a subject (see the module docstring for the state rules)."""
    out: list[dict] = []
    for (rule, subject), g in cond.sort_values("period").groupby(["rule", "subject"], sort=True):
        open_ep: dict | None = None
        for row in g.itertuples(index=False):
            holds = bool(row.active) or (open_ep is not None and bool(row.keep))
            if holds and open_ep is None:
                open_ep = {"rule": rule, "subject": subject, "cluster_id": row.cluster_id, "start": row.period,
                           "last": row.period, "resolved": None, "first_ev": row.evidence,
                           "last_ev": row.evidence, "months": 1}
            elif holds:
                open_ep.update(last=row.period, last_ev=row.evidence, months=open_ep["months"] + 1)
            elif open_ep is not None:
                open_ep["resolved"] = row.period
                out.append(open_ep)
                open_ep = None
            if open_ep is not None and rule in EVENT_RULES:
                out.append(open_ep)
                open_ep = None
        if open_ep is not None:
            out.append(open_ep)
    return out


def _fmt(template: str, values: dict) -> str:
    try:
        return template.format(**values)
    except (KeyError, ValueError, TypeError):
        return template


class _Withheld:
    """Formats as the disclosure symbol under any format spec ({value:.1%} too): the value stays out of the text."""

    def __format__(self, spec: str) -> str:
        return disclosure.SYMBOL


def message_values(rule: str, subject: str, start: dt.date, evidence: dict) -> dict:
    """The values a rule's message template is filled with (everything but the cluster name)."""
    ev = {k: v for k, v in evidence.items() if v is not None}
    values = {"subject": subject, "period": start.strftime("%Y-%m"), **ev}
    if rule == "data_drift":
        n = int(ev.get("n_unit_jump_x10", 0))
        values.update(unit_note_zh=f"；{n}家企业数值约为此前的10倍，疑似计量单位错误" if n else "",
                      unit_note_en=f"; {n} firms report ≈10× their earlier values (unit switch?)" if n else "",
                      columns=ev.get("columns") or ev.get("kinds", ""))
    return values


def render_message(rule_cfg: dict, lang: str, values: dict, name: str, text: Callable[[Any], str] = str,
                   withhold: bool = False) -> str:
    """A rule's message: the template is the code, names and the subject are data put through `text` (the
    output's escaping), and with `withhold` every value the rule lists under `withheld` shows as the symbol."""
    hidden = set(rule_cfg.get("withheld", ())) if withhold else set()
    filled = {k: (_Withheld() if k in hidden else v) for k, v in values.items()}
    filled["subject"] = text(values.get("subject", ""))
    return _fmt(rule_cfg[f"message_{lang}"], {**filled, "cluster_name": text(name)})


def stored_message(row: dict, lang: str, name: str, text: Callable[[Any], str] = str, withhold: bool = False) -> str:
    """The message of a mart.alerts row rendered again for an output (its own escaping, withheld values)."""
    rule_cfg = config()["rules"][row["rule"]]
    evidence = row.get("evidence")
    evidence = json.loads(evidence) if isinstance(evidence, str) else (evidence or {})
    start = row["period"].date() if isinstance(row["period"], dt.datetime) else row["period"]
    values = message_values(row["rule"], str(row.get("subject") or ""), start, evidence.get("start") or {})
    return render_message(rule_cfg, lang, values, name, text, withhold)


def rule_cells(rule_cfg: dict) -> tuple[str, tuple[int, ...]] | None:
    """The indicator a rule's message quotes and the months it quotes it at (months back from the alert's)."""
    if "indicator" not in rule_cfg:
        return None
    return rule_cfg["indicator"], tuple(int(k) for k in rule_cfg.get("months_back", [0]))


def quotes_withheld(row: dict, shown: Callable[[str, dt.date, str], Any]) -> bool:
    """Whether a stored alert (a mart.alerts row) quotes a cell that an output does not show
    (shown(row_id, period, indicator) is None there)."""
    quoted = rule_cells(config()["rules"].get(row.get("rule"), {}))
    if quoted is None or not row.get("cluster_id"):
        return False
    code, back = quoted
    start = row["period"].date() if isinstance(row["period"], dt.datetime) else row["period"]
    return any(shown(row["cluster_id"], drift._months_back(start.replace(day=1), k), code) is None for k in back)


def withheld_ids(con: duckdb.DuckDBPyConnection, alerts: list[Alert], audience: str) -> set[str]:
    """Alerts whose quoted indicator cell is withheld for the audience (flows/disclosure.py), so their texts
    carry the symbol instead of the value in every channel."""
    quoted = {a.alert_id: (a.cluster_id, rule_cells(a.rule_cfg), a.period) for a in alerts if rule_cells(a.rule_cfg)}
    wanted = {drift._months_back(p, k) for _, (_, offsets), p in quoted.values() for k in offsets}
    if not wanted:
        return set()
    frame = disclosure.protect(con, wanted, audience)
    hidden = {(r, p, i) for r, p, i in frame.filter(frame["status"].is_not_null())
              .select("row_id", "period", "indicator").rows()}
    return {aid for aid, (cid, (code, offsets), p) in quoted.items()
            if any((cid, drift._months_back(p, k), code) in hidden for k in offsets)}


def _status(ep: dict, latest: dt.date) -> str:
    if ep["resolved"] is not None and ep["resolved"] <= latest:
        return "resolved"
    if ep["rule"] in EVENT_RULES:
        return "new" if ep["start"] == latest else "resolved"
    return "new" if ep["start"] == latest else "ongoing"


def upsert(con: duckdb.DuckDBPyConnection, eps: list[dict], cfg: dict, latest: dt.date) -> list[Alert]:
    """Write the episodes into mart.alerts (same id → update), withdraw ids no longer supported by the data."""
    names = {r[0]: (r[1], r[2] or r[1]) for r in con.execute(
        "SELECT cluster_id, cluster_name, cluster_id FROM core.clusters").fetchall()}
    alerts: list[Alert] = []
    for ep in eps:
        rule_cfg = cfg["rules"][ep["rule"]]
        zh_name, en_name = names.get(ep["cluster_id"] or "", (ep["subject"], ep["subject"]))
        values = message_values(ep["rule"], ep["subject"], ep["start"], ep["first_ev"])
        zh, en = render_message(rule_cfg, "zh", values, zh_name), render_message(rule_cfg, "en", values, en_name)
        resolved = ep["resolved"]
        if ep["rule"] in EVENT_RULES and resolved is None and ep["start"] < latest:
            resolved = drift._months_back(ep["start"], -1)
        alerts.append(Alert(
            alert_id=_alert_id(ep["rule"], ep["subject"], ep["start"]), rule=ep["rule"], subject=ep["subject"],
            cluster_id=ep["cluster_id"] if isinstance(ep["cluster_id"], str) else None, period=ep["start"],
            last_period=ep["last"], resolved_period=resolved, status=_status(ep, latest),
            severity=rule_cfg.get("severity", "warning"), message_zh=zh, message_en=en,
            evidence={"start": ep["first_ev"], "latest": ep["last_ev"], "months": ep["months"]},
            values=values, names=(zh_name, en_name), rule_cfg=rule_cfg))
    rows = [[a.alert_id, a.rule, a.subject, a.cluster_id, a.period, a.last_period, a.resolved_period, a.severity,
             a.message_zh, a.message_en, json.dumps(a.evidence, ensure_ascii=False, default=str), a.status]
            for a in alerts]
    con.execute("CREATE OR REPLACE TEMP TABLE alerts_new AS SELECT * FROM mart.alerts LIMIT 0")
    if rows:
        con.executemany(
            "INSERT INTO alerts_new (alert_id, rule, subject, cluster_id, period, last_period, resolved_period, "
            "severity, message_zh, message_en, evidence, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("""
        INSERT INTO mart.alerts BY NAME
        SELECT * REPLACE (current_localtimestamp() AS first_seen, current_localtimestamp() AS last_seen,
                          CASE WHEN status = 'resolved' THEN current_localtimestamp() END AS resolved_at)
        FROM alerts_new
        ON CONFLICT (alert_id) DO UPDATE SET
            last_period = excluded.last_period, resolved_period = excluded.resolved_period,
            severity = excluded.severity, message_zh = excluded.message_zh, message_en = excluded.message_en,
            evidence = excluded.evidence, status = excluded.status, last_seen = excluded.last_seen,
            resolved_at = CASE WHEN excluded.status = 'resolved' THEN coalesce(mart.alerts.resolved_at,
                                                                            excluded.resolved_at) END""")
    con.execute("""
        UPDATE mart.alerts SET status = 'withdrawn', last_seen = current_localtimestamp()
        WHERE status <> 'withdrawn' AND alert_id NOT IN (SELECT alert_id FROM alerts_new)""")
    return alerts


def _digest(latest: dt.date, new: list[Alert], resolved: list[Alert],
            withheld: set[str]) -> tuple[str, str, str]:
    """Subject, plain text (zh then en) and robot markdown of one night's notices; names escaped for each
    format (plain text: nothing a mail client links; markdown: nothing forms a link, mention or emphasis),
    values of withheld cells as the symbol."""
    subject = f"集群运行监测预警 {latest:%Y-%m}：新增{len(new)}条，解除{len(resolved)}条 / cluster alerts"

    def lines(lang: str, escape: Callable[[Any], str]) -> list[str]:
        def msg(a: Alert) -> str:
            return a.text(lang, escape, a.alert_id in withheld)
        if lang == "zh":
            return ([f"【新增】[{a.severity}] {msg(a)}" for a in new]
                    + [f"【解除】{msg(a)}（{a.resolved_period:%Y-%m}起不再满足条件）" for a in resolved])
        return ([f"[new][{a.severity}] {msg(a)}" for a in new]
                + [f"[resolved] {msg(a)} (no longer holds from {a.resolved_period:%Y-%m})" for a in resolved])

    text = "\n".join(lines("zh", safe_text.plain_text) + ["", *lines("en", safe_text.plain_text)])
    # Robot markdown: each whole line is data (nothing in it is meant as markup), so names, file names and
    # the withheld symbol —* alike can form no link, mention or emphasis.
    markdown = "\n".join(f"- {safe_text.markdown_text(line)}" for line in lines("zh", str))
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
    subject, text, markdown = _digest(latest, new, resolved, withheld_ids(con, new + resolved, "internal"))
    ids: list[int] = []
    if cfg.get("delivery", {}).get("email", True) and settings.smtp_to:
        ids.append(deliver.enqueue_email(con, list(settings.smtp_to), subject, text))
    if cfg.get("delivery", {}).get("webhook", True) and settings.webhook_url:
        ids.append(deliver.enqueue_webhook(con, settings.webhook_url, deliver.robot_markdown(
            f"集群运行监测预警 {latest:%Y-%m}", markdown, settings.webhook_flavour)))
    if ids:
        for column, items in (("delivered_at", new), ("resolved_delivered_at", resolved)):
            for a in items:
                con.execute(f"UPDATE mart.alerts SET {column} = current_localtimestamp() WHERE alert_id = ?",
                            [a.alert_id])
    return new, resolved, ids


def evaluate_alerts(con: duckdb.DuckDBPyConnection, period: dt.date | None = None, reports_dir: Path = REPORTS_OUT,
                    settings: deliver.DeliverySettings | None = None, config_path: Path = CONFIG_PATH
                    ) -> AlertSummary:
    """Drift + threshold rules over every month up to `period` (default: the latest), upsert mart.alerts,
    queue notices for the latest month's new/resolved alerts. `con` is the night's read-write connection."""
    cfg = config(Path(config_path))
    run_sql(con, "alerts")
    deliver.ensure_outbox(con)
    months = _months(con)
    if not months:
        return AlertSummary(latest=None)
    latest = period or months[-1]
    rule = cfg["rules"]["data_drift"]
    drift_run = drift.run(con, _drift_periods(con, months, latest), latest, rule, cfg["drift"]["kinds"],
                          Path(reports_dir))
    cond = conditions(con, cfg, latest, drift_run.flags)
    alerts = upsert(con, episodes(cond, latest), cfg, latest)
    new, resolved, ids = notify(con, cfg, latest, alerts, settings or deliver.load_settings())
    return AlertSummary(latest=latest, alerts=alerts, new=[a for a in alerts if a.status == "new"],
                        resolved=[a for a in alerts if a.status == "resolved" and a.resolved_period == latest],
                        drift=drift_run, outbox_ids=ids)


def alerts_command(warehouse: Path, period: str | None = None, status: str | None = None) -> int:
    """`clusterwatch alerts [--period 2025-12] [--status new]`: print the alerts table (read-only)."""
    where, params = [], []
    if period:
        where.append("strftime(period, '%Y-%m') = ? OR strftime(resolved_period, '%Y-%m') = ?")
        params += [period[:7], period[:7]]
    if status:
        where.append("status = ?")
        params.append(status)
    sql = ("SELECT strftime(period, '%Y-%m') AS period, rule, subject, severity, status, "
           "strftime(resolved_period, '%Y-%m') AS resolved, message_zh FROM mart.alerts"
           + (" WHERE " + " AND ".join(f"({w})" for w in where) if where else "")
           + " ORDER BY period, rule, subject")
    if not Path(warehouse).exists():
        print(f"no warehouse at {warehouse}")
        return 1
    with connect_readonly(Path(warehouse)) as con:
        try:
            rows = con.execute(sql, params).fetchall()
        except duckdb.CatalogException:
            print("no alerts yet (mart.alerts does not exist: run the nightly flow first)")
            return 1
    header = ("period", "rule", "subject", "severity", "status", "resolved", "message")
    print("  ".join(f"{h:<{w}}" for h, w in zip(header, (7, 27, 24, 8, 9, 8, 0), strict=True)))
    for r in rows:
        print("  ".join(f"{safe_text.terminal_cell(v or '-'):<{w}}" for v, w in zip(r, (7, 27, 24, 8, 9, 8, 0),
                                                                                  strict=True)))
    print(f"{len(rows)} alerts")
    return 0
