"""The layout of a delivered table: where its header is, what each column is, in which unit and basis.

Real exports (一套表 / 联网直报, tax offices' 亩均 data, 名录) put more than a header row above their data: title
lines (`单位：千元`), a two-level header (工业总产值 over `本月 | 1-本月累计 | 上年同期 | 增长%`), a units row
(`千元 | 千元 | 人`), the column-number row of statistical forms (`甲 | 乙 | 1 | 2`). This module reads the top
of a sheet (as text) and decides, for every source column, its canonical column, basis, unit and whether it
is loaded — or refuses the file (FileRejected) where that cannot be decided without guessing. The decision
for every column is kept (SourceColumn) so the file's header report can show it.

Words are data: flows/registry/vocabulary.toml (aliases, basis and unit words, qualifiers) and config/sources.toml
(per-source defaults by file-name pattern).
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from flows.support.contract import CANONICAL_UNIT, UNITS, VOCABULARY, Column, Kind
from flows.support.settings import CONFIG_DIR

SOURCES_FILE = Path(os.environ.get("CLUSTERWATCH_SOURCES_CONFIG", CONFIG_DIR / "sources.toml"))
HEADER_SEARCH_ROWS = 30


class FileRejected(Exception):
    """The file as a whole cannot be used.

    .reason is a stable code (not_a_table, unreadable_file, missing_columns, empty_file, unknown_unit,
    ambiguous_unit, ambiguous_column, ambiguous_basis); .message a readable zh/en sentence naming the file
    (and the columns).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def norm(text: object) -> str:
    """Normalise a header, unit or label for lookup: NFKC (full-width → ASCII), 【】→[], no spaces or '*'."""
    t = unicodedata.normalize("NFKC", str(text)).replace("【", "[").replace("】", "]")
    t = t.replace("“", '"').replace("”", '"').replace("—", "-").replace("–", "-").replace("~", "-")
    return re.sub(r"\s+", "", t).strip("*").lower()


# --------------------------------------------------------------------------------------------- vocabulary

@dataclass(frozen=True)
class Source:
    """Per-source settings from config/sources.toml: defaults for files whose name matches a pattern."""

    pattern: str = "*"
    units: dict[str, str] = field(default_factory=dict)        # unit family → unit (money = "千元")
    basis: str | None = None                                    # month | ytd
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)   # canonical column → extra headers


@cache
def _sources() -> tuple[Source, ...]:
    if not SOURCES_FILE.exists():
        return ()
    data = tomllib.loads(SOURCES_FILE.read_text(encoding="utf-8"))
    out = []
    for entry in data.get("source", []):
        basis = entry.get("basis")
        if basis not in (None, "month", "ytd"):
            raise ValueError(f"{SOURCES_FILE}: basis must be 'month' or 'ytd', not {basis!r}")
        units = dict(entry.get("units", {}))
        for fam, unit in units.items():
            if fam not in UNITS or unit not in UNITS[fam]:
                raise ValueError(f"{SOURCES_FILE}: unknown {fam} unit {unit!r} for {entry.get('pattern')}")
        out.append(Source(entry.get("pattern", "*"), units, basis,
                          {k: tuple(v) for k, v in entry.get("aliases", {}).items()}))
    return tuple(out)


def source_settings(file_name: str) -> Source:
    """The merged settings of every [[source]] whose pattern matches the file name (later entries win)."""
    units: dict[str, str] = {}
    aliases: dict[str, tuple[str, ...]] = {}
    basis = None
    for s in _sources():
        if fnmatch.fnmatch(file_name.lower(), s.pattern.lower()):
            units |= s.units
            basis = s.basis or basis
            for k, v in s.aliases.items():
                aliases[k] = aliases.get(k, ()) + v
    return Source(file_name, units, basis, aliases)


def name_lookup(kind: Kind, source: Source | None = None) -> dict[str, tuple[Column, bool]]:
    """Normalised header → (column, is the contract's own name); aliases from the vocabulary and config."""
    names: dict[str, tuple[Column, bool]] = {}
    for col in kind.columns:
        for n in (col.name, col.zh):
            names.setdefault(norm(n), (col, True))
    for col in kind.columns:
        extra = source.aliases.get(col.name, ()) if source else ()
        for n in (*kind.aliases(col.name), *extra):
            names.setdefault(norm(n), (col, False))
    return names


def _words(section: str, key: str) -> set[str]:
    return {norm(w) for w in VOCABULARY.get(section, {}).get(key, [])}


BASIS_MONTH = _words("basis", "month")
BASIS_YTD = _words("basis", "ytd")
BASIS_COMPARE = _words("basis", "compare")
_YTD_PATTERNS = [re.compile(p) for p in VOCABULARY["basis"].get("ytd_patterns", [])]
_COMPARE_WORDS = tuple(norm(w) for w in VOCABULARY["basis"].get("compare_patterns", []))
INFORMATIONAL = _words("informational", "headers")
PERIOD_PREFIXES = tuple(VOCABULARY["period_lines"]["prefixes"])
QUALIFIER_SAME = _words("qualifiers", "same")
QUALIFIER_OTHER = _words("qualifiers", "other")
OTHER_UNITS = _words("unit_lines", "other_units")
COLUMN_MARKS = _words("unit_lines", "column_number_marks")
# the words that open a unit statement (`单位：`, `金额单位：` …), longest first so 金额单位 is not read as 单位
UNIT_PREFIXES = tuple(sorted(VOCABULARY["unit_lines"]["prefixes"], key=len, reverse=True))
_UNIT_PREFIX = "|".join(map(re.escape, UNIT_PREFIXES))
UNIT_OF = {norm(u): (fam, u) for fam, table in UNITS.items() for u in table}


def basis_of(label: object) -> str | None:
    """`本月` → month, `1-本月累计` / `1-6月` → ytd, `上年同期` / `增长%` → compare; None for anything else."""
    if label is None:
        return None
    t = norm(label)
    if not t:
        return None
    if t in BASIS_MONTH:
        return "month"
    if t in BASIS_YTD or any(p.match(t) for p in _YTD_PATTERNS):
        return "ytd"
    if t in BASIS_COMPARE or any(w in t for w in _COMPARE_WORDS):
        return "compare"
    return None


def unit_of(label: object) -> tuple[str, str] | None:
    """(family, unit) of a money/land/energy unit word; ('other', word) of 人, 个, % …; None otherwise."""
    t = re.sub(rf"^(?:{_UNIT_PREFIX})[:：]", "", norm(label)).removeprefix("人民币")
    if t in UNIT_OF:
        return UNIT_OF[t]
    if t in OTHER_UNITS:
        return "other", t
    return None


_UNIT_LINE = re.compile(rf"({_UNIT_PREFIX})[:：]\s*([^\s，,;；)）\]】]+)")
_NOT_UNIT_LINE = ("填报", "报送", "制表", "统计", "详细", "企业", "调查", "填表", "报告")


def unit_line_units(text: str) -> list[tuple[str, str, str]]:
    """Units stated in a title line: `单位：千元` → [('money', '千元', '单位：千元')]; ('?', word, …) if unknown.

    `填报单位：XX公司` names who reports, not a unit, and is skipped.
    """
    out = []
    for m in _UNIT_LINE.finditer(unicodedata.normalize("NFKC", str(text))):
        before = m.string[: m.start()]
        if m.group(1) == "单位" and before.endswith(_NOT_UNIT_LINE):
            continue
        for word in re.split(r"[、/／]", m.group(2)):
            if not word:
                continue
            u = unit_of(word)
            out.append((u[0], u[1], m.group(0)) if u else ("?", word, m.group(0)))
    return out


# --------------------------------------------------------------------------------------------- header cells

_GROUP = re.compile(r"^(?P<name>.+?)[(\[](?P<group>[^()\[\]]*)[)\]]$")


@dataclass
class HeaderText:
    """One header cell taken apart: the name that matched a column and the bracketed words after it."""

    column: Column | None
    canonical_name: bool = False       # matched the contract's own name (wins over an alias)
    units: list[tuple[str, str]] = field(default_factory=list)
    basis: str | None = None
    other: str | None = None           # a qualifier that makes it another measure (可比价)
    unknown: list[str] = field(default_factory=list)


def read_header(text: object, names: dict[str, tuple[Column, bool]]) -> HeaderText:
    """Match a header cell: whole text, then with trailing bracket groups (units, qualifiers, basis) removed."""
    if text is None or not str(text).strip():
        return HeaderText(None)
    h = norm(text)
    groups: list[str] = []
    while True:
        if h in names:
            col, own = names[h]
            break
        prefix_basis = _strip_basis_prefix(h, names)
        if prefix_basis:
            (col, own), basis = prefix_basis
            groups.insert(0, basis)
            break
        m = _GROUP.match(h)
        if not m:
            return HeaderText(None)
        groups.insert(0, m.group("group"))
        h = m.group("name")
    out = HeaderText(col, own)
    for g in groups:
        if (u := unit_of(g)) is not None:
            out.units.append(u)
        elif (b := basis_of(g)) is not None:
            out.basis = b
        elif g in QUALIFIER_SAME or not g:
            continue
        elif g in QUALIFIER_OTHER:
            out.other = g
        else:
            out.unknown.append(g)
    return out


_BASIS_WORDS = tuple(w for w in (*BASIS_MONTH, *BASIS_YTD) if len(w) >= 2)   # a basis word a header may carry


def _strip_basis_prefix(h: str, names: dict) -> tuple[tuple[Column, bool], str] | None:
    """`本年累计工业总产值` / `工业总产值本月` → the column and the basis word."""
    if not (h.startswith(_BASIS_WORDS) or h.endswith(_BASIS_WORDS)):   # most cells (data rows of the header search)
        return None
    for word in _BASIS_WORDS:
        if h.startswith(word) and h[len(word):] in names:
            return names[h[len(word):]], word
        if h.endswith(word) and h[: -len(word)] in names:
            return names[h[: -len(word)]], word
    return None


def score(row: list, names: dict) -> int:
    """How many distinct kind columns a candidate header row names."""
    return len({c.column.name for c in (read_header(v, names) for v in row) if c.column is not None})


def find_header(rows: list[list], names: dict) -> int | None:
    """First row naming at least two kind columns; else the best row naming one; else None."""
    scores = [score(r, names) for r in rows]
    for i, s in enumerate(scores):
        if s >= 2:
            return i
    if scores and max(scores) >= 1:
        return scores.index(max(scores))
    return None


# --------------------------------------------------------------------------------------------- layout

@dataclass
class SourceColumn:
    """What became of one column of the file: the header report's row (meta.file_columns)."""

    position: int                 # 1-based, as the user counts columns
    header: str                   # as written; two-level headers as `工业总产值 / 本月`
    field: str                    # the column's name in the raw frame (unique)
    column: str | None = None     # canonical column, when recognised
    basis: str | None = None      # month | ytd | compare, from a sub-column or the header
    unit: str | None = None       # the unit the values are in (canonical unit when none was stated)
    unit_source: str | None = None  # header | units_row | title_line | config | contract_default
    factor: float = 1.0
    status: str = "ignored"       # loaded | cross_check | not_loaded | ignored | info (row numbers, names)
    note: str = ""                # why, for everything but a plain loaded column (zh / en)
    value: str | None = None      # a constant every row takes (a period stated in a title line): not in the data


STATUS_TEXT = {"loaded": "读取", "cross_check": "核对", "not_loaded": "未读取", "ignored": "忽略", "info": "说明列"}
TITLE_PERIOD_FIELD = "__title_period"


def report_lines(columns: list[SourceColumn]) -> list[str]:
    """The header report as `clusterwatch check` prints it: one line per source column."""
    lines = []
    for c in columns:
        target = c.column or "—"
        extra = []
        if c.basis:
            extra.append({"month": "本月 month", "ytd": "累计 ytd", "compare": "对照 comparison"}[c.basis])
        if c.unit and c.status in ("loaded", "cross_check"):
            extra.append(f"{c.unit} ({c.unit_source}) ×{c.factor:g}")
        line = f"  col {c.position:>2} {c.header!r} → {target} [{c.status} {STATUS_TEXT[c.status]}]"
        if extra:
            line += " " + ", ".join(extra)
        if c.note:
            line += f" — {c.note}"
        lines.append(line)
    return lines


def columns_rows(columns: list[SourceColumn]) -> list[dict]:
    """The header report as rows of meta.file_columns (without file_id)."""
    return [{"position": c.position, "source_header": c.header, "column_name": c.column, "basis": c.basis,
             "unit": c.unit, "unit_source": c.unit_source, "factor": c.factor, "status": c.status,
             "note": c.note or None} for c in columns]


@dataclass
class Layout:
    """Where the data of a sheet starts and what each of its columns is."""

    header_row: int               # index (in the grid) of the header row naming the columns
    data_start: int               # index of the first data row
    columns: list[SourceColumn]
    file_basis: str | None        # month | ytd when sub-columns or config fix it for every row
    title_lines: list[str]
    skipped_header_rows: dict[str, int]

    @property
    def fields(self) -> list[str]:
        """The raw frame's names for the columns that are in the data (not the constants of title lines)."""
        return [c.field for c in self.columns if c.value is None]

    @property
    def header_map(self) -> dict[str, str]:
        """raw field → canonical column, for the loaded columns."""
        return {c.field: c.column for c in self.columns if c.status == "loaded" and c.column}

    @property
    def units(self) -> dict[str, str]:
        return {c.column: c.unit for c in self.columns if c.status == "loaded" and c.column and c.unit}

    @property
    def factors(self) -> dict[str, float]:
        return {c.column: c.factor for c in self.columns if c.status == "loaded" and c.column}

    def cross_checks(self) -> dict[str, SourceColumn]:
        """canonical measure → its year-to-date column, where a file carries both 本月 and 累计."""
        return {c.column: c for c in self.columns if c.status == "cross_check" and c.column}


def _text(v: object) -> str:
    return "" if v is None else str(v).strip()


def _filled(row: list) -> list[int]:
    return [j for j, v in enumerate(row) if _text(v)]


def _basis_row(row: list) -> bool:
    """A row of sub-column labels: every filled cell a basis word, at least one of them."""
    cells = [v for v in row if _text(v)]
    return bool(cells) and all(basis_of(v) for v in cells)


def _units_row(row: list) -> bool:
    """A row of units under the header: every filled cell a unit word (or `计量单位`), at least one."""
    cells = [norm(v) for v in row if _text(v)]
    return bool(cells) and all(c in UNIT_PREFIXES or unit_of(c) is not None for c in cells) \
        and any(unit_of(c) is not None for c in cells)


def _column_number_row(row: list) -> bool:
    """The 栏次 row of statistical forms: 甲 乙 丙 … and 1 2 3 …."""
    cells = [norm(v) for v in row if _text(v)]
    return bool(cells) and any(c in COLUMN_MARKS for c in cells) \
        and all(c in COLUMN_MARKS or re.fullmatch(r"\d{1,3}(\.0)?", c) or c == "栏次" for c in cells)


def _forward_fill(row: list, where: list[bool]) -> list[str]:
    """Merged cells arrive as one value and blanks: carry a value right over the blanks where asked."""
    out, last = [], ""
    for v, fill in zip(row, where, strict=True):
        t = _text(v)
        if t:
            last = t
            out.append(t)
        else:
            out.append(last if fill else "")
    return out


def find_layout(rows: list[list], kind: Kind, file_name: str) -> Layout | None:
    """The layout of a sheet from its first rows (text cells); None when no row names a column of the kind."""
    source = source_settings(file_name)
    names = name_lookup(kind, source)
    head = rows[:HEADER_SEARCH_ROWS]
    h = find_header(head, names)
    if h is None:
        return None
    width = max(len(r) for r in head)
    grid = [list(r) + [None] * (width - len(r)) for r in head]
    top = grid[h]
    sub: list[str] = [""] * width
    nxt = h + 1
    if nxt < len(grid) and _basis_row(grid[nxt]):
        # two-level header: the indicator cell spans its sub-columns (merged: value once, then blanks)
        labels = [_text(v) for v in grid[nxt]]
        top = _forward_fill(top, [bool(lbl) for lbl in labels])
        sub = labels
        nxt += 1
    elif h > 0 and _basis_row(grid[h - 1]):
        # the basis row above the indicator names (`本月` spanning 工业总产值, 营业收入 …)
        above = grid[h - 1]
        first = min(_filled(above))
        sub = _forward_fill(above, [j >= first for j in range(width)])
        sub = [s if _text(top[j]) else "" for j, s in enumerate(sub)]
    units_row: list[str] = [""] * width
    skipped = {"units_rows": 0, "column_number_rows": 0}
    for _ in range(2):  # a units row and a 栏次 row, in either order
        if nxt < len(grid) and _units_row(grid[nxt]):
            units_row = [_text(v) for v in grid[nxt]]
            skipped["units_rows"] += 1
            nxt += 1
        elif nxt < len(grid) and _column_number_row(grid[nxt]):
            skipped["column_number_rows"] += 1
            nxt += 1
    title_lines = [_text(v) for r in grid[: h] for v in r if _text(v)]
    columns = _columns(kind, top, sub, units_row, title_lines, names, source, file_name)
    _title_period(columns, kind, title_lines, file_name)
    basis = _file_basis(columns, source)
    check_required(columns, kind, file_name)
    return Layout(h, nxt, columns, basis, title_lines, skipped)


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, n in enumerate(names):
        name = n or f"column_{i + 1}"
        base, k = name, 1
        while name in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name)
        out.append(name)
    return out


def _reject(reason: str, file_name: str, zh: str, en: str) -> FileRejected:
    return FileRejected(reason, f"{file_name}：{zh} / {file_name}: {en}")


def _columns(kind: Kind, top: list, sub: list[str], units_row: list[str], title_lines: list[str],
             names: dict, source: Source, file_name: str) -> list[SourceColumn]:
    """Decide every column: canonical column, basis, unit, loaded or not (and why)."""
    shown = [f"{_text(t)} / {s}" if s and _text(t) else _text(t) or s for t, s in zip(top, sub, strict=True)]
    fields = _unique(shown)
    cols: list[SourceColumn] = []
    parsed: list[HeaderText] = []
    for j, (t, s) in enumerate(zip(top, sub, strict=True)):
        ht = read_header(t, names) if _text(t) else HeaderText(None)
        if s:
            b = basis_of(s)
            if b is not None:
                ht.basis = b
        parsed.append(ht)
        cols.append(SourceColumn(j + 1, shown[j], fields[j]))
    title_units = _title_units(title_lines, file_name)
    for c, ht, u in zip(cols, parsed, units_row, strict=True):
        if ht.column is None and norm(_text(c.header.split(" / ")[0])) in INFORMATIONAL:
            c.status = "info"
            c.note = "说明性列（序号、名称等），不读取 / part of the form (row number, name …), not loaded"
            continue
        if ht.column is None:
            c.note = ("表头不在词汇表中，未读取 / header matches no column of this kind (add it to "
                      "flows/registry/vocabulary.toml if it should load)"
                      ) if c.header else "空表头列 / column without a header"
            continue
        c.column = ht.column.name
        c.basis = ht.basis
        if ht.other:
            c.status = "not_loaded"
            c.note = f"“{ht.other}”口径不是本字段的口径，未读取 / '{ht.other}' is another measure, not loaded"
            continue
        if ht.basis == "compare":
            c.status = "not_loaded"
            c.note = "上年同期/增速列仅供对照，未读取 / prior-year or growth column, not loaded"
            continue
        fam = ht.column.unit_family
        if ht.unknown and fam is not None:
            raise _reject("unknown_unit", file_name,
                          f"表头“{c.header}”的单位或限定词“{'、'.join(ht.unknown)}”无法识别（可用单位：{'、'.join(UNITS[fam])}）",
                          f"unknown unit or qualifier '{', '.join(ht.unknown)}' in header '{c.header}' "
                          f"(known units: {', '.join(UNITS[fam])})")
        _set_unit(c, ht, fam, u, title_units, source, file_name)
        c.status = "loaded"
    _resolve_duplicates(cols, parsed, file_name)
    _check_unstated_units(cols, kind, file_name)
    return cols


def check_required(cols: list[SourceColumn], kind: Kind, file_name: str) -> None:
    """Every required column of the kind loads from some column of the file."""
    missing = [c for c in kind.columns if c.required and c.name not in
               {sc.column for sc in cols if sc.status == "loaded"}]
    if missing:
        zh = "、".join(f"{c.zh}（{c.name}）" for c in missing)
        en = ", ".join(c.name for c in missing)
        raise _reject("missing_columns", file_name, f"缺少必需的列 {zh}", f"missing required columns {en}")


_PERIOD_LINE = re.compile(r"(?:%s)[:：]\s*([^\s，,;；]+)")


def _title_period(cols: list[SourceColumn], kind: Kind, title_lines: list[str], file_name: str) -> None:
    """A table without a period column whose title states one (`报告期：2025年6月`): that period for every row.

    Added as a column of its own (TITLE_PERIOD_FIELD) so the header report shows where the period came from;
    two different periods in the title lines are ambiguous.
    """
    if not any(c.name == "period" for c in kind.columns) or any(
            sc.column == "period" and sc.status == "loaded" for sc in cols):
        return
    pattern = re.compile(_PERIOD_LINE.pattern % "|".join(PERIOD_PREFIXES))
    found = {m.group(1) for line in title_lines for m in pattern.finditer(unicodedata.normalize("NFKC", line))}
    if len(found) > 1:
        raise _reject("ambiguous_basis", file_name, f"标题行给出多个统计期（{'、'.join(sorted(found))}）",
                      f"the title lines state several periods ({', '.join(sorted(found))})")
    if found:
        period = found.pop()
        cols.append(SourceColumn(len(cols) + 1, f"（标题行）{period}", TITLE_PERIOD_FIELD, "period", status="loaded",
                                 value=period,
                                 note="统计期取自标题行 / period stated in a title line, applies to every row"))


def _title_units(title_lines: list[str], file_name: str) -> dict[str, tuple[str, str]]:
    """family → (unit, the line that says it); two different units for one family are ambiguous."""
    found: dict[str, tuple[str, str]] = {}
    for line in title_lines:
        for fam, unit, said in unit_line_units(line):
            if fam == "?":
                raise _reject("unknown_unit", file_name, f"标题行“{said}”中的单位“{unit}”无法识别",
                              f"unknown unit '{unit}' in the title line '{said}'")
            if fam == "other":
                continue
            if fam in found and norm(found[fam][0]) != norm(unit):
                raise _reject("ambiguous_unit", file_name,
                              f"标题行给出两个不同的单位“{found[fam][1]}”和“{said}”，无法确定数值单位",
                              f"the title lines state two units, '{found[fam][1]}' and '{said}': the unit is ambiguous")
            found[fam] = (unit, said)
    return found


def _set_unit(c: SourceColumn, ht: HeaderText, fam: str | None, units_cell: str,
              title_units: dict[str, tuple[str, str]], source: Source, file_name: str) -> None:
    """The unit of a measure column: header > units row > config > title line > the contract's default."""
    if fam is None:
        if ht.units:
            c.unit, c.unit_source = ht.units[0][1], "header"
        return
    stated: list[tuple[str, str]] = [(u, "header") for f, u in ht.units if f == fam]
    wrong = [u for f, u in ht.units if f != fam]
    if units_cell:
        u = unit_of(units_cell)
        if u is None or u[0] != fam:
            raise _reject("unknown_unit", file_name,
                          f"单位行中“{c.header}”列的单位“{units_cell}”不是{CANONICAL_UNIT[fam]}一类的单位",
                          f"the units row gives '{units_cell}' for column '{c.header}', not a {fam} unit")
        stated.append((u[1], "units_row"))
    if wrong or len({norm(u) for u, _ in stated}) > 1:
        said = "、".join([u for u, _ in stated] + wrong)
        raise _reject("ambiguous_unit", file_name, f"“{c.header}”列给出多个单位（{said}）",
                      f"column '{c.header}' states more than one unit ({said})")
    if stated:
        unit, where = stated[0]
    elif fam in source.units:
        unit, where = source.units[fam], "config"
    elif fam in title_units:
        unit, where = title_units[fam][0], "title_line"
    else:
        unit, where = CANONICAL_UNIT[fam], "contract_default"
    table = {norm(k): (k, v) for k, v in UNITS[fam].items()}
    c.unit, c.factor = table[norm(unit)]
    c.unit_source = where


def _resolve_duplicates(cols: list[SourceColumn], parsed: list[HeaderText], file_name: str) -> None:
    """One source per (column, basis): the contract's own name wins over an alias; otherwise refuse.

    For a measure given both 本月 and 累计, the 本月 column loads and the 累计 one cross-checks it.
    """
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, c in enumerate(cols):
        if c.status == "loaded":
            groups.setdefault((c.column, c.basis), []).append(i)
    for (col, _basis), idx in groups.items():
        if len(idx) == 1:
            continue
        own = [i for i in idx if parsed[i].canonical_name]
        if len(own) != 1:
            heads = "、".join(f"“{cols[i].header}”（第{cols[i].position}列）" for i in idx)
            raise _reject("ambiguous_column", file_name, f"多列都对应字段 {col}：{heads}，无法确定读取哪一列",
                          f"several columns map to {col}: {', '.join(cols[i].header for i in idx)}; "
                          "cannot tell which to load")
        for i in idx:
            if i != own[0]:
                cols[i].status = "ignored"
                cols[i].note = (f"与第{cols[own[0]].position}列“{cols[own[0]].header}”同义，以后者为准 / "
                                f"same column as '{cols[own[0]].header}', which is loaded")
    by_col: dict[str, dict[str | None, SourceColumn]] = {}
    for c in cols:
        if c.status == "loaded" and c.column:
            by_col.setdefault(c.column, {})[c.basis] = c
    for col, bases in by_col.items():
        if None in bases and len(bases) > 1:
            raise _reject("ambiguous_basis", file_name,
                          f"字段 {col} 既有未标口径的列“{bases[None].header}”又有分口径的列，无法确定口径",
                          f"{col} has a column without a basis ('{bases[None].header}') beside columns with one")
        if "month" in bases and "ytd" in bases:
            y = bases["ytd"]
            y.status = "cross_check"
            y.note = (f"累计值用于核对本月值（“{bases['month'].header}”） / year-to-date values cross-check "
                      f"the current-month column '{bases['month'].header}'")


def _check_unstated_units(cols: list[SourceColumn], kind: Kind, file_name: str) -> None:
    """A measure with no stated unit beside one of its family stated in another unit is ambiguous."""
    for c in cols:
        if c.status not in ("loaded", "cross_check") or c.unit_source != "contract_default":
            continue
        fam = kind.column(c.column).unit_family
        others = [o for o in cols if o.status in ("loaded", "cross_check") and o.column
                  and kind.column(o.column).unit_family == fam and o.unit_source not in ("contract_default", None)
                  and o.unit != CANONICAL_UNIT[fam]]
        if others:
            o = others[0]
            raise _reject("ambiguous_unit", file_name,
                          f"“{c.header}”列未注明单位，而“{o.header}”列以{o.unit}计，无法确定其单位",
                          f"column '{c.header}' states no unit while '{o.header}' is in {o.unit}: its unit is "
                          "ambiguous")


def _file_basis(cols: list[SourceColumn], source: Source) -> str | None:
    """The basis of every row when the columns (or config) fix it; the other measures' bases must agree.

    A measure given only as 累计 in a file whose other measures are 本月 is not loaded (and reported).
    """
    bases = {c.basis for c in cols if c.status == "loaded" and c.basis in ("month", "ytd")}
    if not bases:
        return source.basis
    basis = "month" if "month" in bases else "ytd"
    for c in cols:
        if c.status == "loaded" and c.basis in ("month", "ytd") and c.basis != basis:
            c.status = "not_loaded"
            c.note = ("本文件其他指标为本月值，此列只有累计值，未读取（请以累计口径文件报送） / only year-to-date "
                      "values for this measure while the file's others are current-month: not loaded")
    return basis
