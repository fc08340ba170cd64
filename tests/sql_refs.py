"""What a SQL file references, read from its text: the tables and views it reads and writes, and what its header
declares (`-- reads:`, `-- writes:`, `-- registered:`). Used by tests/test_sql_files.py."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"([a-z_{][a-z0-9_.{}]*)"
# Comments, string literals and $parameters, in one pass (an apostrophe in a comment starts no string).
_NOISE = re.compile(r"--[^\n]*|'(?:[^']|'')*'|\$[a-z_][a-z0-9_]*", re.IGNORECASE)
_CTE = re.compile(r"(?:\bwith|,)\s+(?:recursive\s+)?([a-z_][a-z0-9_]*)\s+as\s*(?:not\s+)?(?:materialized\s+)?\(")
_CREATE = re.compile(r"\bcreate\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:table|view|macro|sequence)\s+"
                     r"(?:if\s+not\s+exists\s+)?" + _NAME)
_WRITE = [
    _CREATE,
    re.compile(r"\binsert\s+(?:or\s+replace\s+|or\s+ignore\s+)?into\s+" + _NAME),
    re.compile(r"(?<!\bdo )(?<!\bthen )\bupdate\s+" + _NAME + r"(?=\s)"),  # not DO UPDATE SET, MERGE's THEN UPDATE SET
    re.compile(r"\bmerge\s+into\s+" + _NAME),
    re.compile(r"\bdelete\s+from\s+" + _NAME),
    re.compile(r"\bdrop\s+(?:table|view|macro)\s+(?:if\s+exists\s+)?" + _NAME),
    re.compile(r"\balter\s+table\s+" + _NAME),
    re.compile(r"\bcomment\s+on\s+(?:table|view|column)\s+" + _NAME),
]
_READ = re.compile(r"\b(?:from|join|using)\s+" + _NAME + r"(\s*\()?")
# A table function or scalar function after FROM (unnest, range, …) is not a table; a table macro a file made is.
_KEYWORDS = {"select", "lateral", "values", "unnest"}


def _clean(sql: str) -> str:
    return _NOISE.sub(lambda m: "''" if m.group(0).startswith("'") else " ", sql).lower()


def _table(name: str) -> str:
    """schema.table of a name that may carry a column (COMMENT ON COLUMN s.t.c)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else name


@dataclass(frozen=True)
class References:
    reads: frozenset[str]
    writes: frozenset[str]
    creates: frozenset[str]


def references(sql: str, macros: set[str] = frozenset()) -> References:
    """The tables, views and macros a SQL text reads and writes (CTEs, and what it creates itself, are not reads)."""
    text = _clean(sql)
    ctes = set(_CTE.findall(text))
    creates = {_table(m) for m in _CREATE.findall(text)}
    writes = {_table(m) for pattern in _WRITE for m in pattern.findall(text)}
    # "delete from x" and "… using x" of a DELETE name the written table, not a read
    reading = re.sub(r"\b(?:delete|distinct)\s+from\s+", "_ ", text)
    reads = set()
    for name, call in _READ.findall(reading):
        if name in _KEYWORDS or name in ctes or (call and name not in macros):
            continue
        if "." not in name and name.startswith("using"):
            continue
        reads.add(_table(name))
    return References(frozenset(reads - creates), frozenset(writes), frozenset(creates))


_DECLARED = re.compile(r"^--\s*(reads|writes|registered):\s*(.*)$")


def declarations(sql: str) -> dict[str, frozenset[str]]:
    """The header's declarations: {'reads': …, 'writes': …, 'registered': …}; a key continues on the following
    comment lines that are indented deeper than `--`."""
    out: dict[str, list[str]] = {}
    key = None
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        match = _DECLARED.match(line)
        if match:
            key = match.group(1)
            out[key] = [match.group(2)]
        elif key and re.match(r"^--\s{2,}\S", line):
            out[key].append(line[2:])
        else:
            key = None
    result = {}
    for k, parts in out.items():
        text = re.sub(r"\([^)]*\)", "", " ".join(parts))   # notes in parentheses
        result[k] = frozenset(t.strip().lower() for t in text.split(",") if t.strip())
    return result
