"""Resource guards for one inbox file, checked before a reader touches it, and the failure reasons of files.

A hostile or broken file must cost the night one failed file, never the machine: an XLSX whose sheet
expands to gigabytes (a zip bomb), a sparse sheet whose one far cell makes the reader allocate billions of
cells, a CSV field of megabytes, a Parquet column no text can represent. Each guard here turns such a file
into FileRejected with a stable reason code and a zh/en message naming the file (and the member, line or
column), before any reader allocates for it. Limits are generous for real bureau exports and configurable.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.stages.s04_standardise import FileRejected

MiB = 1 << 20
# Uncompressed bytes of one XLSX (all members); a province monthly export is ≈50 MB of sheet XML.
MAX_XLSX_BYTES = int(os.environ.get("CLUSTERWATCH_MAX_XLSX_BYTES", 512 * MiB))
# Cells of the first sheet's used range (rows × columns the reader allocates), not cells present.
MAX_SHEET_CELLS = int(os.environ.get("CLUSTERWATCH_MAX_SHEET_CELLS", 20_000_000))
# Bytes of one CSV line (so of any field); Python's csv module stops at 131,072 characters anyway.
MAX_CSV_LINE_BYTES = int(os.environ.get("CLUSTERWATCH_MAX_CSV_LINE_BYTES", 128 * 1024))
BLOCK = 4 * MiB

_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})([0-9]{1,7})\"")
_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"([0-9]{1,7})\"")

# The reference search (_block_extent) is exact for a block whose cell and row tags all start with their reference
# in the form Excel, WPS and the common writers emit (`<c r="B7" s="1" t="s">`, `<row r="7" spans="1:3">`): the
# reader — calamine, under polars/fastexcel — then puts every cell where its reference says. Any other tag sends
# the block to _Placement, which places cells as calamine does: a cell without a usable reference, a reference
# written otherwise (single quotes, lower case, four letters, eight digits, spaces around '='), a second r
# attribute, a quoted '>' or '<' in a cell tag, a namespace prefix, a comment or CDATA section (text that merely
# looks like one of these only costs the exact reading). Separate searches: each keeps its literal-prefix scan.
_IRREGULAR = (re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,3}[0-9]{1,7}"(?: (?!r=)[\w:]+="[^"<>]*")*/?>)'),
              re.compile(rb'<row(?=[\s/>])(?! r="[0-9]{1,7}"[\s/>])'), re.compile(rb":(?:c|row)[\s/>]"),
              re.compile(rb"<!"))


def _irregular(head: bytes) -> bool:
    return any(pattern.search(head) for pattern in _IRREGULAR)


# sheetData as calamine's cell reader walks it (src/xlsx/cells_reader.rs): text, comments, row start and end tags,
# and whole cells — a cell's values, formulas and inline strings are read inside it, so nothing in them moves a
# cell. Tags are read as its XML reader reads them: a quoted value may hold '>' and '<'. What does not parse as
# these units (a row tag or a stray end tag inside a cell, an unknown element) is not guessed at: refused.
_ATTRS = rb"""(?:[^>"'<]|"[^"]*"|'[^']*')*+"""
_NS = rb"(?:[A-Za-z_][\w.-]*:)?"
_TEXT = rb"(?:[^<]++|<!\[CDATA\[.*?\]\]>|<!--.*?-->)*+"
_INNER = (rb"(?:[^<]++|<!\[CDATA\[.*?\]\]>|<!--.*?-->|<(?!/?" + _NS + rb"(?:is|c|row|v|f)[\s/>])/?[\w:.-]+" + _ATTRS
          + rb">)*+")
_VALUE = (rb"<(?P<v>" + _NS + rb"(?:v|f))(?=[\s/>])" + _ATTRS + rb"(?:(?<=/)>|>" + _TEXT + rb"</(?P=v)\s*>)"
          rb"|<(?P<s>" + _NS + rb"is)(?=[\s/>])" + _ATTRS + rb"(?:(?<=/)>|>" + _INNER + rb"</(?P=s)\s*>)")
_UNIT = re.compile(
    rb"[^<]++|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|<" + _NS + rb"c(?=[\s/>])(?P<cell>" + _ATTRS + rb")(?:(?<=/)>|>(?:[^<]++|<!--.*?-->|" + _VALUE
    + rb")*+</" + _NS + rb"c\s*>)"
    rb"|<" + _NS + rb"row(?=[\s/>])(?P<row>" + _ATTRS + rb")>|(?P<end></" + _NS + rb"row\s*>)"
    rb"|(?P<done></" + _NS + rb"sheetData\s*>)", re.S)
_SHEET_DATA = re.compile(rb"<" + _NS + rb"sheetData(?=[\s/>])" + _ATTRS + rb">", re.S)
_WHITESPACE = b" \t\n\r\x0c"


def _attributes(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    """A tag's attributes as calamine reads them (src/attrs.rs RawAttrIter): the key is everything up to '=',
    the value quoted either way. A malformed attribute (calamine's error: it reads nothing of the sheet) ends them."""
    pos, end = 0, len(raw)
    while True:
        while pos < end and raw[pos] in _WHITESPACE:
            pos += 1
        equals = raw.find(b"=", pos)
        if pos >= end or equals < 0:
            return
        key, pos = raw[pos:equals].rstrip(_WHITESPACE), equals + 1
        while pos < end and raw[pos] in _WHITESPACE:
            pos += 1
        if pos >= end or raw[pos] not in b"\"'":
            return
        close = raw.find(raw[pos:pos + 1], pos + 1)
        close = end if close < 0 else close
        yield key, raw[pos + 1:close]
        pos = close + 1


def _reference(value: bytes) -> tuple[int, int] | None:
    """calamine's get_row_and_optional_column: letters (either case) then digits, as 0-based (row, column);
    column -1 when there are no letters; None where calamine fails the sheet. Python integers do not wrap where
    calamine's u32 would: a reference that large is only ever refused."""
    match = re.fullmatch(rb"([A-Za-z]*)([0-9]+)", value)
    if match is None or int(match.group(2)) == 0:
        return None
    return int(match.group(2)) - 1, _column_number(match.group(1).upper()) - 1


class _Placement:
    """Where calamine's cell reader stands (row_index, col_index) and the used range so far (1-based extents).

    Blocks of the common form are read by their references (_block_extent); `after_references` then leaves the
    reader's position at a bound it cannot exceed, so a later block read with `scan` never places a cell lower or
    further right than calamine would. Every cell counts, valued or not (calamine keeps only valued ones)."""

    def __init__(self) -> None:
        self.row = self.col = self.max_row = self.max_col = 0
        self.in_data = False          # between <sheetData> and </sheetData>, the only part calamine reads
        self.done = False

    def after_references(self, head: bytes) -> None:
        """The position after a block read by references: each row start sets the row to its number at most
        (a self-closing one then ends it: still at most the largest number), each end tag adds one, and a column
        never passes the widest cell so far. A block cut after a row's end tag leaves the column at 0: if
        calamine were still inside a cell there, what `scan` reads next is no unit it accepts."""
        self.row = max(self.row, self.max_row) + head.count(b"</row")
        self.col = 0 if head.endswith(b"</row>") else max(self.col, self.max_col)
        self.in_data = self.in_data or (b"sheetData" in head and _SHEET_DATA.search(head) is not None)

    def scan(self, text: bytes, final: bool, file_name: str) -> int:
        """Place the cells of text as calamine does; returns where the last whole unit ends (the rest waits for
        the next block). Refuses a sheetData whose content is not rows and cells calamine reads unambiguously."""
        pos = 0
        if not self.in_data:
            start = _SHEET_DATA.search(text)
            if start is None:
                return max(0, text.rfind(b"<")) if not final else len(text)
            self.in_data, pos = True, start.end()
            if text[start.end() - 2:start.end()] == b"/>":
                self.done = True
                return len(text)
        for unit in _UNIT.finditer(text, pos):
            if unit.start() != pos:
                break
            pos = unit.end()
            if unit.group("cell") is not None:
                self._cell(unit.group("cell"))
            elif unit.group("row") is not None:
                attrs = unit.group("row")
                number = next((v for k, v in _attributes(attrs.rstrip(b"/")) if k == b"r"), None)
                where = _reference(number) if number is not None else None
                if where is not None:
                    self.row = where[0]
                if attrs.endswith(b"/"):
                    self.row, self.col = self.row + 1, 0
            elif unit.group("end") is not None:
                self.row, self.col = self.row + 1, 0
            elif unit.group("done") is not None:
                self.done = True
                return len(text)
        if len(text) - pos > BLOCK or (final and pos < len(text)):
            raise FileRejected("unreadable_file", (
                f"{file_name}：第一个工作表的单元格结构无法确定位置（约第{pos:,}字节起），为免读取时耗尽内存而拒收 / "
                f"{file_name}: the first sheet's XML does not lay out its rows and cells in a way that places every "
                f"cell (from about byte {pos:,} of the sheet); refused rather than risk the reader's memory"))
        return pos

    def _cell(self, attrs: bytes) -> None:
        """calamine's get_attrs!(r, s, t): the r read last before all three were found."""
        found, reference = 0, None
        for key, value in _attributes(attrs.rstrip(b"/")):
            if key in (b"r", b"s", b"t"):
                found += 1
                reference = value if key == b"r" else reference
                if found == 3:
                    break
        where = _reference(reference) if reference is not None else None
        row, col = where if where is not None and where[1] >= 0 else (self.row, self.col)
        self.max_row, self.max_col = max(self.max_row, row + 1), max(self.max_col, col + 1)
        self.col = col + 1


# Any r="…" attribute whose column letters or row number (leading zeros aside) may exceed the maxima so
# far: a superset of the references _CELL_REF / _ROW_REF can return, found by one scan in C. Built per
# (row, column) pair by _beyond; the text around each hit is then read with the exact patterns above.
_SEED_BYTES = 64 * 1024          # the end of a block read exactly first: with rows in order it holds the maxima
_MAX_HITS = 16                   # hits per block before the block is read exactly from there on
_MAX_SPAN = 64 * 1024            # a longer tag before a hit: the rest of the block is read exactly


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _greater(value: str, alphabet: str, longest: int) -> str:
    """Regex alternatives for the strings of `alphabet` (at most `longest` long, no leading zero) that
    sort above `value` as numbers do: longer ones, or as long and larger at the first differing place."""
    first, last = alphabet[0], alphabet[-1]
    lead = alphabet.lstrip("0")[0]
    options = [f"[{lead}-{last}][{first}-{last}]{{{len(value)},{longest - 1}}}"] if len(value) < longest else []
    for i, ch in enumerate(value):
        above = alphabet[alphabet.index(ch) + 1:]
        if above:
            options.append(f"{value[:i]}[{above[0]}-{last}][{first}-{last}]{{{len(value) - i - 1}}}")
    return "|".join(options) or "(?!)"


@functools.lru_cache(maxsize=64)
def _beyond(max_row: int, max_col: int) -> re.Pattern[bytes]:
    """The r="…" references with a row above max_row or a column above max_col (no word boundary before
    the r: a superset is safe, every hit is read exactly)."""
    rows = _greater(str(max_row), "0123456789", 7) if max_row else "[1-9][0-9]*"
    columns = _greater(_column_letters(max_col), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 3) if max_col else "[A-Z]{1,3}"
    return re.compile(rf'r="(?:[A-Z]{{0,3}}(?=[0-9]{{1,7}}")0*(?:{rows})|(?:{columns})[0-9]{{1,7}})"'.encode())


def _exact_extent(head: bytes, start: int, end: int, max_row: int, max_col: int) -> tuple[int, int]:
    """The maxima raised by the cell and row references _CELL_REF and _ROW_REF find in head[start:end]
    (a match there is a match in the whole block: pos/endpos keep what precedes start)."""
    refs = _CELL_REF.findall(head, start, end)      # (column letters, row) per cell; the maxima over the
    if refs:                                        # distinct values
        letters, numbers = zip(*refs, strict=True)
        max_col = max(max_col, max(map(_column_number, set(letters))))
        max_row = max(max_row, max(map(int, set(numbers))))
    return max(max_row, max(map(int, set(_ROW_REF.findall(head, start, end))), default=0)), max_col


def _block_extent(head: bytes, max_row: int, max_col: int) -> tuple[int, int]:
    """The maxima of the cells' and rows' references over head (whole tags only) and the maxima before it,
    exactly as _exact_extent over the whole block, without a Python object per cell: read the block's end
    exactly (its last rows hold the maxima when rows are in order), then search for any reference beyond
    those and read the tag around each hit exactly. A tag cannot span a '>', so every reference that counts
    lies in the text from the last '>' before it. Many hits or a long tag (a hostile or unordered sheet):
    the rest of the block is read exactly, as it was before this shortcut."""
    max_row, max_col = _exact_extent(head, max(0, len(head) - _SEED_BYTES), len(head), max_row, max_col)
    pos = 0
    for _ in range(_MAX_HITS):
        hit = _beyond(max_row, max_col).search(head, pos)
        if hit is None:
            return max_row, max_col
        tag = head.rfind(b">", 0, hit.start()) + 1
        if hit.start() - tag > _MAX_SPAN:
            break
        max_row, max_col = _exact_extent(head, tag, hit.end(), max_row, max_col)
        pos = hit.end()
    return _exact_extent(head, head.rfind(b">", 0, pos) + 1, len(head), max_row, max_col)


def _first_sheet_member(z: zipfile.ZipFile) -> str | None:
    """The worksheet the reader opens first (workbook order), or the first worksheet member by name."""
    names = sorted(n for n in z.namelist() if re.match(r"xl/worksheets/[^/]+\.xml$", n))
    try:
        workbook = z.read("xl/workbook.xml")[: 1 * MiB].decode("utf-8", "replace")
        rels = z.read("xl/_rels/workbook.xml.rels")[: 1 * MiB].decode("utf-8", "replace")
        rid = re.search(r"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"", workbook)
        if rid:
            target = re.search(rf"<Relationship\b[^>]*?Id=\"{re.escape(rid.group(1))}\"[^>]*?Target=\"([^\"]+)\"",
                               rels) or re.search(
                rf"<Relationship\b[^>]*?Target=\"([^\"]+)\"[^>]*?Id=\"{re.escape(rid.group(1))}\"", rels)
            if target:
                member = target.group(1).lstrip("/")
                member = member if member.startswith("xl/") else f"xl/{member}"
                if member in z.namelist():
                    return member
    except KeyError:
        pass
    return names[0] if names else None


def check_xlsx(path: Path, file_name: str) -> None:
    """Refuse an XLSX that would expand beyond MAX_XLSX_BYTES or whose first sheet spans more than
    MAX_SHEET_CELLS cells as the reader places them, reading the sheet as a stream with its own byte count (a
    zip's declared sizes can lie) and never holding more than two blocks of it."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a zip: the reader reports what it is
    with z:
        declared = sum(info.file_size for info in z.infolist())
        if declared > MAX_XLSX_BYTES:
            raise _too_big(file_name, declared)
        member = _first_sheet_member(z)
        if member is None:
            return
        seen = 0
        place = _Placement()
        carry = b""
        with z.open(member) as sheet:
            while True:
                block = sheet.read(BLOCK)
                seen += len(block)
                if seen > MAX_XLSX_BYTES:
                    raise _too_big(file_name, seen)
                if place.done:             # calamine reads nothing after sheetData; the bytes still count
                    if not block:
                        return
                    continue
                text, final = carry + block, not block
                # whole rows when the block ends in one; else whole tags (the rest is read with the next block)
                row_end = text.rfind(b"</row>")
                cut = len(text) if final else row_end + 6 if row_end >= 0 else text.rfind(b"<")
                head = text[:cut] if cut > 0 else text
                if not _irregular(head):
                    place.max_row, place.max_col = _block_extent(head, place.max_row, place.max_col)
                    place.after_references(head)
                    carry = text[len(head):]
                else:
                    carry = text[place.scan(text, final, file_name):]
                if place.max_row * max(place.max_col, 1) > MAX_SHEET_CELLS:
                    raise FileRejected("sheet_too_large", (
                        f"{file_name}：第一个工作表的范围达到{place.max_row:,}行×{place.max_col:,}列，"
                        f"超过{MAX_SHEET_CELLS:,}个单元格上限 / "
                        f"{file_name}: the first sheet spans {place.max_row:,} rows × {place.max_col:,} columns, "
                        f"more than the limit of {MAX_SHEET_CELLS:,} cells (CLUSTERWATCH_MAX_SHEET_CELLS)"))
                if final:
                    return


def _too_big(file_name: str, size: int) -> FileRejected:
    return FileRejected("xlsx_too_large", (
        f"{file_name}：Excel解压后超过{MAX_XLSX_BYTES // MiB:,} MiB（至少{size // MiB:,} MiB），疑似压缩炸弹 / "
        f"{file_name}: the workbook expands to more than {MAX_XLSX_BYTES // MiB:,} MiB (at least {size // MiB:,} MiB "
        "uncompressed; a zip bomb?) — limit CLUSTERWATCH_MAX_XLSX_BYTES"))


def scan_csv(path: Path, file_name: str) -> bool:
    """Refuse a CSV with a line longer than MAX_CSV_LINE_BYTES; return whether its lines end in CR only
    (old Mac exports), which the CSV readers would take for one endless line."""
    lines_before = 0           # complete lines before the current block
    run = 0                    # bytes of the line the previous block ended in
    saw_lf = saw_cr = False
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            saw_lf = saw_lf or b"\n" in block
            saw_cr = saw_cr or b"\r" in block
            if saw_cr and not saw_lf:
                block = block.replace(b"\r", b"\n")
            pieces = block.split(b"\n")
            pieces[0] = run + len(pieces[0])        # the previous block's last line continues here
            lengths = [pieces[0], *map(len, pieces[1:])]
            if max(lengths) > MAX_CSV_LINE_BYTES:
                line = lines_before + next(i for i, n in enumerate(lengths) if n > MAX_CSV_LINE_BYTES) + 1
                raise FileRejected("field_too_large", (
                    f"{file_name}：第{line}行超过{MAX_CSV_LINE_BYTES // 1024:,} KiB / "
                    f"{file_name}: line {line} is longer than {MAX_CSV_LINE_BYTES // 1024:,} KiB "
                    "(a field this large is not statistics; limit CLUSTERWATCH_MAX_CSV_LINE_BYTES)"))
            lines_before += len(lengths) - 1
            run = lengths[-1]
    return saw_cr and not saw_lf


def _lf_copy(path: Path) -> Path:
    """A temporary copy of a CR-only file with LF line ends (a CR byte never occurs inside a UTF-8 or
    GB18030 character, so the text is otherwise unchanged and every line keeps its number)."""
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, prefix="cw_lf_")
    with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        while block := src.read(BLOCK):
            dst.write(block.replace(b"\r", b"\n"))
    return Path(tmp)


def check_parquet(path: Path, file_name: str) -> None:
    """Refuse a Parquet file with a column the pipeline cannot keep as text (the raw values of every row
    are kept for quarantine): binary that is not UTF-8, durations, intervals and other exotic types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return  # unreadable: the reader reports it
    for field in schema:
        kind = field.type
        if pa.types.is_duration(kind) or pa.types.is_interval(kind):
            raise _bad_column(file_name, field.name, f"type {kind}")
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            column = pq.read_table(path, columns=[field.name]).column(0)
            try:
                column.cast(pa.large_string())
            except pa.ArrowInvalid as exc:
                raise _bad_column(file_name, field.name, "bytes that are not UTF-8 text") from exc


def _bad_column(file_name: str, column: str, what: str) -> FileRejected:
    return FileRejected("unsupported_column", (
        f"{file_name}：列“{column}”的内容无法作为文本保存（{what}） / "
        f"{file_name}: column {column!r} cannot be kept as text ({what})"))


@contextmanager
def readable(path: Path, file_name: str) -> Iterator[Path]:
    """Check a landed file against the resource guards; yield the path the readers should read (a
    temporary LF copy for a CR-only CSV, else the landed file itself, which is never changed)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        check_xlsx(path, file_name)
    elif suffix in (".parquet", ".pq"):
        check_parquet(path, file_name)
    elif suffix not in (".xls",) and scan_csv(path, file_name):
        copy = _lf_copy(path)
        try:
            yield copy
        finally:
            copy.unlink(missing_ok=True)
        return
    yield path


PHASE_REASONS = {"read": ("unreadable_file", "读取", "reading"), "check": ("check_failed", "校验", "checking"),
                 "load": ("load_failed", "入库", "loading")}


def describe_failure(exc: BaseException, file_name: str, phase: str = "read") -> tuple[str, str]:
    """Reason code and readable message for an unexpected exception while one file was read, checked or
    loaded (the phase names which, so a pipeline fault is not passed off as a bad file)."""
    if isinstance(exc, MemoryError):
        return "out_of_memory", (f"{file_name}：处理时内存不足 / {file_name}: ran out of memory while processing it")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return "io_error", f"{file_name}：读写出错 / {file_name}: I/O error{where}: {exc.strerror or exc}"
    reason, zh, en = PHASE_REASONS[phase]
    text = str(exc).strip().splitlines()[0][:400] if str(exc).strip() else ""
    return reason, (f"{file_name}：{zh}时出错（{type(exc).__name__}：{text}） / "
                    f"{file_name}: failed while {en} it ({type(exc).__name__}: {text})")
