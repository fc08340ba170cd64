"""The benchmark's inboxes in the formats bureaus send (flows/sample/big.py write_formats): the pipeline's own
reader gets the same rows from the GBK CSV and the XLSX parts as from the Parquet file they were written from."""

from __future__ import annotations

import polars as pl

from flows.sample import big
from flows.stages.s04_standardise import standardise


def test_gbk_csv_and_split_xlsx_read_back_as_the_parquet_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(big, "XLSX_ROWS", 40)   # a 'sheet' of 40 rows, so the 100-row file needs three parts
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    firms = pl.DataFrame({"uscc": [f"91320500MA{i:07d}X" for i in range(100)],
                          "firm_name": [f"苏州模拟精密制造{i}有限公司" for i in range(100)],
                          "cluster_id": "C0001", "adcode": "320505", "land_area": [i * 1.25 for i in range(100)]})
    firms.write_parquet(inbox / "firms.parquet")
    written = big.write_formats(tmp_path, ["parquet", "gbk-csv", "xlsx"])
    assert sorted(p.name for p in written) == ["firms.csv", "firms_part1.xlsx", "firms_part2.xlsx",
                                               "firms_part3.xlsx"]
    raw = (tmp_path / "inbox_gbk-csv" / "firms.csv").read_bytes()
    assert "苏州模拟精密制造0有限公司".encode("gbk") in raw and b"\r\n" in raw
    expected = standardise(inbox / "firms.parquet", "firms").frame.select(firms.columns)
    assert expected.height == 100
    csv = standardise(tmp_path / "inbox_gbk-csv" / "firms.csv", "firms")
    assert csv.encoding.lower() in ("gbk", "gb18030") and csv.frame.select(firms.columns).equals(expected)
    parts = [standardise(p, "firms").frame.select(firms.columns)
             for p in sorted((tmp_path / "inbox_xlsx").glob("*.xlsx"))]
    assert [p.height for p in parts] == [40, 40, 20]
    assert pl.concat(parts).equals(expected)
