"""Delivery: an outbox in the warehouse, sent by e-mail (SMTP) and group-robot webhooks (DingTalk / WeCom).

Why an outbox: the night writes alerts and reports inside its building transaction, but sending is a side
effect that may fail (mail server down, robot rate limit). Enqueueing is a plain INSERT into meta.outbox;
flush() sends what is pending with bounded retries and records the outcome on the row. Nothing is ever
deleted, so an item that could not be sent stays pending (or failed, with its attempts and last error) and
is retried by the next flush — it is delivered late, never lost. Shared by the alert stage and the report.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import smtplib
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import duckdb

from flows.settings import ROOT
from flows.warehouse import run_sql

log = logging.getLogger(__name__)

DEFAULT_CONFIG = ROOT / "config" / "delivery.toml"
FLAVOURS = ("dingtalk", "wecom")


@dataclass(frozen=True)
class DeliverySettings:
    """Where and how to send; from config/delivery.toml, overridden by CLUSTERWATCH_* environment variables."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "clusterwatch@localhost"
    smtp_to: tuple[str, ...] = ()
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_s: float = 20.0
    webhook_url: str = ""
    webhook_flavour: str = "dingtalk"
    webhook_timeout_s: float = 10.0
    retry_attempts: int = 3
    retry_backoff_s: float = 1.0


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> DeliverySettings:
    """Settings from a TOML file (default config/delivery.toml or $CLUSTERWATCH_DELIVERY_CONFIG) and env."""
    env = dict(os.environ if env is None else env)
    path = Path(path or env.get("CLUSTERWATCH_DELIVERY_CONFIG") or DEFAULT_CONFIG)
    raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    smtp, hook, retry = raw.get("smtp", {}), raw.get("webhook", {}), raw.get("retry", {})

    def pick(name: str, value: object) -> object:
        return env.get(f"CLUSTERWATCH_{name}", value)

    to = pick("SMTP_TO", smtp.get("to", []))
    recipients = tuple(a.strip() for a in (to.split(",") if isinstance(to, str) else to) if a.strip())
    flavour = str(pick("WEBHOOK_FLAVOUR", hook.get("flavour", "dingtalk"))).lower()
    if flavour not in FLAVOURS:
        raise ValueError(f"webhook flavour {flavour!r}: expected one of {FLAVOURS}")
    return DeliverySettings(
        smtp_host=str(pick("SMTP_HOST", smtp.get("host", ""))),
        smtp_port=int(pick("SMTP_PORT", smtp.get("port", 25))),
        smtp_user=str(pick("SMTP_USER", smtp.get("user", ""))),
        smtp_password=str(pick("SMTP_PASSWORD", smtp.get("password", ""))),
        smtp_from=str(pick("SMTP_FROM", smtp.get("from", "clusterwatch@localhost"))),
        smtp_to=recipients,
        smtp_starttls=bool(smtp.get("starttls", False)),
        smtp_ssl=bool(smtp.get("ssl", False)),
        smtp_timeout_s=float(smtp.get("timeout_s", 20)),
        webhook_url=str(pick("WEBHOOK_URL", hook.get("url", ""))),
        webhook_flavour=flavour,
        webhook_timeout_s=float(hook.get("timeout_s", 10)),
        retry_attempts=max(1, int(retry.get("attempts", 3))),
        retry_backoff_s=float(retry.get("backoff_s", 1.0)),
    )


def ensure_outbox(con: duckdb.DuckDBPyConnection) -> None:
    """Create meta.outbox if missing (idempotent), so any stage can enqueue without ordering worries."""
    run_sql(con, "outbox")


def _insert(con: duckdb.DuckDBPyConnection, channel: str, recipient: str, subject: str | None, payload: dict,
            attachments: Sequence[Path]) -> int:
    ensure_outbox(con)
    row = con.execute(
        "INSERT INTO meta.outbox (channel, recipient, subject, payload, attachments) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        [channel, recipient, subject, json.dumps(payload, ensure_ascii=False), [str(p) for p in attachments]],
    ).fetchone()
    return int(row[0])


def enqueue_email(con: duckdb.DuckDBPyConnection, to: list[str], subject: str, text: str, html: str | None = None,
                  attachments: Sequence[Path] = ()) -> int:
    """Queue one e-mail (plain text, optional HTML alternative, file attachments); returns the outbox id."""
    if not to:
        raise ValueError("enqueue_email: no recipients")
    return _insert(con, "email", ",".join(to), subject, {"text": text, "html": html}, attachments)


def enqueue_webhook(con: duckdb.DuckDBPyConnection, url: str, payload: dict) -> int:
    """Queue one JSON POST (e.g. a robot message built by robot_markdown); returns the outbox id."""
    if not url:
        raise ValueError("enqueue_webhook: empty url")
    return _insert(con, "webhook", url, payload.get("markdown", {}).get("title"), payload, ())


def robot_markdown(title: str, text: str, flavour: str = "dingtalk") -> dict:
    """A markdown message in the shape DingTalk (title + text) or WeCom (content) group robots accept."""
    if flavour == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    if flavour == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": f"#### {title}\n{text}"}}
    raise ValueError(f"unknown webhook flavour {flavour!r}")


@dataclass
class DeliveryReport:
    """What one flush did; `pending` counts items still waiting after it (to be retried next time)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    pending: int = 0

    def __str__(self) -> str:
        return (f"{len(self.sent)} sent, {len(self.failed)} failed, {len(self.skipped)} not configured, "
                f"{self.pending} still waiting")


class NotConfigured(Exception):
    """The channel has no server configured; the item stays pending without counting an attempt."""


def _send_email(settings: DeliverySettings, recipient: str, subject: str, payload: dict,
                attachments: list[str]) -> None:
    if not settings.smtp_host:
        raise NotConfigured("no SMTP host")
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = recipient
    msg["Subject"] = subject or ""
    msg.set_content(payload.get("text") or "")
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html")
    for name in attachments:
        path = Path(name)
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    cls = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    with cls(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)


def _send_webhook(settings: DeliverySettings, url: str, payload: dict) -> None:
    req = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                 headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    with urllib.request.urlopen(req, timeout=settings.webhook_timeout_s) as resp:
        body = resp.read().decode("utf-8", "replace")
    # Robots answer HTTP 200 with an error code in the body (DingTalk/WeCom: errcode != 0).
    try:
        answer = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError:
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode", 0) not in (0, "0"):
        raise RuntimeError(f"robot refused: {body[:200]}")


def flush(con: duckdb.DuckDBPyConnection, settings: DeliverySettings | None = None,
          sleep=time.sleep) -> DeliveryReport:
    """Send every pending/failed item, each up to retry_attempts times with exponential backoff.

    The outcome is written on the row after every attempt, so a crash mid-flush loses nothing.
    """
    settings = settings or load_settings()
    ensure_outbox(con)
    report = DeliveryReport()
    items = con.execute(
        "SELECT id, channel, recipient, subject, payload, attachments FROM meta.outbox "
        "WHERE status IN ('pending', 'failed') ORDER BY id").fetchall()
    for item_id, channel, recipient, subject, payload, attachments in items:
        body = json.loads(payload)
        for attempt in range(1, settings.retry_attempts + 1):
            try:
                if channel == "email":
                    _send_email(settings, recipient, subject, body, list(attachments or []))
                elif channel == "webhook":
                    _send_webhook(settings, recipient, body)
                else:
                    raise ValueError(f"unknown channel {channel!r}")
            except NotConfigured as exc:
                log.warning("outbox %d (%s): %s; left pending", item_id, channel, exc)
                report.skipped.append(item_id)
                break
            except (OSError, smtplib.SMTPException, urllib.error.URLError, RuntimeError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                final = attempt == settings.retry_attempts
                con.execute(
                    "UPDATE meta.outbox SET attempts = attempts + 1, last_error = ?, status = ?, "
                    "last_attempt_at = current_localtimestamp() WHERE id = ?",
                    [error, "failed" if final else "pending", item_id])
                log.warning("outbox %d (%s → %s) attempt %d/%d failed: %s", item_id, channel, recipient,
                            attempt, settings.retry_attempts, error)
                if final:
                    report.failed.append(item_id)
                else:
                    sleep(settings.retry_backoff_s * 2 ** (attempt - 1))
            else:
                con.execute(
                    "UPDATE meta.outbox SET attempts = attempts + 1, status = 'sent', last_error = NULL, "
                    "last_attempt_at = current_localtimestamp(), sent_at = current_localtimestamp() WHERE id = ?",
                    [item_id])
                log.info("outbox %d (%s → %s) sent", item_id, channel, recipient)
                report.sent.append(item_id)
                break
    report.pending = int(con.execute(
        "SELECT count(*) FROM meta.outbox WHERE status IN ('pending', 'failed')").fetchone()[0])
    return report
