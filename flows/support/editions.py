"""Editions of the monthly report: sent once per period, again only when its numbers changed (修订版).

Every night that loads a file re-renders the latest month's report; mailing it each time would bury the
officials' inbox in identical reports. The numbers a report publishes are its table CSVs, so an edition
is identified by their content: the same numbers are never sent twice, and changed numbers go out as a
revision that names the rows (clusters, provinces) whose values changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.support.warehouse import run_sql

MAX_NAMED = 12   # rows named in a revision note; the rest are counted


@dataclass(frozen=True)
class Edition:
    """The edition a rendered report would be, and what changed against the last one sent."""

    number: int
    content_hash: str
    tables: dict[str, list[str]]
    changed: list[str]          # labels of the rows whose numbers changed (empty for a first edition)

    @property
    def is_revision(self) -> bool:
        return self.number > 1

    def note(self, lang: str) -> str:
        """The sentence a revision's e-mail carries."""
        shown = "、".join(self.changed[:MAX_NAMED]) if lang == "zh" else ", ".join(self.changed[:MAX_NAMED])
        more = len(self.changed) - MAX_NAMED
        if lang == "zh":
            return (f"本期报告第{self.number}版（修订版）：与上次发送的版本相比，以下{len(self.changed)}行数字有变化："
                    f"{shown}{f' 等（另有{more}行）' if more > 0 else ''}。")
        return (f"Edition {self.number} (revised): the figures of {len(self.changed)} rows changed since the last "
                f"edition sent: {shown}{f' and {more} more' if more > 0 else ''}.")


def _tables(paths: list[Path]) -> dict[str, list[str]]:
    """The report's table CSVs by kind (the suffix after the period stem), as lines."""
    return {p.stem.rsplit("_", 1)[-1]: p.read_text(encoding="utf-8").splitlines() for p in sorted(paths)}


def _changed_rows(old: dict[str, list[str]], new: dict[str, list[str]]) -> list[str]:
    """Labels (first identifying columns) of rows that differ, in the new edition's order."""
    out = []
    for kind, lines in new.items():
        before = set(old.get(kind, []))
        for line in lines[1:]:
            if line not in before:
                cells = line.split(",")
                out.append(cells[2] if kind == "clusters" and len(cells) > 2 else cells[1] if len(cells) > 1
                           else line[:40])
    return out


def next_edition(con: duckdb.DuckDBPyConnection, period: object, lang: str, audience: str, scope: str,
                 tables: list[Path]) -> Edition | None:
    """The edition to send for this rendering, or None when the last edition sent has the same numbers."""
    content = _tables(tables)
    digest = hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    last = run_sql(con, "report_edition_last", {"period": period, "lang": lang, "audience": audience,
                                                "scope": scope}).fetchone()
    if last is None:
        return Edition(1, digest, content, [])
    if last[1] == digest:
        return None
    return Edition(last[0] + 1, digest, content, _changed_rows(json.loads(last[2]), content))


def record(con: duckdb.DuckDBPyConnection, period: object, lang: str, audience: str, scope: str, edition: Edition,
           outbox_id: int) -> None:
    run_sql(con, "report_edition_record", {
        "period": period, "lang": lang, "audience": audience, "scope": scope, "edition": edition.number,
        "content_hash": edition.content_hash, "tables": json.dumps(edition.tables, ensure_ascii=False),
        "outbox_id": outbox_id})
