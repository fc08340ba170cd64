"""Standardise one inbox file into a canonical polars frame plus parse-level quarantine
(docs/architecture.md#input-contract, #nothing-lost).

The input contract lives in flows.support.contract; this module only reads files. Every data row of a file ends
in exactly one place: `frame` (parsed, canonical columns and units) or `issues` (one row per rejected
row, rule + readable message), so `rows_in = len(frame) + issues["_row"].n_unique()`. A file that cannot
be used at all raises FileRejected with a stable reason code.

Everything is vectorised polars: values are read as strings first (so `raw` keeps them verbatim), then
parsed column by column; periods and dates go through a small lookup table built from their distinct
values, so a 5 M-row file costs a handful of column passes.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from flows.stages.s03_layout import (
    HEADER_SEARCH_ROWS,
    FileRejected,
    Layout,
    SourceColumn,
    find_layout,
    name_lookup,
    score,
    source_settings,
)
from flows.support.contract import (
    BASIS,
    KINDS,
    NO,
    SCOPE_ALIASES,
    SRDI_LEVELS,
    TRANSFORMATION,
    UNITS,
    VOCABULARY,
    YES,
    Column,
    Kind,
)
from flows.support.uscc import is_valid_uscc

__all__ = ["FileRejected", "Standardised", "standardise"]

ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64, "column_name": pl.Utf8, "value": pl.Utf8, "rule": pl.Utf8,
    "severity": pl.Utf8, "message": pl.Utf8, "message_en": pl.Utf8,
}
SEVERITY = "critical"  # every parse-level problem keeps the row out of core

# rule -> (Chinese, English) wording used in messages
RULES: dict[str, tuple[str, str]] = {
    "missing_value": ("缺少必填值", "required value is missing"),
    "unparsable_number": ("无法解析的数值", "cannot parse number"),
    "out_of_range": ("整数超出可存储范围", "integer outside the storable range"),
    "unparsable_period": ("无法解析的统计期", "cannot parse period"),
    "unparsable_date": ("无法解析的日期", "cannot parse date"),
    "invalid_value": ("取值不在允许范围内", "value not allowed"),
    "duplicate_row": ("重复行", "duplicate row"),
    "conflicting_rows": ("同一键的行数值冲突", "rows with the same key disagree"),
    "uscc_number_formatted": ("信用代码被表格软件按数字格式化而损坏（如9.11306E+17），请将该列设为文本后重新导出",
                              "the credit code was damaged by number formatting (e.g. 9.11306E+17); export the "
                              "column as text"),
    "period_span": ("所属期起止既不是单月也不是自1月起的累计期", "the tax period is neither one month nor a "
                    "January-to-month year-to-date range"),
    "basis_mismatch": ("本月值与累计值不符", "current-month and year-to-date values disagree"),
    "beyond_header": ("本行在表头以外的列还有数据：值中可能含未加引号的分隔符，各列已错位",
                      "the row has a value beyond the header: an unquoted delimiter inside a value may have shifted "
                      "its cells"),
}
_ROWS = VOCABULARY["rows"]
TOTAL_COLUMNS = 3  # a total row's label stands in one of the leftmost columns (序号, code or name)
# a total label, spaces allowed between its characters (`总 计`), alone in its cell; or a pattern (其中：…)
TOTAL_REGEX = r"^\s*(?:" + "|".join(
    [r"\s*".join(re.escape(ch) for ch in w.replace(" ", "")) for w in _ROWS["totals"]]
    + [p.lstrip("^").rstrip("$") for p in _ROWS["totals_patterns"]]) + r")\s*$"
NOTE_PREFIXES = tuple(_ROWS["note_prefixes"])
NOTE_PREFIX_REGEX = "^(?:" + "|".join(re.escape(p) for p in NOTE_PREFIXES) + ")"   # starts with one: one pass a cell
NOTE_PATTERN = "|".join(f"(?:{p})" for p in _ROWS["note_patterns"])
FLOW_ZERO = tuple(VOCABULARY["values"]["flow_zero"])
USCC_COLUMNS = ("uscc", "buyer_uscc", "supplier_uscc")
CODE_COLUMNS = ("adcode", "supplier_adcode", "cluster_id")
ADCODE_COLUMNS = ("adcode", "supplier_adcode")
READ_CHUNK = 1 << 24
_NUMBER_TYPES = ("money", "land", "energy", "float", "int")
# A CSV row with a value beyond the header's last column: an unquoted delimiter inside a value shifted its
# cells, so every value after it sits under the wrong header. The raw frame keeps that cell under this name.
BEYOND_HEADER = "（表头以外的单元格）"

_FULLWIDTH = [chr(0xFF10 + i) for i in range(10)] + ["．", "，", "－", "＋", "　", "\u00a0"]
_HALFWIDTH = [str(i) for i in range(10)] + [".", ",", "-", "+", " ", " "]
_FW_ALNUM = _FULLWIDTH[:10] + [chr(0xFF21 + i) for i in range(26)] + [chr(0xFF41 + i) for i in range(26)]
_HW_ALNUM = _HALFWIDTH[:10] + [chr(0x41 + i) for i in range(26)] + [chr(0x61 + i) for i in range(26)]
_NULL_MARKS = tuple(VOCABULARY["values"]["blank"])
# value spellings are compared after these foldings (full-width, curly quotes, brackets) and without spaces
_VFOLD_FROM = [*_FULLWIDTH, "“", "”", "‘", "’", '"', "'", "「", "」", "（", "）"]
_VFOLD_TO = [*_HALFWIDTH, "", "", "", "", "", "", "", "", "(", ")"]


def _vkey(text: str) -> str:
    """A vocabulary value as the value expression folds cells (see _vfold)."""
    for a, b in zip(_VFOLD_FROM, _VFOLD_TO, strict=True):
        text = text.replace(a, b)
    return re.sub(r"\s", "", text).lower()


def _vfold(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(_VFOLD_FROM, _VFOLD_TO).str.replace_all(r"\s", "").str.to_lowercase()



@dataclass
class Standardised:
    """One file after parsing: the rows that parsed, every row as read, and the rows that did not."""

    kind: str
    frame: pl.DataFrame
    raw: pl.DataFrame          # text as delivered; a Parquet file's number columns as stored (typed_columns)
    issues: pl.DataFrame
    encoding: str | None
    header_map: dict[str, str]
    units: dict[str, str]
    rows_in: int
    skipped: dict[str, int] = field(default_factory=dict)  # non-data rows dropped (blank, notes, totals)
    columns: list[SourceColumn] = field(default_factory=list)  # the header report: every source column
    sheet: str | None = None       # the sheet read (first sheet of a workbook)
    warnings: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))  # loaded, flagged

    file_name: str = ""

    @property
    def where(self) -> str:
        return _where(self.file_name, self.sheet)

    @property
    def headers(self) -> dict[str, str]:
        """canonical column → its header as written, so messages name the column the user sees."""
        return {c: s for s, c in self.header_map.items()}


def _where(file_name: str, sheet: str | None) -> str:
    """How messages name a file: `name.xlsx［Sheet1］` for a workbook, the file name otherwise."""
    return f"{file_name}［{sheet}］" if sheet else file_name


# --------------------------------------------------------------------------------------------- readers

def _detect_encoding(path: Path, file_name: str) -> str:
    """Detect a CSV's encoding: BOM, then strict UTF-8 over the whole file, then charset-normalizer/GB18030."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise _not_a_table(file_name, "二进制内容", "binary content")
    decoder = codecs.getincrementaldecoder("utf-8")()
    sample = head
    try:
        with open(path, "rb") as f:
            while chunk := f.read(READ_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    sample = chunk[max(0, e.start - 4096): e.start + (1 << 16)]
                    raise
            decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    probe = head if not head.isascii() else sample
    if _decodes(probe, "gb18030"):
        return "gb18030"  # the common case; charset-normalizer often misnames short GBK samples
    best = from_bytes(probe).best()
    if best is not None and _decodes(probe, best.encoding):
        return best.encoding
    raise _not_a_table(file_name, "无法识别的文本编码", "unrecognised text encoding")


def _decodes(sample: bytes, enc: str) -> bool:
    """Strict decode of a sample, tolerating a multi-byte character cut at the end."""
    try:
        codecs.getincrementaldecoder(enc)().decode(sample, final=False)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _not_a_table(file_name: str, zh: str, en: str) -> FileRejected:
    return FileRejected("not_a_table", f"{file_name}：不是表格文本文件（{zh}） / {file_name}: not a table ({en})")


def _transcode(path: Path, encoding: str, file_name: str) -> Path:
    """Stream-transcode a non-UTF-8 CSV into a UTF-8 temp file (polars reads UTF-8 only)."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="cw_transcode_")
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(READ_CHUNK):
                dst.write(decoder.decode(chunk).encode("utf-8"))
                offset += len(chunk)
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as e:
        os.unlink(tmp)
        raise FileRejected("unreadable_file", (
            f"{file_name}：第{offset + e.start}字节起不是有效的{encoding}编码 / "
            f"{file_name}: bytes at offset {offset + e.start} are not valid {encoding}")) from e
    return Path(tmp)


def _layout(rows: list[list], kind: Kind, file_name: str) -> Layout:
    """The sheet's layout, or the reason it has none (not a table, or the required columns are missing)."""
    layout = find_layout(rows, kind, file_name)
    if layout is not None:
        return layout
    width = max((len([v for v in r if v is not None and str(v).strip()]) for r in rows), default=0)
    if width < 2:
        raise _not_a_table(file_name, "找不到表头行，内容不是分列的表格", "no header row, content is not in columns")
    missing = [c for c in kind.columns if c.required]
    zh = "、".join(f"{c.zh}（{c.name}）" for c in missing)
    raise FileRejected("missing_columns", f"{file_name}：找不到表头行，缺少必需的列 {zh} / {file_name}: no header "
                                          f"row names the required columns {', '.join(c.name for c in missing)}")


def _read_csv(path: Path, kind: Kind, file_name: str) -> tuple[pl.DataFrame, str, Layout]:
    """CSV → (raw frame with one column per source column + _row, encoding, layout)."""
    if path.stat().st_size == 0:
        raise FileRejected("empty_file", f"{file_name}：文件为空 / {file_name}: the file is empty")
    encoding = _detect_encoding(path, file_name)
    utf8 = path if encoding in ("utf-8", "utf-8-sig") else _transcode(path, encoding, file_name)
    try:
        with open(utf8, encoding="utf-8-sig", newline="") as f:
            text = f.read(1 << 18)
        if not text.strip():
            raise FileRejected("empty_file", f"{file_name}：文件为空 / {file_name}: the file is empty")
        names = name_lookup(kind, source_settings(file_name))
        lines = "".join(text.splitlines(keepends=True)[:HEADER_SEARCH_ROWS])
        candidates = []
        for rank, sep in enumerate((",", "\t", ";", "|")):
            rows = list(csv.reader(io.StringIO(lines), delimiter=sep))
            named = max((score(r, names) for r in rows), default=0)
            width = max((len(r) for r in rows), default=0)
            candidates.append(((named, width, -rank), sep, rows))
        _, sep, rows = max(candidates, key=lambda c: c[0])
        layout = _layout(rows, kind, file_name)
        fields = [*layout.fields, BEYOND_HEADER]  # the first cell past the header, so a shifted row shows
        try:
            df = pl.read_csv(utf8, has_header=False, skip_rows=layout.data_start, separator=sep,
                             schema=dict.fromkeys(fields, pl.Utf8), truncate_ragged_lines=True,
                             raise_if_empty=False, encoding="utf8")
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as e:
            raise _not_a_table(file_name, f"CSV解析失败：{e}", f"CSV parse error: {e}") from e
    finally:
        if utf8 != path:
            os.unlink(utf8)
    # cells past the header's last named column (some data rows in the header search were wider): one column
    # BEYOND_HEADER holding the first of them, so a shifted row is refused rather than read under wrong headers
    last = max(c.position for c in layout.columns if c.header)
    past = [c.field for c in layout.columns if c.position > last and c.value is None] + [BEYOND_HEADER]
    df = df.with_columns(pl.coalesce([pl.when(pl.col(f).str.strip_chars().str.len_bytes() > 0).then(pl.col(f))
                                      for f in past]).alias(BEYOND_HEADER)).drop(past[:-1])
    first = layout.data_start + 1  # Excel/WPS number the CSV's records from 1
    df = df.with_columns(pl.int_range(first, first + df.height, dtype=pl.Int64).alias("_row"))
    return df, encoding, layout


def _grid_frame(grid: pl.DataFrame, first_row: int, kind: Kind, file_name: str) -> tuple[pl.DataFrame, Layout]:
    """A sheet read as text (first row = Excel row first_row) → raw data frame + layout."""
    if grid.height == 0:
        raise FileRejected("empty_file", f"{file_name}：工作表为空 / {file_name}: the first sheet is empty")
    head_rows = [list(r) for r in grid.head(HEADER_SEARCH_ROWS).rows()]
    layout = _layout(head_rows, kind, file_name)
    fields = layout.fields
    df = grid.slice(layout.data_start)
    df = df.select(df.columns[: len(fields)]).rename(dict(zip(df.columns[: len(fields)], fields, strict=True)))
    first = first_row + layout.data_start
    return df.with_columns(pl.int_range(first, first + df.height, dtype=pl.Int64).alias("_row")), layout


def _first_sheet_first_row(path: Path) -> int:
    """Excel row number of the first non-empty row of the first sheet (calamine starts its range there)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        with zipfile.ZipFile(path) as z:
            wb = ElementTree.fromstring(z.read("xl/workbook.xml"))
            sheet = wb.find(f"{ns}sheets/{ns}sheet")
            rid = sheet.get(f"{rel_ns}id") if sheet is not None else None
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next((r.get("Target") for r in rels if r.get("Id") == rid), "worksheets/sheet1.xml")
            target = target.lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            with z.open(member) as f:
                for _, el in ElementTree.iterparse(f, events=("end",)):
                    if el.tag == f"{ns}c":
                        v = el.find(f"{ns}v")
                        is_ = el.find(f"{ns}is")
                        if (v is not None and v.text not in (None, "")) or is_ is not None:
                            m = re.match(r"[A-Z]+(\d+)", el.get("r") or "")
                            return int(m.group(1)) if m else 1
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, StopIteration):
        return 1
    return 1


def _is_zip(path: Path) -> bool:
    """XLSX is a zip container; anything else under that name was never a workbook."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"PK"


def _read_xlsx(path: Path, kind: Kind, file_name: str) -> tuple[pl.DataFrame, Layout, str]:
    """XLSX first sheet → (raw frame, layout, sheet name); the header is found below any title rows."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        if not reader.sheet_names:
            raise FileRejected("empty_file", f"{file_name}：工作簿没有工作表 / {file_name}: no sheets")
        grid = reader.load_sheet(0, header_row=None, dtypes="string").to_polars()
    except FileRejected:
        raise
    except Exception as e:  # fastexcel raises its own error hierarchy for corrupt files
        if not _is_zip(path):  # a PDF, image or text saved as .xlsx: not a spreadsheet at all
            raise _not_a_table(file_name, "文件不是Excel工作簿", "the file is not an Excel workbook") from e
        raise FileRejected("unreadable_file", f"{file_name}：无法读取Excel文件（{e}） / "
                                              f"{file_name}: cannot read the Excel file ({e})") from e
    raw, layout = _grid_frame(grid, _first_sheet_first_row(path), kind, file_name)
    return raw, layout, reader.sheet_names[0]


def _xls_text(cell: object, datemode: int) -> str | None:
    """One BIFF cell as the text a user sees: whole numbers without '.0', dates as ISO dates."""
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        v = float(cell.value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if cell.ctype == xlrd.XL_CELL_DATE:
        return xlrd.xldate.xldate_as_datetime(cell.value, datemode).date().isoformat()
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return None
    return str(cell.value)


def _read_xls(path: Path, kind: Kind, file_name: str) -> tuple[pl.DataFrame, Layout, str]:
    """Excel 97-2003 (.xls, BIFF) first sheet, read with xlrd from row 1 so row numbers are the user's."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        if book.nsheets == 0:
            raise FileRejected("empty_file", f"{file_name}：工作簿没有工作表 / {file_name}: no sheets")
        sheet = book.sheet_by_index(0)
        rows = [[_xls_text(c, book.datemode) for c in sheet.row(i)] for i in range(sheet.nrows)]
    except FileRejected:
        raise
    except Exception as e:  # xlrd raises XLRDError, struct and index errors on damaged files
        raise FileRejected("unreadable_file", f"{file_name}：无法读取Excel 97-2003文件（{e}） / "
                                              f"{file_name}: cannot read the .xls file ({e})") from e
    width = max((len(r) for r in rows), default=0)
    grid = pl.DataFrame([r + [None] * (width - len(r)) for r in rows],
                        schema={f"c{j}": pl.Utf8 for j in range(width)}, orient="row")
    raw, layout = _grid_frame(grid, 1, kind, file_name)
    return raw, layout, sheet.name


def _read_parquet(path: Path, kind: Kind, file_name: str) -> tuple[pl.DataFrame, Layout]:
    """Parquet → (raw frame, layout), every column cast to text so raw keeps what the source said — but for the
    Float64 and integer columns of number columns (`_number_fields`), which stay as stored.

    A number column parses from its typed values (`_column`): the same float its text gives (polars' text of a
    Float64 is its shortest round-trip form; an integer's text parses to the float its cast gives), without
    writing and parsing millions of strings (≈ 0.3 CPU-s per 4 M values). The few values that need their text
    (a quarantined row's original, a rejected cell) are cast where they are written, the same cast.
    """
    try:
        df = pl.read_parquet(path)
    except Exception as e:  # polars raises several error types for corrupt parquet
        raise FileRejected("unreadable_file", f"{file_name}：无法读取Parquet文件（{e}） / "
                                              f"{file_name}: cannot read the Parquet file ({e})") from e
    layout = _layout([list(df.columns)], kind, file_name)
    fields = dict(zip(df.columns, layout.fields, strict=True))
    numbers = _number_fields(layout, kind)
    casts = []
    for name, dtype in df.schema.items():
        if dtype == pl.Utf8 or (fields[name] in numbers and (dtype == pl.Float64 or dtype.is_integer())):
            continue
        if dtype.is_nested() or dtype == pl.Object:
            casts.append(pl.col(name).map_elements(str, return_dtype=pl.Utf8))
        else:
            casts.append(pl.col(name).cast(pl.Utf8))
    df = df.with_columns(casts) if casts else df
    df = df.rename(fields)
    return df.with_columns(pl.int_range(2, 2 + df.height, dtype=pl.Int64).alias("_row")), layout


def _number_fields(layout: Layout, kind: Kind) -> set[str]:
    """The raw fields parsed as numbers (loaded or cross-checked), except those whose values may be words."""
    names = {c.name for c in kind.columns if c.dtype in _NUMBER_TYPES and not VOCABULARY["values"].get(c.name)}
    return {c.field for c in layout.columns if c.column in names and c.status in ("loaded", "cross_check")}


def typed_columns(raw: pl.DataFrame) -> list[str]:
    """The columns of a raw frame kept as typed numbers (_read_parquet); every other column is text."""
    return [c for c, t in raw.schema.items() if c != "_row" and t != pl.Utf8]


# --------------------------------------------------------------------------------------------- values

def _clean(expr: pl.Expr) -> pl.Expr:
    """Trimmed text, empty → null."""
    t = expr.str.strip_chars()
    return pl.when(t.str.len_bytes() > 0).then(t)


_YM = r"(\d{4})(?:年|[-/.])?(\d{1,2})月?份?"
_RANGE_RE = re.compile(r"^(\d{4})(?:年|[-/.])?(\d{1,2})月?[-~—–至到](?:(\d{4})(?:年|[-/.]))?(\d{1,2})月?份?$")
_MONTH_RE = re.compile(rf"^{_YM}$")
_DATE_RE = re.compile(r"^(\d{4})(?:[-/.年])(\d{1,2})(?:[-/.月])(\d{1,2})日?"
                      r"(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")  # time part of Excel datetimes
_DATE8_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{4,6}(?:\.0+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)
RANGE = 1_000_000  # period code offset marking a multi-month year-to-date range


def _prep(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace("—", "-").replace("–", "-")


def _parse_date(text: str) -> date | None:
    """Calendar date from ISO, slashes, 8 digits, 年月日 or an Excel serial; None when not a date."""
    s = _prep(text)
    m = _DATE_RE.match(s) or _DATE8_RE.match(s)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if _SERIAL_RE.match(s) and 1 <= float(s) <= 2958465:
            return _EXCEL_EPOCH + timedelta(days=int(float(s)))
    except (ValueError, OverflowError):
        return None
    return None


def _parse_period(text: str) -> tuple[date | None, bool]:
    """Period → (first day of the ending month, is a multi-month year-to-date range); (None, _) if bad."""
    s = _prep(text)
    if re.match(r"^\d{5}(?:\.0+)?$", s):  # an Excel serial date (a date cell read as a number)
        d = _parse_date(s)
        return (date(d.year, d.month, 1), False) if d else (None, False)
    m = _MONTH_RE.match(s)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        return (date(y, mo, 1), False) if 1 <= mo <= 12 else (None, False)
    m = _RANGE_RE.match(s)
    if m and not _DATE_RE.match(s):
        y, m1, y2, m2 = int(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4))
        if (y2 is not None and int(y2) != y) or m1 != 1 or not 1 <= m2 <= 12:
            return None, False  # a cumulative range must start in January of the same year
        return date(y, m2, 1), m2 > 1
    m = _DATE_RANGE_RE.match(s)
    if m:  # a tax period written as one cell: 2025-06-01至2025-06-30, 2025-01-01~2025-06-30
        start, end = _parse_date(m.group(1)), _parse_date(m.group(2))
        if start is None or end is None or start.year != end.year:
            return None, False
        if (start.month, start.day) == (end.month, 1) or start.month == end.month:
            return date(end.year, end.month, 1), False
        if (start.month, start.day) == (1, 1):
            return date(end.year, end.month, 1), True
        return None, False  # a quarter or any other span is not a month nor a year to date
    d = _parse_date(s) if _DATE_RE.match(s) else None
    return (date(d.year, d.month, 1), False) if d else (None, False)


_DAY = r"(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)"
_DATE_RANGE_RE = re.compile(rf"^{_DAY}(?:至|到|~|--|-)" + _DAY + "$")


def _period_or_none(text: str) -> tuple[date | None, bool]:
    """_parse_period, with a year no date can hold (year 0, e.g. `0000-01`) unparsable instead of raising."""
    try:
        return _parse_period(text)
    except (ValueError, OverflowError):
        return None, False


def _lookup(expr: pl.Expr, mapping: dict[str, object], dtype: pl.DataType) -> pl.Expr:
    return expr.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=dtype)


def _distinct(df: pl.DataFrame, src: str) -> list[str]:
    """Distinct verbatim non-blank values (periods and dates are parsed once per distinct value)."""
    vals = df.select(pl.col(src).unique().drop_nulls()).to_series().to_list()
    return [v for v in vals if v.strip()]


def _flags(df: pl.DataFrame, header_map: dict[str, str], kind: Kind) -> dict[str, dict[str, bool]]:
    """Whole-column facts, one parallel pass: which columns need the slow clean-up paths."""
    exprs = []
    for src, name in header_map.items():
        if df.schema[src] != pl.Utf8:
            continue
        c = pl.col(src)
        dt = kind.column(name).dtype
        if dt in _NUMBER_TYPES:
            exprs.append(c.str.contains(r"[^0-9.eE+-]|^[+]").any().alias(f"{name}|messy_number"))
        elif name in USCC_COLUMNS:
            exprs.append((c.str.len_bytes() != c.str.len_chars()).any().alias(f"{name}|non_ascii"))
        elif name in CODE_COLUMNS:
            # the '.0' stripping (_column) changes only a value holding a '.': a column of codes without one but
            # with some ending in 0 (city-level adcodes such as 320500) skips the regex pass, 0.28 CPU-s for 4.1 M
            # codes (the nation benchmark's county-level codes end in no 0 and never took it)
            exprs.append((c.str.ends_with("0").any() & c.str.contains(".", literal=True).any())
                         .alias(f"{name}|dot_zero"))
            if name in ADCODE_COLUMNS:
                exprs.append((c.str.strip_chars().str.len_bytes() == 12).any().alias(f"{name}|statistical_code"))
    out: dict[str, dict[str, bool]] = {}
    if exprs:
        for key, val in df.select(exprs).row(0, named=True).items():
            name, flag = key.split("|")
            out.setdefault(name, {})[flag] = bool(val)
    return out


@dataclass
class _Parse:
    """How one column parses, in stages that only reference columns of the previous stage.

    Staging matters for speed: an expression that reuses a sub-expression (the trimmed text, the cast
    number) would otherwise be evaluated again for every use, on every one of millions of rows.
    """

    stage1: list[pl.Expr]  # from the source column: trimmed text (and number text)
    stage2: list[pl.Expr]  # from stage 1: cast numbers, lookups
    value: pl.Expr
    err: pl.Expr
    is_range: pl.Expr | None = None


def _column(df: pl.DataFrame, col: Column, src: str, factor: float, flags: dict[str, bool],
            flow: bool = False, typed: bool = False) -> _Parse:
    """Parse one source column into the canonical value and a rule code (null when fine).

    flags are whole-column facts measured once (does any value need number clean-up, full-width
    folding, '.0' stripping?) so clean columns skip the costly string passes. `typed`: src holds a number
    column's typed values (a Parquet file's, _read_parquet), not text.
    """
    raw = pl.col(src)
    tn, xn, vn = f"__t_{col.name}", f"__x_{col.name}", f"__v_{col.name}"
    t = pl.when(pl.col(tn).str.len_bytes() > 0).then(pl.col(tn))  # trimmed, empty → null
    stage1 = [raw.str.strip_chars().alias(tn)] if col.dtype not in ("period", "date") else []
    stage2: list[pl.Expr] = []
    err: pl.Expr = pl.lit(None, pl.Utf8)
    rng = None
    present = t.is_not_null()
    dt = col.dtype
    if dt in _NUMBER_TYPES:
        # number text: full-width digits → ASCII, no thousands separators or spaces, no leading '+'
        words = VOCABULARY["values"].get(col.name)     # never typed: _number_fields
        if typed:  # typed Parquet column: no text round trip
            stage1 = [raw.alias(xn)]
            stage2.append(raw.cast(pl.Float64).alias(vn))
        elif flags.get("messy_number", True):
            stage1 = [raw.str.replace_many(_FULLWIDTH, _HALFWIDTH).str.replace_all(r"[,\s]", "")
                      .str.strip_prefix("+").alias(xn)]
            stage2.append(pl.col(xn).cast(pl.Float64, strict=False).alias(vn))
        else:
            stage1 = [raw.alias(xn)]
            stage2.append(raw.cast(pl.Float64, strict=False).alias(vn))
        if words:  # words such as 二级（规范级） are numbers
            mapping = {_vkey(k): str(v) for k, v in words.items()}
            folded = _vfold(stage1[0])
            stage1 = [pl.when(folded.is_in(list(mapping))).then(folded.replace_strict(
                mapping, default=None, return_dtype=pl.Utf8)).otherwise(stage1[0]).alias(xn)]
        x = pl.col(xn)
        f = pl.col(vn)
        blanks = [m for m in _NULL_MARKS if not (flow and m in FLOW_ZERO)]
        present = (x.is_not_null() if typed
                   else x.is_not_null() & (x.str.len_bytes() > 0) & ~x.is_in(blanks))
        ok = f.is_finite().fill_null(False)
        if flow and not typed:  # `-` is zero in a flow column (a firm that produced nothing)
            ok = ok | x.is_in(FLOW_ZERO)
            f = pl.when(x.is_in(FLOW_ZERO)).then(pl.lit(0.0)).otherwise(f)
        bad = present & ~ok
        v = pl.when(ok).then(f * factor if dt in UNITS else f)
        overflow = pl.lit(False)
        if dt == "int":  # beyond int64 the cast would give NULL without a word: quarantine it instead
            overflow = ok & (f.abs() >= 2.0 ** 63)
            bad = bad | (ok & (f != f.round(0))) | overflow
            v = v.cast(pl.Int64, strict=False)
        err = pl.when(overflow).then(pl.lit("out_of_range")).when(bad).then(pl.lit("unparsable_number"))
    elif dt == "period":
        # one lookup on the verbatim text: month index y*12+m-1, plus RANGE when a ytd range
        table = {s: _period_or_none(s) for s in _distinct(df, src)}
        codes = {k: (d.year * 12 + d.month - 1 + (RANGE if r else 0)) if d else None
                 for k, (d, r) in table.items()}
        stage2.append(_lookup(raw, codes, pl.Int32).alias(xn))
        code = pl.col(xn) % RANGE
        v = pl.date(code // 12, code % 12 + 1, 1)
        rng = (pl.col(xn) >= RANGE).fill_null(False)
        present = raw.is_in(list(table))
        err = pl.when(present & pl.col(xn).is_null()).then(pl.lit("unparsable_period"))
    elif dt == "date":
        table = {s: _parse_date(s) for s in _distinct(df, src)}
        stage2.append(_lookup(raw, table, pl.Date).alias(vn))
        v = pl.col(vn)
        present = raw.is_in(list(table))
        err = pl.when(present & v.is_null()).then(pl.lit("unparsable_date"))
    else:
        vocab: dict[str, object] | None = None
        out_dtype: pl.DataType = pl.Utf8
        if dt == "bool":
            vocab = {**dict.fromkeys(YES, True), **dict.fromkeys(NO, False), "1.0": True, "0.0": False,
                     **{_vkey(k): bool(v) for k, v in VOCABULARY["values"]["bool"].items()}}
            out_dtype = pl.Boolean
        elif dt == "srdi":
            vocab = {_vkey(k): v for k, v in {**SRDI_LEVELS, **VOCABULARY["values"]["srdi"]}.items()}
        elif dt == "transformation":
            vocab = {_vkey(k): v for k, v in {**{k: k for k in TRANSFORMATION},
                                              **VOCABULARY["values"]["transformation"]}.items()}
        elif dt == "scope":
            vocab = {k.lower(): v for k, v in SCOPE_ALIASES.items()}
        elif dt == "basis":
            vocab = {k.lower(): v for k, v in BASIS.items()} | {"本月": "month", "本年累计": "ytd"}
        if vocab is not None:
            key = _vfold(t)
            stage2.append(_lookup(key, vocab, out_dtype).alias(vn))
            v = pl.col(vn)
            err = pl.when(present & v.is_null()).then(pl.lit("invalid_value"))
            if dt == "scope":
                v = v.fill_null(pl.lit("city"))
        elif col.name in USCC_COLUMNS:
            v = t.str.replace_many(_FW_ALNUM, _HW_ALNUM) if flags.get("non_ascii", True) else t
            v = v.str.to_uppercase()
            if damaged := _number_formatted(df[src]):
                err = pl.when(raw.is_in(damaged)).then(pl.lit("uscc_number_formatted"))
        elif col.name in CODE_COLUMNS:
            v = t.str.replace(r"^(\d+)\.0+$", "${1}") if flags.get("dot_zero", True) else t
            if flags.get("statistical_code", False):
                v = v.str.replace(r"^(\d{6})\d{6}$", "${1}")  # 12-digit 统计用区划代码: the county's adcode
        else:
            v = t
    if col.required:
        err = pl.when(~present).then(pl.lit("missing_value")).otherwise(err)
    return _Parse(stage1, stage2, v, err, rng)


_NUMBER_FORMATTED = r"^\s*(?:\d(?:\.\d+)?[eE]\+?\d+|\d{12,15}000(?:\.0+)?)\s*$"  # one pass over the column


def _number_formatted(codes: pl.Series) -> list[str]:
    """Credit codes (as delivered) that spreadsheet number formatting damaged: `9.11306E+17`, or digits ending
    in the zeros a 15-significant-digit float leaves (911306000000000000) that fail the check character."""
    found = codes.filter(codes.str.contains(_NUMBER_FORMATTED).fill_null(False)).unique().to_list()
    return [c for c in found if not is_valid_uscc(c.strip().upper())]


_DTYPES: dict[str, pl.DataType] = {
    "money": pl.Float64, "land": pl.Float64, "energy": pl.Float64, "float": pl.Float64, "int": pl.Int64,
    "period": pl.Date, "date": pl.Date, "bool": pl.Boolean,
}


# --------------------------------------------------------------------------------------------- rows

def _drop_non_data(raw: pl.DataFrame, kind: Kind, header_map: dict[str, str]) -> tuple[pl.DataFrame, dict]:
    """Drop rows that are not data: blank rows and total rows (合计, 总计, 其中：…) anywhere, and the note and
    signature block after the data (注：…, 1. …, 单位负责人：… 填表人：…, rows with no required value).

    Each is counted in `skipped` (and reported), never quarantined: they are parts of the form, not firms.
    """
    cols = [c for c in raw.columns if c != "_row"]
    # blank: every cell null or empty (cheap on millions of rows; whitespace-only cells count as filled)
    blank = raw.select(pl.all_horizontal([(pl.col(c).str.len_bytes() == 0).fill_null(True)
                                          for c in cols])).to_series()
    n_blank = int(blank.sum())
    if n_blank:
        raw = raw.filter(~blank)
    # totals: the first filled cell of the leftmost columns (where forms put 合计) names a total; one regex
    # pass over that cell keeps this cheap on millions of rows
    lead = pl.coalesce([pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)) for c in cols[:TOTAL_COLUMNS]])
    total = raw.select(lead.str.contains(TOTAL_REGEX).fill_null(False)).to_series()
    n_total = int(total.sum())
    if n_total:
        raw = raw.filter(~total)
    filled = [(pl.col(c).str.strip_chars().str.len_bytes() > 0).fill_null(False) for c in cols]
    first_text = pl.coalesce([pl.when(f).then(pl.col(c).str.strip_chars().str.replace_all(r"\s", ""))
                              for f, c in zip(filled, cols, strict=True)])
    required = [s for s, c in header_map.items() if kind.column(c).required]
    signature = pl.all_horizontal([(~f) | pl.col(c).str.strip_chars().str.contains(NOTE_PREFIX_REGEX)
                                   for f, c in zip(filled, cols, strict=True)])
    # first_text is materialised once: written into each of the note tests it made an expression of
    # (prefixes + 1) × columns branches whose planning cost ~50 ms a file, more than the rows
    tail = raw.tail(1000).select(
        pl.sum_horizontal(filled).alias("n_filled"), first_text.alias("first_text"), signature.alias("signature"),
        (~pl.any_horizontal([(pl.col(s).str.strip_chars().str.len_bytes() > 0).fill_null(False)
                             for s in required])).alias("no_required"))
    text = pl.col("first_text")
    note_cell = pl.any_horizontal([text.str.starts_with(p) for p in NOTE_PREFIXES]) | text.str.contains(NOTE_PATTERN)
    is_note = tail.select(
        ((pl.col("n_filled") == 1) & note_cell) | pl.col("signature") | pl.col("no_required")
    ).to_series().to_list()
    n_notes = 0
    for flag in reversed(is_note):
        if not flag:
            break
        n_notes += 1
    if n_notes:
        raw = raw.head(raw.height - n_notes)
    return raw, {"blank_rows": n_blank, "total_rows": n_total, "note_rows": n_notes}


def _issue_frame(df: pl.DataFrame, file_name: str, severity: str = SEVERITY) -> pl.DataFrame:
    """Build ISSUE_SCHEMA rows with zh/en messages from _row, column_name, header, value, rule, extra_*."""
    rule_zh = pl.col("rule").replace_strict({k: v[0] for k, v in RULES.items()}, default=pl.col("rule"))
    rule_en = pl.col("rule").replace_strict({k: v[1] for k, v in RULES.items()}, default=pl.col("rule"))
    val = pl.col("value").fill_null("")
    row = pl.col("_row").cast(pl.Utf8)
    zh = pl.concat_str([pl.lit(f"{file_name} 第"), row, pl.lit("行 "), pl.col("header").fill_null(""),
                        pl.lit('="'), val, pl.lit('"：'), rule_zh, pl.col("extra_zh").fill_null("")])
    en = pl.concat_str([pl.lit(f"{file_name}: row "), row, pl.lit(", column "),
                        pl.col("column_name").fill_null("-"), pl.lit(": "), rule_en, pl.lit(' "'), val,
                        pl.lit('"'), pl.col("extra_en").fill_null("")])
    return df.select(
        pl.col("_row").cast(pl.Int64), pl.col("column_name").cast(pl.Utf8), pl.col("value").cast(pl.Utf8),
        pl.col("rule").cast(pl.Utf8), pl.lit(severity).alias("severity"), zh.alias("message"),
        en.alias("message_en"),
    )


def _duplicates(good: pl.DataFrame, kind: Kind, cols: list[str], file_name: str,
                zh_of: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Within-file duplicates: exact copies after the first → duplicate_row; same key, different values →
    every copy conflicting_rows. Procurement has no unique key and legitimately repeats, so it is exempt."""
    empty = pl.DataFrame(schema=ISSUE_SCHEMA)
    if kind.name == "procurement" or good.height == 0:
        return good, empty
    key = list(kind.key)
    # A copy of a row repeats its key too: a file whose keys are all distinct (the usual one) has neither kind,
    # found without hashing every column (a nation monthly file 0.09 → 0.03 CPU-s).
    if key and not good.select(pl.struct(key).is_duplicated().any()).item():
        return good, empty
    flagged = good.with_columns(pl.struct(cols).is_first_distinct().alias("__first"))
    flagged = flagged.with_columns(pl.col("__first").cast(pl.Int64).sum().over(key).alias("__versions")
                                   if key else pl.lit(1).alias("__versions"))
    bad_mask = (~pl.col("__first")) | (pl.col("__versions") > 1)
    if not flagged.select(bad_mask.any()).item():
        return good, empty
    bad = flagged.filter(bad_mask)
    keep = flagged.filter(~bad_mask).drop("__first", "__versions")
    key_text = pl.concat_str([pl.concat_str([pl.lit(f"{k}="), pl.col(k).cast(pl.Utf8).fill_null("")])
                              for k in key], separator=", ") if key else pl.lit("")
    conf = bad.filter(pl.col("__versions") > 1)
    dup = bad.filter(pl.col("__versions") == 1)
    parts = []
    if conf.height:
        rows = conf.group_by(key).agg(pl.col("_row").sort().cast(pl.Utf8).str.join("、").alias("__rows"))
        conf = conf.join(rows, on=key, how="left", nulls_equal=True)
        parts.append(conf.select(
            "_row", pl.lit(",".join(key)).alias("column_name"), pl.lit("、".join(zh_of[k] for k in key))
            .alias("header"), key_text.alias("value"), pl.lit("conflicting_rows").alias("rule"),
            pl.concat_str([pl.lit("（同键的行："), pl.col("__rows"), pl.lit("）")]).alias("extra_zh"),
            pl.concat_str([pl.lit(" (rows "), pl.col("__rows").str.replace_all("、", ", "),
                           pl.lit(")")]).alias("extra_en")))
    if dup.height:
        firsts = flagged.filter(pl.col("__first")).select(*cols, pl.col("_row").alias("__orig"))
        dup = dup.join(firsts, on=cols, how="left", nulls_equal=True)
        parts.append(dup.select(
            "_row", pl.lit(None, pl.Utf8).alias("column_name"), pl.lit("整行").alias("header"),
            key_text.alias("value"), pl.lit("duplicate_row").alias("rule"),
            pl.concat_str([pl.lit("（与第"), pl.col("__orig").cast(pl.Utf8), pl.lit("行完全相同，保留第"),
                           pl.col("__orig").cast(pl.Utf8), pl.lit("行）")]).alias("extra_zh"),
            pl.concat_str([pl.lit(" (same as row "), pl.col("__orig").cast(pl.Utf8),
                           pl.lit(", which is kept)")]).alias("extra_en")))
    return keep, _issue_frame(pl.concat(parts, how="vertical_relaxed"), file_name)


# --------------------------------------------------------------------------------------------- main

def _read(path: Path, k: Kind, file_name: str) -> tuple[pl.DataFrame, Layout, str | None, str | None]:
    """Any inbox format → (raw frame with _row, layout, encoding, sheet): text, but for a Parquet file's typed
    numbers (_read_parquet)."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raw, layout, sheet = _read_xls(path, k, file_name)
        return raw, layout, None, sheet
    if suffix in (".xlsx", ".xlsm"):
        raw, layout, sheet = _read_xlsx(path, k, file_name)
        return raw, layout, None, sheet
    if suffix in (".parquet", ".pq"):
        raw, layout = _read_parquet(path, k, file_name)
        return raw, layout, None, None
    raw, encoding, layout = _read_csv(path, k, file_name)
    return raw, layout, encoding, None


def standardise(path: Path, kind: str, file_name: str | None = None) -> Standardised:
    """Read one inbox file of a kind into canonical columns and units, quarantining rows that fail to parse."""
    path = Path(path)
    file_name = file_name or path.name
    k = KINDS[kind]
    raw, layout, encoding, sheet = _read(path, k, file_name)
    typed = set(typed_columns(raw))
    where = _where(file_name, sheet)
    constants = [pl.lit(c.value, pl.Utf8).alias(c.field) for c in layout.columns if c.value is not None]
    if constants:  # e.g. the period a title line states, for every row
        raw = raw.with_columns(constants)
    header_map, units, factors = layout.header_map, layout.units, layout.factors
    skipped: dict[str, int] = {n: v for n, v in layout.skipped_header_rows.items() if v}
    if path.suffix.lower() not in (".parquet", ".pq"):
        raw, dropped = _drop_non_data(raw, k, header_map)
        skipped |= dropped
    if raw.height == 0:
        raise FileRejected("empty_file", f"{file_name}：没有数据行 / {file_name}: no data rows")

    src_of = {c: s for s, c in header_map.items()}
    out_cols = [c.name for c in k.stored_columns]
    has_period = "period" in src_of
    if has_period and "basis" not in out_cols:
        out_cols.append("basis")
    values: list[pl.Expr] = []
    errors: list[tuple[str, pl.Expr]] = []
    stage1: list[pl.Expr] = []
    stage2: list[pl.Expr] = []
    parses: dict[str, _Parse] = {}
    flags = _flags(raw, header_map, k)
    for col in k.columns:
        if col.name in src_of:
            parses[col.name] = p = _column(raw, col, src_of[col.name], factors.get(col.name, 1.0),
                                           flags.get(col.name, {}), flow=col.name in k.flows,
                                           typed=src_of[col.name] in typed)
            stage1 += p.stage1
            stage2 += p.stage2
    checks = {m: c for m, c in layout.cross_checks().items() if m in k.flows and m in src_of}
    for m, c in checks.items():
        p = _column(raw, Column(f"_ytd_{m}", "", k.column(m).dtype, required=False), c.field, c.factor,
                    {}, flow=True, typed=c.field in typed)
        stage1 += p.stage1
        stage2 += p.stage2
        values.append(p.value.alias(f"_ytd_{m}"))
    for col in k.stored_columns:
        if col.name == "basis" and has_period:
            continue  # combined with the period below
        if col.name not in src_of:
            lit = pl.lit("city", pl.Utf8) if col.dtype == "scope" else pl.lit(None, _DTYPES.get(col.dtype, pl.Utf8))
            values.append(lit.alias(col.name))
            continue
        values.append(parses[col.name].value.alias(col.name))
        errors.append((col.name, parses[col.name].err))
    if "period_start" in parses:
        errors.append(("period_start", parses["period_start"].err))
    if BEYOND_HEADER in raw.columns:
        src_of[BEYOND_HEADER] = BEYOND_HEADER
        errors.append((BEYOND_HEADER, pl.when(pl.col(BEYOND_HEADER).str.strip_chars().str.len_bytes() > 0)
                       .then(pl.lit("beyond_header"))))
    if has_period:
        basis, berr = _basis(parses, layout.file_basis)
        values.append(basis.alias("basis"))
        errors.append(("basis" if "basis" in src_of else "period", berr))

    # values and one rule column per parsed column; the first problem is picked on failed rows only
    ecols = [f"__e_{n}_{i}" for i, (n, _) in enumerate(errors)]
    sources = [src_of.get(n, src_of.get("period")) for n, _ in errors]
    parsed = raw.lazy().with_columns(stage1).with_columns(stage2).select(
        "_row", *values, *[e.alias(en) for (_, e), en in zip(errors, ecols, strict=True)],
        *[pl.col(src).alias(f"__s_{i}") for i, src in enumerate(sources)],
    ).with_columns(pl.any_horizontal([pl.col(e).is_not_null() for e in ecols]).alias("__bad")).collect()
    any_bad = bool(parsed["__bad"].any())
    ytd_cols = [f"_ytd_{m}" for m in checks]
    good = (parsed.filter(~pl.col("__bad")) if any_bad else parsed).select(*out_cols, *ytd_cols, "_row")
    failed = (parsed.filter(pl.col("__bad")) if any_bad else parsed.clear()).select(
        "_row",
        pl.coalesce([pl.when(pl.col(en).is_not_null()).then(pl.struct(
            pl.lit(n).alias("column_name"), pl.lit(sources[i]).alias("header"),
            pl.col(f"__s_{i}").cast(pl.Utf8).alias("value"), pl.col(en).alias("rule")))
            for i, ((n, _), en) in enumerate(zip(errors, ecols, strict=True))]).alias("__issue"),
        pl.sum_horizontal([pl.col(e).is_not_null() for e in ecols]).alias("__n_err"))
    del parsed
    more = pl.col("__n_err") - 1
    parse_issues = _issue_frame(
        failed.select("_row", pl.col("__issue").struct.unnest(),
                      pl.when(more > 0).then(pl.format("（本行另有{}处问题）", more)).alias("extra_zh"),
                      pl.when(more > 0).then(pl.format(" ({} more problem(s) in this row)", more))
                      .alias("extra_en")),
        where)
    warnings = _cross_check(good, checks, src_of, where) if checks else pl.DataFrame(schema=ISSUE_SCHEMA)
    good = good.drop(ytd_cols)
    zh_of = {c.name: next((s for s, cn in header_map.items() if cn == c.name), c.zh) for c in k.columns}
    frame, dup_issues = _duplicates(good, k, out_cols, where, zh_of)
    issues = pl.concat([parse_issues, dup_issues]).sort("_row") if dup_issues.height else parse_issues
    if warnings.height:
        warnings = warnings.join(frame.select("_row"), on="_row", how="semi")
    return Standardised(kind=kind, frame=frame, raw=raw, issues=issues, encoding=encoding,
                        header_map=header_map, units=units, rows_in=raw.height, skipped=skipped,
                        columns=layout.columns, sheet=sheet, warnings=warnings, file_name=file_name)


def _basis(parses: dict[str, _Parse], file_basis: str | None) -> tuple[pl.Expr, pl.Expr]:
    """Each row's basis (month | ytd) and the rule it breaks when its sources disagree.

    Sources: a 口径 column, the sub-column headers or config (file_basis), a range period (`2025年1-6月`),
    or a tax period's start (所属期起 on 1 January and 所属期止 later in the year: year to date).
    """
    is_range = parses["period"].is_range
    assert is_range is not None
    stated: list[pl.Expr] = []
    err: pl.Expr = pl.lit(None, pl.Utf8)
    if "period_start" in parses:
        start, end = parses["period_start"].value, parses["period"].value
        same_month = (start.dt.year() == end.dt.year()) & (start.dt.month() == end.dt.month())
        from_january = (start.dt.year() == end.dt.year()) & (start.dt.month() == 1) & (end.dt.month() > 1)
        stated.append(pl.when(same_month).then(pl.lit("month")).when(from_january).then(pl.lit("ytd")))
        err = pl.when(start.is_not_null() & ~same_month & ~from_january).then(pl.lit("period_span"))
    if "basis" in parses:
        stated.append(parses["basis"].value)
        err = pl.coalesce(parses["basis"].err, err)
    if file_basis is not None:
        stated.append(pl.lit(file_basis, pl.Utf8))
    derived = pl.when(is_range).then(pl.lit("ytd")).otherwise(pl.lit("month"))
    basis = pl.coalesce(*stated, derived)
    # a range period is year to date whatever else says so; two stated bases must agree
    disagree = (basis == "month") & is_range
    for a in stated:
        disagree = disagree | (a.is_not_null() & (a != basis))
    return basis, pl.coalesce(err, pl.when(disagree).then(pl.lit("invalid_value")))


def _cross_check(good: pl.DataFrame, checks: dict[str, SourceColumn], src_of: dict[str, str],
                 where: str) -> pl.DataFrame:
    """Warnings where a file's 本月 value disagrees with its 1-本月累计 value (docs/architecture.md#input-contract:
    both are loaded as reported, the month value into core; the year-to-date one only checks it).

    January's month equals its year to date; a month never exceeds it; and where the file also holds the
    firm's previous month, the difference of the two year-to-date values is the month.
    """
    parts = []
    for m, ycol in checks.items():
        y = f"_ytd_{m}"
        frame = good.select("_row", "uscc", "period", m, y).filter(pl.col(m).is_not_null() & pl.col(y).is_not_null())
        prev = frame.select("uscc", (pl.col("period").dt.offset_by("1mo")).alias("period"),
                            pl.col(y).alias("_prev"))
        frame = frame.join(prev.unique(["uscc", "period"], keep="first"), on=["uscc", "period"], how="left")
        tol = pl.max_horizontal(pl.lit(ycol.factor), pl.col(y).abs() * 0.002)
        january = pl.col("period").dt.month() == 1
        bad_jan = january & ((pl.col(m) - pl.col(y)).abs() > tol)
        bad_over = pl.col(m) > pl.col(y) + tol
        bad_step = ~january & pl.col("_prev").is_not_null() & \
            ((pl.col(y) - pl.col("_prev") - pl.col(m)).abs() > tol)
        hit = frame.filter(bad_jan | bad_over | bad_step)
        if not hit.height:
            continue
        mv, yv = pl.col(m).round(4).cast(pl.Utf8), pl.col(y).round(4).cast(pl.Utf8)
        why_zh = pl.when(bad_jan).then(pl.lit("1月的本月值应等于累计值")).when(bad_over).then(
            pl.lit("本月值大于累计值")).otherwise(pl.concat_str([pl.lit("累计值减上月累计值（"),
                                                          pl.col("_prev").round(4).cast(pl.Utf8),
                                                          pl.lit("万元）不等于本月值")]))
        why_en = pl.when(bad_jan).then(pl.lit("in January the month equals the year to date")).when(
            bad_over).then(pl.lit("the month exceeds the year to date")).otherwise(pl.concat_str([
                pl.lit("year to date minus the previous month's ("), pl.col("_prev").round(4).cast(pl.Utf8),
                pl.lit(" 万元) differs from the month")]))
        parts.append(hit.select(
            "_row", pl.lit(m).alias("column_name"), pl.lit(src_of[m]).alias("header"),
            mv.alias("value"), pl.lit("basis_mismatch").alias("rule"),
            pl.concat_str([pl.lit(f"（本月{m}="), mv, pl.lit(f"万元，“{ycol.header}”="), yv, pl.lit("万元；"),
                           why_zh, pl.lit("）")]).alias("extra_zh"),
            pl.concat_str([pl.lit(f" (month {m}="), mv, pl.lit(f" 万元, '{ycol.header}'="), yv,
                           pl.lit(" 万元: "), why_en, pl.lit(")")]).alias("extra_en")))
    if not parts:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    return _issue_frame(pl.concat(parts), where, severity="warning").sort("_row")
