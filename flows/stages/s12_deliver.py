"""Delivery: an outbox in the warehouse, sent by e-mail (SMTP) and group-robot webhooks (DingTalk / WeCom).

Why an outbox: the night writes alerts and reports inside its building transaction, but sending is a side
effect that may fail (mail server down, robot rate limit). Enqueueing is a plain INSERT into meta.outbox;
flush() sends what is pending with bounded retries and records the outcome on the row. Nothing is ever
deleted, so an item that could not be sent stays pending (or failed, with its attempts and last error) and
is retried by the next flush — it is delivered late, never lost. Shared by the alert stage and the report.

What was sent is first written to a small append-only log beside the warehouse (SentLog,
`<warehouse>.sent.jsonl`, fsynced per message, keyed by a message id derived from the content): the
outbox lives in the night's building copy, and a crash between sending and publishing must not send the
same message again. The log also lets a night with no new file (and `clusterwatch deliver`) flush the
published warehouse's outbox read-only, without rebuilding it. No secret enters the warehouse: a robot
row names its channel (e.g. `robot`), whose URL and signing secret come from the settings at send time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import mimetypes
import os
import smtplib
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import duckdb

from flows.support.settings import CONFIG_DIR
from flows.support.warehouse import connect_readonly, exclusive, run_sql

_LOG = logging.getLogger(__name__)

DEFAULT_CONFIG = CONFIG_DIR / "delivery.toml"
FLAVOURS = ("dingtalk", "wecom")
# Bytes of a robot markdown body each platform accepts (WeCom documents 4,096; DingTalk ≈20,000).
ROBOT_LIMITS = {"wecom": 4096, "dingtalk": 20000}
TRUNCATED = "\n…（内容过长已截断，详见邮件或报告 / truncated, see the e-mail or report）"


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
    smtp_max_message_mb: float = 20.0  # mail servers refuse larger messages (attachments travel base64-encoded)
    webhook_url: str = ""
    webhook_name: str = "robot"       # what the outbox stores instead of the URL (which carries the token)
    webhook_flavour: str = "dingtalk"
    webhook_secret: str = ""          # DingTalk 加签: sign every request with timestamp + HMAC-SHA256
    webhook_timeout_s: float = 10.0
    retry_attempts: int = 3
    retry_backoff_s: float = 1.0
    send_deadline_s: float = 60.0     # one send, connect + write + read, however slowly a server answers
    night_deadline_s: float = 600.0   # all sending of one flush; what is left waits for the next one


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
        smtp_max_message_mb=float(smtp.get("max_message_mb", 20)),
        webhook_url=str(pick("WEBHOOK_URL", hook.get("url", ""))),
        webhook_name=str(hook.get("name", "robot")),
        webhook_flavour=flavour,
        webhook_secret=str(pick("WEBHOOK_SECRET", hook.get("secret", ""))),
        webhook_timeout_s=float(hook.get("timeout_s", 10)),
        retry_attempts=max(1, int(retry.get("attempts", 3))),
        retry_backoff_s=float(retry.get("backoff_s", 1.0)),
        send_deadline_s=float(pick("SEND_DEADLINE_S", retry.get("send_deadline_s", 60))),
        night_deadline_s=float(pick("DELIVERY_DEADLINE_S", retry.get("night_deadline_s", 600))),
    )


def message_id(channel: str, recipient: str, subject: str | None, body: str, attachments: Sequence[str]) -> str:
    """A message's identity: the same content to the same recipient is the same message, sent once."""
    digest = hashlib.sha256()
    for part in (channel, recipient, subject or "", body, *[Path(a).name for a in attachments]):
        digest.update(part.encode("utf-8") + b"\x00")
    return digest.hexdigest()[:32]


def _insert(con: duckdb.DuckDBPyConnection, channel: str, recipient: str, subject: str | None, payload: dict,
            attachments: Sequence[Path]) -> int:
    body = json.dumps(payload, ensure_ascii=False)
    files = [str(p) for p in attachments]
    row = run_sql(con, "outbox_enqueue", {
        "channel": channel, "recipient": recipient, "subject": subject, "payload": body, "attachments": files,
        "message_id": message_id(channel, recipient, subject, body, files)}).fetchone()
    return int(row[0])


def enqueue_email(con: duckdb.DuckDBPyConnection, to: list[str], subject: str, text: str, html: str | None = None,
                  attachments: Sequence[Path] = ()) -> int:
    """Queue one e-mail (plain text, optional HTML alternative, file attachments); returns the outbox id."""
    if not to:
        raise ValueError("enqueue_email: no recipients")
    return _insert(con, "email", ",".join(to), subject, {"text": text, "html": html}, attachments)


def enqueue_webhook(con: duckdb.DuckDBPyConnection, channel: str, payload: dict) -> int:
    """Queue one JSON POST (e.g. a robot message built by robot_markdown) to a named robot channel; the
    URL (and its access_token) is looked up in the settings when sending and never stored."""
    if not channel:
        raise ValueError("enqueue_webhook: empty channel name")
    if "://" in channel:
        raise ValueError("enqueue_webhook: pass the robot's channel name, not its URL (the URL carries the token)")
    return _insert(con, "webhook", channel, payload.get("markdown", {}).get("title"), payload, ())


def _fit(text: str, limit: int) -> str:
    """text cut at a character boundary so that it and the truncation note fit in `limit` UTF-8 bytes."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(TRUNCATED.encode("utf-8"))
    return text.encode("utf-8")[:room].decode("utf-8", "ignore") + TRUNCATED


def robot_markdown(title: str, text: str, flavour: str = "dingtalk") -> dict:
    """A markdown message in the shape DingTalk (title + text) or WeCom (content) group robots accept,
    cut to the platform's size limit (a robot refuses a longer message outright)."""
    if flavour == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": _fit(f"**{title}**\n{text}", ROBOT_LIMITS[flavour])}}
    if flavour == "dingtalk":
        return {"msgtype": "markdown",
                "markdown": {"title": title, "text": _fit(f"#### {title}\n{text}", ROBOT_LIMITS[flavour])}}
    raise ValueError(f"unknown webhook flavour {flavour!r}")


def signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk 加签: append timestamp and sign = base64(HMAC-SHA256(secret, "timestamp\\nsecret"))."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


class SentLog:
    """Append-only record of sent message ids beside the warehouse, outside its building copy.

    One JSON line per sent message, flushed and fsynced before the outbox row is updated, so a crash right
    after sending never sends it again. A torn last line (a crash mid-write) is ignored.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def beside(cls, warehouse: Path) -> SentLog:
        return cls(Path(warehouse).with_name(Path(warehouse).name + ".sent.jsonl"))

    def sent(self) -> dict[str, str]:
        """message id → when it was sent."""
        out: dict[str, str] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[entry["message_id"]] = entry["sent_at"]
        return out

    def record(self, mid: str, channel: str, subject: str | None) -> None:
        entry = {"message_id": mid, "sent_at": datetime.now().isoformat(timespec="seconds"),
                 "channel": channel, "subject": subject}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


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


def _robot_url(settings: DeliverySettings, recipient: str) -> str:
    """The URL of a robot channel; rows queued before channels were named hold the URL itself."""
    if "://" in recipient:
        url = recipient
    elif recipient == settings.webhook_name and settings.webhook_url:
        url = settings.webhook_url
    else:
        raise NotConfigured(f"no URL configured for robot channel {recipient!r}")
    return signed_url(url, settings.webhook_secret) if settings.webhook_secret else url


def _send_webhook(settings: DeliverySettings, recipient: str, payload: dict) -> None:
    url = _robot_url(settings, recipient)
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


class DeadlineExceeded(RuntimeError):
    """A send did not finish within its total deadline (a server that drips bytes or never answers)."""


def _within(deadline_s: float, send: Callable[[], None]) -> None:
    """Run one send with a total deadline. Socket timeouts bound each read, not the sum of them, so the
    send runs in a daemon thread the night stops waiting for (its socket times out on its own)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            send()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name="clusterwatch-send", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if not outcome:
        raise DeadlineExceeded(f"no answer within {deadline_s:.0f} s")
    if outcome[0] is not None:
        raise outcome[0]


def flush(con: duckdb.DuckDBPyConnection, settings: DeliverySettings | None = None,
          sleep: Callable[[float], None] = time.sleep, log: SentLog | None = None) -> DeliveryReport:
    """Send every pending/failed item, each up to retry_attempts times with exponential backoff.

    With a SentLog, an item whose message id the log holds is not sent again (a crash came between its
    sending and the publish of the copy that recorded it), and every send is logged before the outbox row
    changes. On a read-only connection (a night without new files, `clusterwatch deliver`) only the log
    records sends; the next night's building copy takes them over. Each send has a total deadline, and
    the whole flush one too: what is left stays queued.
    """
    settings = settings or load_settings()
    writable = not _read_only(con)
    report = DeliveryReport()
    already = log.sent() if log else {}
    stop_at = time.monotonic() + settings.night_deadline_s
    items = run_sql(con, "outbox_due").fetchall()
    mids: list[str] = []
    for item_id, channel, recipient, subject, payload, attachments, mid in items:
        mid = mid or message_id(channel, recipient, subject, payload, list(attachments or []))
        mids.append(mid)
        if mid in already:
            if writable:
                run_sql(con, "outbox_sent", {"id": item_id, "sent_at": already[mid], "attempted": False})
            continue
        if time.monotonic() >= stop_at:
            _LOG.warning("outbox %d: the delivery deadline of %.0f s is reached; left queued", item_id,
                         settings.night_deadline_s)
            report.skipped.append(item_id)
            continue
        body = json.loads(payload)
        for attempt in range(1, settings.retry_attempts + 1):
            try:
                if channel == "email":
                    send = partial(_send_email, settings, recipient, subject, body, list(attachments or []))
                elif channel == "webhook":
                    send = partial(_send_webhook, settings, recipient, body)
                else:
                    raise ValueError(f"unknown channel {channel!r}")
                _within(min(settings.send_deadline_s, max(0.0, stop_at - time.monotonic())), send)
            except NotConfigured as exc:
                _LOG.warning("outbox %d (%s): %s; left pending", item_id, channel, exc)
                report.skipped.append(item_id)
                break
            except (OSError, smtplib.SMTPException, urllib.error.URLError, RuntimeError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                final = attempt == settings.retry_attempts or time.monotonic() >= stop_at
                if writable:
                    run_sql(con, "outbox_failed", {"id": item_id, "error": error, "final": final})
                _LOG.warning("outbox %d (%s → %s) attempt %d/%d failed: %s", item_id, channel, recipient,
                             attempt, settings.retry_attempts, error)
                if final:
                    report.failed.append(item_id)
                    break
                sleep(settings.retry_backoff_s * 2 ** (attempt - 1))
            else:
                if log:
                    log.record(mid, channel, subject)
                already[mid] = datetime.now().isoformat(timespec="seconds")   # a twin row later: same message
                if writable:
                    run_sql(con, "outbox_sent", {"id": item_id, "sent_at": already[mid], "attempted": True})
                _LOG.info("outbox %d (%s → %s) sent", item_id, channel, recipient)
                report.sent.append(item_id)
                break
    report.pending = sum(mid not in already for mid in mids)
    return report


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT current_setting('access_mode')").fetchone()[0] == "read_only"


def flush_published(warehouse: Path, settings: DeliverySettings | None = None) -> DeliveryReport:
    """Flush the published warehouse's outbox without rebuilding it (read-only; the sent log records what
    went out, and the next night's building copy takes the marks over). Under the warehouse lock, so a
    night and `clusterwatch deliver` never send the same message at once."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return DeliveryReport()
    with exclusive(warehouse), connect_readonly(warehouse) as con:
        return flush(con, settings or load_settings(), log=SentLog.beside(warehouse))


def send_notice(settings: DeliverySettings, subject: str, text: str) -> list[str]:
    """Send an operational notice (a failed night) now, through every configured channel, each within its
    send deadline; never raises (the night's own error is what matters). Returns one outcome per channel.

    Not queued: the outbox lives in the building copy the failed night is about to discard."""
    sends: list[tuple[str, Callable[[], None]]] = []
    if settings.smtp_host and settings.smtp_to:
        sends.append((f"e-mail {','.join(settings.smtp_to)}",
                      partial(_send_email, settings, ",".join(settings.smtp_to), subject, {"text": text}, [])))
    if settings.webhook_url:
        body = robot_markdown(subject, "\n".join(f"- {line}" for line in text.splitlines()[2:] if line),
                              settings.webhook_flavour)
        sends.append((f"robot {settings.webhook_name}", partial(_send_webhook, settings, settings.webhook_name, body)))
    outcomes = []
    for name, send in sends:
        try:
            _within(settings.send_deadline_s, send)
            outcomes.append(f"{name}: sent")
        except Exception as exc:  # noqa: BLE001 — a notice that cannot be sent is logged, never raised
            outcomes.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    return outcomes
