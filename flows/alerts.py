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
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from flows import deliver, drift
from flows.settings import REPORTS_OUT
from flows.warehouse import connect_readonly, run_sql, sql_text

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
                open_ep.update(resolved=row.period, resolved_ev=row.evidence)
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


def month_text(period: dt.date, lang: str) -> str:
    """A month as a reader writes it: 2025年12月 / December 2025."""
    return f"{period.year}年{period.month}月" if lang == "zh" else f"{period:%B %Y}"


def _column_names(columns: str, lang: str) -> str:
    """Source columns (output,revenue) as words: 工业总产值、营业收入 / gross industrial output, revenue."""
    from flows.contract import KINDS

    known = {c.name: c for kind in KINDS.values() for c in kind.columns}
    names = [known[c].zh if lang == "zh" else (known[c].en or c.replace("_", " ")) if c in known else c
             for c in (x.strip() for x in columns.split(",")) if c]
    return ("、" if lang == "zh" else ", ").join(names)


def _message(rule_cfg: dict, ep: dict, names: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The alert in words (zh, en), quoting the current month's value and its baseline: the latest month the
    rule held, or for a resolved episode the month it stopped holding."""
    resolved = ep.get("resolved") is not None
    ev = {k: v for k, v in (ep["resolved_ev"] if resolved else ep["last_ev"]).items() if v is not None}
    month = ep["resolved"] if resolved else ep["last"]
    zh_name, en_name = names.get(ep["cluster_id"] or "", (ep["subject"], ep["subject"]))
    out = []
    for lang, name in (("zh", zh_name), ("en", en_name)):
        values = {"subject": ep["subject"], **rule_cfg, **ev, "period": month_text(month, lang), "cluster_name": name}
        if ep["rule"] == "data_drift":
            n = int(ev.get("n_unit_jump_x10", 0))
            drifted = (ev.get("columns") or ep["last_ev"].get("columns") or ep["first_ev"].get("columns")
                       or ev.get("kinds", ""))
            values["columns"] = _column_names(str(drifted), lang)
            values["unit_note_zh"] = f"；{n}家企业数值约为此前的10倍，疑似计量单位错误" if n else ""
            values["unit_note_en"] = (f"; {n} firms report about 10 times their earlier values (a unit slip?)"
                                      if n else "")
        template = rule_cfg.get(f"resolved_{lang}") if resolved else None
        out.append(_fmt(template or rule_cfg[f"message_{lang}"], values))
    return out[0], out[1]


def rule_name(rule: str, lang: str) -> str:
    """The rule's name in the reader's language (flows/alerts.toml)."""
    return config()["rules"][rule][f"name_{lang}"]


def severity_name(severity: str, lang: str) -> str:
    """info / warning / critical in the reader's language (flows/alerts.toml [severity])."""
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
    has_en = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'clusters' "
                         "AND column_name = 'cluster_name_en'").fetchone()[0]
    en = "nullif(trim(cluster_name_en), '')" if has_en else "NULL"
    return {r[0]: (r[1], r[2] or r[1]) for r in con.execute(
        f"SELECT cluster_id, cluster_name, {en} FROM core.clusters").fetchall()}


def upsert(con: duckdb.DuckDBPyConnection, eps: list[dict], cfg: dict, latest: dt.date) -> list[Alert]:
    """Write the episodes into mart.alerts (same id → update), withdraw ids no longer supported by the data."""
    names = cluster_names(con)
    alerts: list[Alert] = []
    for ep in eps:
        rule_cfg = cfg["rules"][ep["rule"]]
        zh, en = _message(rule_cfg, ep, names)
        resolved = ep["resolved"]
        if ep["rule"] in EVENT_RULES and resolved is None and ep["start"] < latest:
            resolved = drift._months_back(ep["start"], -1)
        alerts.append(Alert(
            alert_id=_alert_id(ep["rule"], ep["subject"], ep["start"]), rule=ep["rule"], subject=ep["subject"],
            cluster_id=ep["cluster_id"] if isinstance(ep["cluster_id"], str) else None, period=ep["start"],
            last_period=ep["last"], resolved_period=resolved, status=_status(ep, latest),
            severity=rule_cfg.get("severity", "warning"), message_zh=zh, message_en=en,
            evidence={"start": ep["first_ev"], "latest": ep["last_ev"], "months": ep["months"]}))
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


STATE_NAMES = {"zh": {"new": "新增", "ongoing": "持续", "resolved": "解除"},
               "en": {"new": "new", "ongoing": "ongoing", "resolved": "resolved"}}


def listing_line(row: dict, lang: str) -> str:
    """One alert of a month's listing as a line: state, severity, rule and the message."""
    state = STATE_NAMES[lang][row["state"]]
    head = (f"【{state}】{severity_name(row['severity'], lang)}｜{rule_name(row['rule'], lang)}：" if lang == "zh"
            else f"[{state}] {severity_name(row['severity'], lang)} | {rule_name(row['rule'], lang)}: ")
    return head + row[f"message_{lang}"]


def _digest(latest: dt.date, listing: list[dict]) -> tuple[str, str, str]:
    """Subject, plain text (zh then en) and markdown of the month's alerts: every new, ongoing and resolved
    episode (month_listing, the same list as the report and `clusterwatch alerts --period`), pointing at the
    month's report for the rest. No firm-level figures."""
    count = {state: sum(1 for r in listing if r["state"] == state) for state in STATES}
    subject = (f"集群运行监测预警 {month_text(latest, 'zh')}：新增{count['new']}条，持续{count['ongoing']}条，"
               f"解除{count['resolved']}条 / cluster alerts {month_text(latest, 'en')}")
    lines = [listing_line(r, "zh") for r in listing]
    lines_en = [listing_line(r, "en") for r in listing]
    refer_zh = f"详见《产业集群运行监测月报》（{month_text(latest, 'zh')}）第五部分“预警情况”。"
    refer_en = (f"See section 5, Alerts, of the Industrial Cluster Monitoring Report for "
                f"{month_text(latest, 'en')}.")
    text = "\n".join([*lines, refer_zh, "", *lines_en, refer_en])
    markdown = "\n".join([*(f"- {line}" for line in lines), "", refer_zh])
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
    subject, text, markdown = _digest(latest, month_listing(con, latest))
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


def alerts_command(warehouse: Path, period: str | None = None, status: str | None = None,
                   lang: str = "zh") -> int:
    """`clusterwatch alerts [--period 2025-12] [--status new]`: print alerts (read-only).

    With --period: the month's listing (new, ongoing, resolved), the same as the report and the digest; else
    every episode in history with its status as of the latest month."""
    if not Path(warehouse).exists():
        print(f"no warehouse at {warehouse}")
        return 1
    if period:
        from flows.maps import parse_period

        with connect_readonly(Path(warehouse)) as con:
            try:
                listing = month_listing(con, parse_period(period))
            except duckdb.CatalogException:
                print("no alerts yet (mart.alerts does not exist: run the nightly flow first)")
                return 1
        shown = [r for r in listing if status in (None, r["state"])]
        for row in shown:
            print(listing_line(row, lang))
        print(f"{len(shown)} alerts" if lang == "en" else f"共{len(shown)}条")
        return 0
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    sql = ("SELECT strftime(period, '%Y-%m') AS period, rule, subject, severity, status, "
           "strftime(resolved_period, '%Y-%m') AS resolved, message_zh FROM mart.alerts"
           + (" WHERE " + " AND ".join(f"({w})" for w in where) if where else "")
           + " ORDER BY period, rule, subject")
    with connect_readonly(Path(warehouse)) as con:
        try:
            rows = con.execute(sql, params).fetchall()
        except duckdb.CatalogException:
            print("no alerts yet (mart.alerts does not exist: run the nightly flow first)")
            return 1
    header = ("period", "rule", "subject", "severity", "status", "resolved", "message")
    print("  ".join(f"{h:<{w}}" for h, w in zip(header, (7, 27, 24, 8, 9, 8, 0), strict=True)))
    for r in rows:
        print("  ".join(f"{str(v or '-'):<{w}}" for v, w in zip(r, (7, 27, 24, 8, 9, 8, 0), strict=True)))
    print(f"{len(rows)} alerts")
    return 0
