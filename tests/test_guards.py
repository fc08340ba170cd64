"""The XLSX sheet guard finds the used range's last row and column exactly, wherever a far reference hides:
mid-block, in a cell whose row differs from its row element, behind a namespace prefix or other attributes,
in rows out of order, in a tag longer than the search reads back, or among more hits than it follows."""

from __future__ import annotations

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
