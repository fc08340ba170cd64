"""The XLSX sheet guard finds the used range's last row and column exactly, wherever a far reference hides:
mid-block, in a cell whose row differs from its row element, behind a namespace prefix or other attributes,
in rows out of order, in a tag longer than the search reads back, or among more hits than it follows; and it
places cells without a reference, or with one written otherwise, where the reader (calamine) places them."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from flows.stages.s04_standardise import FileRejected
from flows.support import guards


def rows(first: int, last: int, columns: str = "ABC") -> bytes:
    """Ordered rows first..last with one numeric cell per column letter, as a writer emits them."""
    return b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>1</v></c>' % (c.encode(), r) for c in columns)
                    + b"</row>" for r in range(first, last + 1))


def extent(head: bytes) -> tuple[int, int]:
    return guards._block_extent(head, 0, 0)


def test_the_last_ordered_row_and_column_are_the_extent():
    assert extent(rows(1, 5000)) == (5000, 3)


def test_a_far_column_hidden_mid_block_counts():
    far = b'<row r="2001"><c r="XFD2001"><v>1</v></c></row>'
    assert extent(rows(1, 2000) + far + rows(2002, 5000)) == (5000, 16384)


def test_a_cell_whose_row_differs_from_its_row_element_counts():
    sheet = rows(1, 2000) + b'<row r="2001"><c r="A1048576"><v>1</v></c></row>' + rows(2002, 5000)
    assert extent(sheet) == (1048576, 3)


def test_namespace_prefixes_and_attribute_order_do_not_hide_a_reference():
    sheet = rows(1, 3000) + b'<x:row spans="1:3" r="3001"><x:c s="1" t="n" r="AB3001"><x:v>1</x:v></x:c></x:row>'
    assert extent(sheet + rows(3002, 4000)) == (4000, 28)


def test_rows_out_of_order_keep_their_largest_number():
    assert extent(rows(9000, 9001, "ABCDE") + rows(1, 3000)) == (9001, 5)


def test_leading_zeros_count_as_the_number_they_write():
    assert extent(rows(1, 50) + b'<row r="0000900"><c r="B0000900"/></row>') == (900, 3)


def test_a_reference_in_cell_text_is_not_a_cell():
    assert extent(rows(1, 50) + b'<row r="51"><c r="A51" t="inlineStr"><is><t>r="ZZZ9999999"</t></is></c></row>') \
        == (51, 3)


def test_the_first_reference_of_a_tag_is_its_place():
    assert extent(rows(1, 50) + b'<c r="B51" xr:r="ZZ999999"/>') == (51, 3)


def test_a_tag_longer_than_the_read_back_is_read_exactly():
    long_tag = b'<c ' + b'x="1" ' * 20_000 + b'r="ZZ77"/>'
    assert extent(rows(1, 500) + long_tag + rows(501, 600)) == (600, 702)


def test_more_far_references_than_the_search_follows_are_read_exactly():
    climbing = b"".join(b'<c r="%s%d"/>' % (col, row)
                        for row, col in zip(range(100_000, 100_050), [b"D", b"E", b"F", b"G", b"H"] * 10,
                                            strict=True))
    assert extent(climbing + rows(1, 3000)) == (100_049, 8)


def write_sheet(path: Path, sheet: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<worksheet><sheetData>" + sheet + b"</sheetData></worksheet>")
    return path


def test_a_far_cell_in_an_early_block_rejects_the_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr(guards, "BLOCK", 4096)          # many blocks, the far cell in the second
    path = write_sheet(tmp_path / "far.xlsx",
                       rows(1, 100) + b'<row r="101"><c r="XFD999999"/></row>' + rows(102, 5000))
    with pytest.raises(FileRejected) as caught:
        guards.check_xlsx(path, "far.xlsx")
    assert caught.value.reason == "sheet_too_large"
    assert "999,999 rows × 16,384 columns" in str(caught.value)


def test_an_ordered_sheet_within_the_limit_passes(tmp_path, monkeypatch):
    monkeypatch.setattr(guards, "BLOCK", 4096)
    monkeypatch.setattr(guards, "MAX_SHEET_CELLS", 5000 * 3)
    guards.check_xlsx(write_sheet(tmp_path / "ok.xlsx", rows(1, 5000)), "ok.xlsx")
    monkeypatch.setattr(guards, "MAX_SHEET_CELLS", 5000 * 3 - 1)
    with pytest.raises(FileRejected, match="5,000 rows × 3 columns"):
        guards.check_xlsx(write_sheet(tmp_path / "over.xlsx", rows(1, 5000)), "over.xlsx")


# ---------------------------------------------------------------- the sheet as the reader (calamine) places it

CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
                 b'"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
                 b'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
                 b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
PACKAGE_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
A1 = b'<row r="1"><c r="A1"><v>0</v></c></row>'     # the reader's range then starts at A1, as the guard's does


def workbook(path: Path, sheet_data: bytes) -> Path:
    """A workbook the reader opens, with `sheet_data` as the first sheet's sheetData content."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://'
                   b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + sheet_data
                   + b"</sheetData></worksheet>")
    return path


def reader_extent(path: Path) -> tuple[int, int]:
    """Rows × columns of the range the reader allocates for the first sheet."""
    import fastexcel

    sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None)
    return sheet.height, sheet.width


def guard_extent(path: Path, monkeypatch, cells: int) -> tuple[int, int] | None:
    """The extent the guard states when its limit is `cells`, or None when the sheet passes."""
    monkeypatch.setattr(guards, "MAX_SHEET_CELLS", cells)
    try:
        guards.check_xlsx(path, path.name)
    except FileRejected as exc:
        assert exc.reason == "sheet_too_large", exc
        rows, columns = re.search(r"spans ([\d,]+) rows × ([\d,]+) columns", str(exc)).groups()
        return int(rows.replace(",", "")), int(columns.replace(",", ""))
    return None


PLACED_AS_THE_READER_PLACES_THEM = {
    "cells without r follow each other": b'<row r="3"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>',
    "rows without r follow the last row": b'<row><c><v>1</v></c></row><row r="10"><c><v>3</v></c></row>'
                                          b'<row><c><v>4</v></c></row>',
    "a cell's r does not move its row": b'<row r="2"><c r="A5"><v>1</v></c><c><v>2</v></c></row>',
    "single-quoted r": b"<row r='2'><c r='E7'><v>1</v></c></row>",
    "lower-case r": b'<row r="2"><c r="e7"><v>1</v></c></row>',
    "four letters": b'<row r="2"><c r="AAAA2"><v>1</v></c></row>',
    "leading zeros past seven digits": b'<row r="2"><c r="B00000000007"><v>1</v></c></row>',
    "a second r wins": b'<row r="2"><c r="B2" r="F9"><v>1</v></c></row>',
    "r after s and t does not count": b'<row r="2"><c r="B2" s="0" t="n" r="F9"><v>1</v></c></row>',
    "a quoted > inside the tag": b'<row r="2"><c x=">" r="C4"><v>1</v></c></row>',
    "a key with a space is not r": b'<row r="3"><c x r="D9"><v>1</v></c></row>',
    "r right after a quote": b'<row r="2"><c s="0"r="D9"><v>1</v></c></row>',
    "spaces around =": b'<row r="2"><c r = "C3"><v>1</v></c></row>',
    "a self-closing row": b'<row r="5"/><row><c><v>1</v></c></row>',
    "letters in a row's r": b'<row r="B6"><c><v>1</v></c></row>',
    "namespace prefixes": b'<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="4">'
                          b'<x:c><x:v>1</x:v></x:c><x:c><x:v>1</x:v></x:c></x:row>',
    "a row end in a comment": b'<row r="2"><c><v>1</v></c><!-- </row> --><c><v>2</v></c></row>',
    "a row end in CDATA text": b'<row r="2"><c t="inlineStr"><is><t><![CDATA[</row>]]></t></is></c><c><v>3</v></c>'
                               b"</row>",
    "rich inline text": b'<row r="2"><c t="inlineStr"><is><r><rPr><b/></rPr><t>a</t></r><r><t xml:space="preserve">'
                        b" b</t></r></is></c><c><v>3</v></c></row>",
    "formulas": b'<row r="2"><c><f>SUM(A1:A1)</f><v>0</v></c><c t="str"><f>"x"</f><v>x</v></c></row>',
}


@pytest.mark.parametrize("sheet", PLACED_AS_THE_READER_PLACES_THEM.values(), ids=PLACED_AS_THE_READER_PLACES_THEM)
def test_the_guard_states_the_range_the_reader_allocates(tmp_path, monkeypatch, sheet):
    path = workbook(tmp_path / "sheet.xlsx", A1 + sheet)
    rows, columns = reader_extent(path)
    assert guard_extent(path, monkeypatch, rows * columns - 1) == (rows, columns)
    assert guard_extent(path, monkeypatch, rows * columns) is None


def test_a_far_row_of_cells_without_references_is_refused(tmp_path):
    """≈ 245 KB of XML that the reader would turn into 1,048,576 × 16,384 cells."""
    path = workbook(tmp_path / "rless.xlsx", b'<row r="1048576">' + b"<c><v>1</v></c>" * 16_384 + b"</row>")
    with pytest.raises(FileRejected, match="1,048,576 rows × 16,384 columns") as caught:
        guards.check_xlsx(path, "rless.xlsx")
    assert caught.value.reason == "sheet_too_large" and "rless.xlsx" in str(caught.value)


def test_a_far_cell_in_single_quotes_is_refused(tmp_path):
    path = workbook(tmp_path / "quoted.xlsx", A1 + b"<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>")
    with pytest.raises(FileRejected, match="1,048,576 rows × 16,384 columns"):
        guards.check_xlsx(path, "quoted.xlsx")


def test_rows_without_references_are_counted_across_blocks(tmp_path, monkeypatch):
    """Numbered rows in early blocks, then rows without r: the count goes on from the last numbered row."""
    monkeypatch.setattr(guards, "BLOCK", 4096)
    later = b"<row><c><v>1</v></c><c><v>2</v></c></row>" * 3000
    path = workbook(tmp_path / "mixed.xlsx", rows(1, 2000) + later)
    assert reader_extent(path) == (5000, 3)
    assert guard_extent(path, monkeypatch, 5000 * 3 - 1) == (5000, 3)


def test_cells_the_reader_cannot_place_unambiguously_are_refused(tmp_path):
    """A row end inside a cell's value: the reader would still be in the cell; the guard does not guess."""
    path = workbook(tmp_path / "nested.xlsx", b'<row r="1048576">' + b"<c><v>1</row></v></c>" * 10 + b"</row>")
    with pytest.raises(FileRejected) as caught:
        guards.check_xlsx(path, "nested.xlsx")
    assert caught.value.reason == "unreadable_file" and "nested.xlsx" in str(caught.value)


def sheet_blocks(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as z, z.open(guards._first_sheet_member(z)) as sheet:
        return [sheet.read()]


WPS_SHAPED = ('<row r="1" spans="1:3" ht="20.25" customHeight="1" x14ac:dyDescent="0.25"><c r="A1" s="1" '
              't="inlineStr"><is><t>2025年6月</t></is></c></row>').encode() + b"".join(
    b'<row r="%d" spans="1:3"><c r="A%d" s="2" t="inlineStr"><is><t>91110108MA0%05d</t></is></c>'
    b'<c r="B%d" s="3"><v>%d.5</v></c><c r="C%d" s="3"><v>1</v></c></row>' % (r, r, r, r, r, r)
    for r in range(2, 400))


def test_excel_and_wps_shaped_sheets_are_read_by_references_and_pass(tmp_path, monkeypatch):
    """What bureaus send (xlsxwriter as the sample generator writes it, with shared or inline strings, openpyxl,
    a WPS-shaped sheet with spans, heights and styles) takes the fast reference search and passes."""
    import openpyxl
    import xlsxwriter

    book = xlsxwriter.Workbook(str(tmp_path / "shared.xlsx"))
    sheet = book.add_worksheet()
    for r in range(300):
        sheet.write_row(r, 0, [f"企业{r}", r * 1.5, "2025-06"])
    book.close()
    book = openpyxl.Workbook()
    for r in range(300):
        book.active.append([f"企业{r}", r * 1.5, "2025-06"])
    book.save(tmp_path / "openpyxl.xlsx")
    files = [tmp_path / "shared.xlsx", tmp_path / "openpyxl.xlsx", workbook(tmp_path / "wps.xlsx", WPS_SHAPED),
             *sorted(p for p in (Path(__file__).resolve().parent.parent / "data" / "sample" / "inbox").glob("*.xlsx")
                     if zipfile.is_zipfile(p))]     # the sample's "scan" posing as XLSX is a PDF
    assert len(files) > 5
    for path in files:
        assert not guards._irregular(sheet_blocks(path)[0]), path.name
        guards.check_xlsx(path, path.name)
        rows, columns = reader_extent(path)
        assert guard_extent(path, monkeypatch, rows * columns - 1) == (rows, columns), path.name
        monkeypatch.setattr(guards, "MAX_SHEET_CELLS", 20_000_000)
