"""`clusterwatch export`: a warehouse table or a read-only query to XLSX, CSV or Parquet, for colleagues who do
not use SQL.

Why not DuckDB's own COPY: `COPY … (FORMAT xlsx)` needs the excel extension, which cannot be downloaded
here, and DuckDB's CSV has no byte-order mark, so Excel shows Chinese as mojibake. So:
* XLSX (xlsxwriter): sheet 1 holds the rows; sheet 2 ("说明 notes") the columns with their Chinese/English
  comments from the warehouse, then the indicator dictionary. Text is always written as text (never a
  formula or a link) and text that starts like a formula (= + - @) carries Excel's quote prefix, so opening
  the file runs nothing. Dates are real dates. More rows than a sheet holds is refused, never cut.
* CSV: UTF-8 with BOM, formula-like text neutralised with a leading apostrophe (as the report's CSVs).
* Parquet (pyarrow): the DuckDB types as they are.
The warehouse is opened read-only, as an analyst would: an export never blocks the nightly run, and a query
cannot change anything.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import xlsxwriter

from flows.render.report import write_csv
from flows.render.safe_text import FORMULA_PREFIXES
from flows.support.warehouse import connect_readonly, run_sql

FORMATS = ("xlsx", "csv", "parquet")
XLSX_MAX_ROWS = 1_048_575          # Excel's 1,048,576 rows less the header
DATA_SHEET = "数据 data"
NOTES_SHEET = "说明 notes"
# Schemas whose column comments describe a query's columns (the analyst interface, docs/architecture.md#stable-names).
DOCUMENTED_SCHEMAS = ("meta", "quarantine", "core", "history", "mart")


@dataclass(frozen=True)
class Export:
    """What export() wrote."""

    path: Path
    rows: int
    columns: list[str]


def export(warehouse: Path, out: Path, fmt: str | None = None, table: str | None = None,
           query: str | None = None) -> Export:
    """Write `table` (schema.name) or the result of `query` to `out`; the format follows --format or the suffix."""
    if (table is None) == (query is None):
        raise ValueError("give exactly one of a table or a query")
    fmt = fmt or out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    con = connect_readonly(warehouse)
    try:
        result = run_sql(con, "export_table", identifiers={"table": table}) if table else con.execute(query)
        columns = [d[0] for d in result.description]
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            data = result.to_arrow_table()
            pq.write_table(data, out)
            return Export(out, data.num_rows, columns)
        rows = result.fetchall()
        if fmt == "csv":
            write_csv(out, columns, ([_text(v) for v in row] for row in rows))
        else:
            if len(rows) > XLSX_MAX_ROWS:
                raise ValueError(f"{len(rows):,} rows do not fit one Excel sheet ({XLSX_MAX_ROWS:,}); "
                                 "export to csv or parquet, or narrow the query")
            _write_xlsx(out, columns, rows, column_notes(con, columns, table), dictionary(con))
        return Export(out, len(rows), columns)
    finally:
        con.close()


def column_notes(con: duckdb.DuckDBPyConnection, columns: Sequence[str], table: str | None) -> list[tuple]:
    """(column, type, comment) for each exported column.

    A table's own comments; for a query, the comment of the same-named column of the documented schemas
    when they all say the same, and an indicator code's dictionary entry — else a note that the query made it.
    """
    if table:
        schema, name = table.split(".") if "." in table else ("main", table)
        found = {r[0]: (r[1], r[2]) for r in run_sql(
            con, "export_table_columns", {"schema": schema, "table_name": name}).fetchall()}
        return [(c, *found.get(c, ("", ""))) for c in columns]
    notes = []
    for column in columns:
        comments = {r[0] for r in run_sql(con, "export_column_comments", {
            "column": column, "schemas": list(DOCUMENTED_SCHEMAS)}).fetchall()}
        text = comments.pop() if len(comments) == 1 else "查询结果列 / column computed by the query"
        notes.append((column, "", text))
    return notes


def dictionary(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """The indicator dictionary (header, rows) as the warehouse holds it."""
    result = run_sql(con, "export_dictionary")
    return [d[0] for d in result.description], result.fetchall()


def _text(value: Any) -> Any:
    """A cell for CSV: lists joined, dates ISO, everything else as DuckDB returned it."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _write_xlsx(out: Path, columns: Sequence[str], rows: Sequence[tuple], notes: Sequence[tuple],
                dict_table: tuple[list[str], list[tuple]]) -> None:
    book = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False, "constant_memory": True,
                                          "nan_inf_to_errors": True})
    head = book.add_format({"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top"})
    quoted = book.add_format({"quote_prefix": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    def put(sheet: Any, r: int, c: int, value: Any, text_format: Any = None) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(r, c, value)
        elif isinstance(value, int | float | decimal.Decimal):
            sheet.write_number(r, c, float(value))
        elif isinstance(value, dt.datetime):
            sheet.write_datetime(r, c, value.replace(tzinfo=None), stamp)
        elif isinstance(value, dt.date):
            sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
        else:
            text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
            fmt = quoted if text.startswith(FORMULA_PREFIXES) else text_format
            sheet.write_string(r, c, text, fmt)

    data = book.add_worksheet(DATA_SHEET)
    data.freeze_panes(1, 0)
    for c, name in enumerate(columns):
        put(data, 0, c, name, head)
        data.set_column(c, c, max(10, min(40, len(name) + 2)))
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            put(data, r, c, value)

    sheet = book.add_worksheet(NOTES_SHEET)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 22)
    sheet.set_column(2, 6, 30)
    r = 0
    for c, name in enumerate(("列 column", "类型 type", "说明 comment")):
        put(sheet, r, c, name, head)
    for r, note in enumerate(notes, start=1):
        for c, value in enumerate(note):
            put(sheet, r, c, value, wrap)
    r += 2
    put(sheet, r, 0, "指标字典 indicator dictionary (mart.indicator_dictionary)", head)
    header, entries = dict_table
    r += 1
    for c, name in enumerate(header):
        put(sheet, r, c, name, head)
    for entry in entries:
        r += 1
        for c, value in enumerate(entry):
            put(sheet, r, c, value, wrap)
    book.close()
