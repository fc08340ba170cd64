"""Writers for the sample generator: bureau-style CSV/XLSX/Parquet files with tracked row numbers.

Bureaus deliver the same facts in many shapes (encodings, title and note rows, unit suffixes, period
spellings); the ingest code is only trustworthy if the sample exercises all of them, and the planted bad
rows are only useful if their physical row numbers are known exactly. Every file goes through `write`,
which orders rows, records where each planted bad row ended up and writes byte-reproducible output.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter

from flows.support.contract import KINDS

BRACKETS = {"round": "({})", "full": "（{}）", "square": "[{}]"}
FIXED_CREATED = dt.datetime(2026, 1, 5, 9, 0, 0)  # constant XLSX metadata so reruns are byte-identical


@dataclass(frozen=True)
class Style:
    """How one bureau writes its files."""

    fmt: str = "csv"  # csv | xlsx | parquet
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gbk
    lang: str = "zh"  # zh: Chinese headers with unit suffixes; en: canonical names, canonical units
    bracket: str = "full"
    money: str = "万元"
    energy: str = "吨标准煤"
    land: str = "亩"
    basis: str = "month"  # month (当月) | ytd (累计)
    basis_col: bool = True  # write a 口径 column; ytd without it is spelled as range periods
    period: str = "dash"  # dash 2025-06 | compact 202506 | zh 2025年6月 | slash 2025/6
    janfeb: bool = False  # January and February reported together as 1-2月
    title_rows: int = 1
    blank_before_notes: bool = False
    omit: tuple[str, ...] = ()  # optional measures this bureau does not report
    alias: tuple[tuple[str, str], ...] = ()  # (column, Chinese alias used instead of the zh name)

    def unit(self, family: str) -> str:
        if self.lang == "en":
            return {"money": "万元", "land": "亩", "energy": "吨标准煤"}[family]
        return {"money": self.money, "land": self.land, "energy": self.energy}[family]


def header(kind: str, col: str, style: Style) -> str:
    """Column header as this bureau spells it (contract zh name or alias plus unit suffix)."""
    if style.lang == "en":
        return col
    c = KINDS[kind].column(col)
    name = dict(style.alias).get(col, c.zh)
    fam = c.unit_family
    return name + BRACKETS[style.bracket].format(style.unit(fam)) if fam else name


def money(yuan: pl.Expr, unit: str) -> pl.Expr:
    """Integer 元 → the value written under a header in `unit` (exact decimal spellings)."""
    if unit == "元":
        return yuan
    if unit == "千元":
        return (yuan / 1000).round(1)
    return (yuan / 10000).round(2)


def energy(kgce: pl.Expr, unit: str) -> pl.Expr:
    return kgce if unit == "千克标准煤" else (kgce / 1000).round(2)


def fmt_period(year: pl.Expr, month: pl.Expr, start: pl.Expr | None, style: Style) -> pl.Expr:
    """Spell a period; when start is not null the record is a year-to-date range start..month."""
    y, m = year.cast(pl.Utf8), month.cast(pl.Utf8)
    m2 = month.cast(pl.Utf8).str.zfill(2)
    single = {
        "dash": pl.concat_str([y, pl.lit("-"), m2]),
        "compact": pl.concat_str([y, m2]),
        "zh": pl.concat_str([y, pl.lit("年"), m, pl.lit("月")]),
        "slash": pl.concat_str([y, pl.lit("/"), m]),
    }[style.period]
    if start is None:
        return single
    if style.period == "dash":
        rng = pl.concat_str([y, pl.lit("-"), start.cast(pl.Utf8).str.zfill(2), pl.lit("~"), m2])
    else:
        rng = pl.concat_str([y, pl.lit("年"), start.cast(pl.Utf8), pl.lit("-"), m, pl.lit("月")])
    return pl.when(start.is_null()).then(single).otherwise(rng)


def write(df: pl.DataFrame, path: Path, style: Style, title: str = "", notes: tuple[str, ...] = ()) -> list[dict]:
    """Write df (display columns plus _key, _rule, _col) and return the planted bad rows with row numbers.

    Rows are ordered by _key (bad copies get keys just after the row they imitate). Row numbers follow
    what a person sees: CSV and Parquet data start at row 2, XLSX at title_rows + 2.
    """
    df = df.sort("_key", maintain_order=True)
    first = style.title_rows + 2 if style.fmt == "xlsx" else 2
    bad = (
        df.with_row_index("_i")
        .filter(pl.col("_rule").is_not_null())
        .select(
            pl.lit(path.name).alias("file_name"),
            (pl.col("_i") + first).cast(pl.Int64).alias("row_number"),
            pl.col("_col").alias("column_name"),
            pl.col("_rule").alias("rule"),
        )
    )
    data = df.drop("_key", "_rule", "_col")
    path.parent.mkdir(parents=True, exist_ok=True)
    if style.fmt == "parquet":
        data.write_parquet(path, compression="zstd", statistics=False)
    elif style.fmt == "csv":
        text = data.write_csv(line_terminator="\r\n" if style.encoding == "gbk" else "\n")
        path.write_bytes(text.encode(style.encoding))
    else:
        _write_xlsx(data, path, style, title, notes)
    return bad.to_dicts()


def _write_xlsx(data: pl.DataFrame, path: Path, style: Style, title: str, notes: tuple[str, ...]) -> None:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"title": title, "author": "统计局", "created": FIXED_CREATED})
    ws = wb.add_worksheet("Sheet1")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_string(0, 0, title or path.stem)
    if style.title_rows > 1:
        ws.write_string(1, 0, "填报单位：统计部门    金额单位见表头")
    r = style.title_rows
    ws.write_row(r, 0, data.columns)
    for row in data.iter_rows():
        r += 1
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(r, j, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, str):
                ws.write_string(r, j, v)
            else:
                ws.write_number(r, j, v)
    if style.blank_before_notes:
        r += 1
    for note in notes:
        r += 1
        ws.write_string(r, 0, note)
    wb.close()
