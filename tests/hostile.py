"""Generated hostile and broken inbox files, each with the outcome the night must give it.

A case is a file (or a symlink / FIFO) and its expected fate: refused (never landed), failed with a reason
code, or loaded with some rows quarantined under named rules. Kept apart from the test module so the
cases read as a list.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from flows.support.uscc import uscc_check_char

LEADER = "91130609MA0000001X"
SUPPLIER = "91130609MA00000021"
STRANGER = "91130609MA0000003" + uscc_check_char("91130609MA0000003")
BAD_CHECK = "91130609MA0000001Y"
HEAD = "统一社会信用代码,统计期,工业总产值（万元）,从业人员平均人数"


@dataclass(frozen=True)
class Case:
    """One hostile entry of the inbox and its expected outcome."""

    name: str
    write: Callable[[Path], None]
    status: str                          # refused | failed | loaded
    reason: str | None = None            # failed: reason code; refused: first word of the refusal
    rules: frozenset[str] = frozenset()  # loaded: the quarantine rules its rows end under
    loaded: int | None = None            # loaded: rows expected in core


def text(body: str, encoding: str = "utf-8", newline: str = "\n") -> Callable[[Path], None]:
    return lambda p: p.write_bytes(body.replace("\n", newline).encode(encoding))


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def monthly(*rows: str) -> str:
    return HEAD + "\n" + "".join(r + "\n" for r in rows)


def xlsx(rows: list[list[object]], far_cell: bool = False, padding: int = 0) -> Callable[[Path], None]:
    """A workbook written by xlsxwriter; far_cell puts one value at XFD1048576 (a sparse sheet), padding
    appends that many bytes of XML whitespace to the sheet (a sheet that expands far beyond its zip)."""
    def write(path: Path) -> None:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet()
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        if far_cell:
            sheet.write(1048575, 16383, "x")
        book.close()
        if not padding:
            path.write_bytes(buffer.getvalue())
            return
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, \
                zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * padding)
                dst.writestr(item.filename, data)
    return write


def parquet(columns: dict[str, pa.Array]) -> Callable[[Path], None]:
    return lambda p: pq.write_table(pa.table(columns), p)


def truncated_parquet(path: Path) -> None:
    parquet({"uscc": pa.array([LEADER] * 50), "period": pa.array(["2025-06"] * 50)})(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncated_xlsx(path: Path) -> None:
    xlsx([["统一社会信用代码", "统计期", "工业总产值"], [LEADER, "2025-06", 1]])(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def symlink(target: str) -> Callable[[Path], None]:
    return lambda p: os.symlink(target, p)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def linked_folder(path: Path) -> None:
    os.symlink("/etc", path, target_is_directory=True)


def good(period: str = "2025-06") -> str:
    return f"{LEADER},{period},100,800"


GOOD = good()
LONG_NAME = "monthly_2025-06_" + "很长的文件名" * 13 + ".csv"     # 16 + 234 + 4 = 254 bytes
assert len(LONG_NAME.encode()) <= 255

CASES: list[Case] = [
    # refused: never read, never landed
    Case("monthly_passwd.csv", symlink("/etc/passwd"), "refused", "symlink"),
    Case("monthly_dangling.csv", symlink("/nonexistent/file.csv"), "refused", "symlink"),
    Case("monthly_fifo.csv", fifo, "refused", "special_file"),
    Case("monthly_etc", linked_folder, "refused", "symlink"),
    # failed files: kept, marked failed with a reason, the night goes on
    Case("monthly_empty.csv", raw(b""), "failed", "empty_file"),
    Case("monthly_blank.csv", text("   \n\n  \n"), "failed", "empty_file"),
    Case("monthly_header_only.csv", text(HEAD + "\n"), "failed", "empty_file"),
    Case("monthly_garbage.csv", raw(bytes(range(256)) * 64), "failed", "not_a_table"),
    Case("monthly_nul.csv", raw(b"\x00" * 4096), "failed", "not_a_table"),
    Case("monthly_prose.csv", text("请查收附件中的报表，谢谢。\n"), "failed", "not_a_table"),
    Case("monthly_wrong_delimiter.csv", text(HEAD.replace(",", "#") + "\n" + GOOD.replace(",", "#") + "\n"),
         "failed", "not_a_table"),
    Case("monthly_missing_columns.csv", text("统一社会信用代码,工业总产值\n" + f"{LEADER},5\n"), "failed",
         "missing_columns"),
    Case("monthly_header_too_deep.csv", text("说明\n" * 40 + monthly(GOOD)), "failed", "not_a_table"),
    Case("monthly_mixed_encoding.csv", raw((monthly(GOOD) + "江苏").encode("utf-8") + "测试数据".encode("gbk")),
         "failed", "not_a_table"),
    Case("monthly_huge_field.csv", text(HEAD + ",备注\n" + GOOD + "," + "x" * 10_000_000 + "\n"), "failed",
         "field_too_large"),
    Case("monthly_pdf.xlsx", raw(b"%PDF-1.7\n" + b"0" * 2000), "failed", "not_a_table"),
    Case("monthly_truncated.xlsx", truncated_xlsx, "failed", "unreadable_file"),
    Case("monthly_zipbomb.xlsx", xlsx([["统一社会信用代码", "统计期", "工业总产值"], [LEADER, "2025-06", 1]],
                                      padding=40 * (1 << 20)), "failed", "xlsx_too_large"),
    Case("monthly_sparse.xlsx", xlsx([["统一社会信用代码", "统计期", "工业总产值"], [LEADER, "2025-06", 1]],
                                     far_cell=True), "failed", "sheet_too_large"),
    Case("monthly_truncated.parquet", truncated_parquet, "failed", "unreadable_file"),
    Case("monthly_bytes.parquet", parquet({"uscc": pa.array([LEADER]), "period": pa.array(["2025-06"]),
                                           "output": pa.array([1.0]), "blob": pa.array([b"\xff\xfe"], pa.binary())}),
         "failed", "unsupported_column"),
    Case("monthly_duration.parquet", parquet({"uscc": pa.array([LEADER]), "period": pa.array(["2025-06"]),
                                              "output": pa.array([1.0]),
                                              "wait": pa.array([timedelta(seconds=5)], pa.duration("s"))}),
         "failed", "unsupported_column"),
    Case("memo_2025.csv", text(monthly(GOOD)), "failed", "unknown_kind"),
    # loaded files: every row loaded or quarantined under its rule
    Case("monthly_nan_inf.csv", text(monthly(f"{LEADER},2025-06,NaN,800", f"{LEADER},2025-07,inf,800",
                                             f"{LEADER},2025-08,-Infinity,800", f"{LEADER},2025-09,1e400,800",
                                             good("2025-10"))),
         "loaded", rules=frozenset({"unparsable_number"}), loaded=1),
    Case("monthly_bad_periods.csv", text(monthly(f"{LEADER},2025-13,1,1", f"{LEADER},0000-01,1,1",
                                                 f"{LEADER},abc,1,1", f"{LEADER},2025年0月,1,1", GOOD)),
         "loaded", rules=frozenset({"unparsable_period"}), loaded=1),
    Case("monthly_future.csv", text(monthly(f"{LEADER},2099-01,1,1", good("2025-05"))), "loaded",
         rules=frozenset({"period_out_of_window"}), loaded=1),
    Case("monthly_identity.csv", text(monthly(f"{BAD_CHECK},2025-06,1,1", f"{STRANGER},2025-06,1,1",
                                              "12345,2025-06,1,1", f"{SUPPLIER},2025-06,1,1")),
         "loaded", rules=frozenset({"invalid_uscc", "unknown_firm"}), loaded=1),
    Case("monthly_negative.csv", text(monthly(f"{SUPPLIER},2025-05,-5,1", f"{SUPPLIER},2025-04,5,-1")), "loaded",
         rules=frozenset({"negative_value"}), loaded=0),
    Case("monthly_duplicates.csv", text(monthly(GOOD, GOOD, f"{SUPPLIER},2025-06,1,1", f"{SUPPLIER},2025-06,2,1")),
         "loaded", rules=frozenset({"duplicate_row", "conflicting_rows"}), loaded=1),
    Case("monthly_fractional_people.csv", text(monthly(f"{LEADER},2025-07,1,10.5", f"{LEADER},2025-08,1,10")),
         "loaded", rules=frozenset({"unparsable_number"}), loaded=1),
    Case("monthly_cr_only.csv", text(monthly(GOOD, f"{SUPPLIER},2025-06,3,30"), newline="\r"), "loaded", loaded=2),
    Case("monthly_crlf.csv", text(monthly(f"{LEADER},2025-05,100,800"), newline="\r\n"), "loaded", loaded=1),
    Case("monthly_gbk.csv", text(monthly(good("2025年5月")), encoding="gbk"), "loaded",
         loaded=1),
    Case("monthly_semicolon.csv", text(monthly(GOOD).replace(",", ";")), "loaded", loaded=1),
    Case("monthly_ragged.csv", text(monthly(GOOD + ",extra,cells", good("2025-05") + ",")),
         "loaded", rules=frozenset({"beyond_header"}), loaded=1),
    Case("monthly_unbalanced_quote.csv", text(monthly(f'{LEADER},2025-04,"100,800', GOOD)), "failed",
         "not_a_table"),
    Case("monthly_fullwidth.csv", text(monthly(f"{LEADER},2025-03,１２，０００,８００")), "loaded", loaded=1),
    Case("monthly_int64.parquet", parquet({"uscc": pa.array([LEADER, SUPPLIER]), "period": pa.array(["2025-06"] * 2),
                                           "output": pa.array([1.0, 2.0]),
                                           "employees": pa.array([2**63 - 1, 7], pa.int64())}),
         "loaded", rules=frozenset({"out_of_range"}), loaded=1),
    Case("monthly_wide.csv", text(HEAD + "".join(f",x{i}" for i in range(3000)) + "\n" + GOOD + ",1" * 3000 + "\n"),
         "loaded", loaded=1),
    Case("monthly_formula_errors.xlsx", xlsx([["统一社会信用代码", "统计期", "工业总产值"],
                                              [LEADER, "2025-02", "#DIV/0!"], [LEADER, "2025-01", 5]]), "loaded",
         rules=frozenset({"unparsable_number"}), loaded=1),
    Case("firms_injection.csv", text("统一社会信用代码,企业名称,集群编码,行政区划代码\n"
                                     f"{SUPPLIER},=cmd|' /C calc'!A0 <script>alert(1)</script>"
                                     "'; DROP TABLE core.firms; --,"
                                     "XS01,130609\n"), "loaded", loaded=1),
    Case("monthly_'; DROP TABLE meta.files; --<b>.csv", text(monthly(good("2025-01"))), "loaded", loaded=1),
    Case(LONG_NAME, text(monthly(good("2025-02"))), "loaded", loaded=1),
]
