"""flows.stages.s04_standardise on small hand-made inbox files: formats, headers, units, periods, quarantine rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from flows.stages.s04_standardise import ISSUE_SCHEMA, FileRejected, Standardised, standardise, typed_columns
from flows.stages.s06_load import quarantine_frame

U1 = "91320500MA1XXXXXX1"
U2 = "91320500MA1XXXXXX2"
U3 = "91320500MA1XXXXXX3"


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def accounted(s: Standardised) -> None:
    """docs/architecture.md#nothing-lost: every data row is in the frame or in issues, exactly once."""
    assert s.rows_in == len(s.raw)
    assert s.rows_in == len(s.frame) + s.issues["_row"].n_unique()
    assert set(s.frame["_row"]).isdisjoint(set(s.issues["_row"]))
    assert s.issues.schema == pl.Schema(ISSUE_SCHEMA)
    assert s.issues["_row"].is_duplicated().sum() == 0


def issue(s: Standardised, row: int) -> dict:
    rows = s.issues.filter(pl.col("_row") == row).to_dicts()
    assert len(rows) == 1, s.issues
    return rows[0]


def test_csv_utf8_chinese_headers_units_and_numbers(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "monthly_2025-06.csv",
                  "统一社会信用代码,统计期,工业总产值（千元）,营业收入(元),综合能源消费量[千克标准煤],从业人员,备注\n"
                  f" {U1.lower()} ,2025-06,\"12,345\",\"1,000,000\",2500,１２０,x\n"
                  f"{U2},202506,  ６６６ ,-,,,\n")
    s = standardise(p, "monthly")
    accounted(s)
    assert s.encoding == "utf-8"
    assert s.header_map["工业总产值（千元）"] == "output"
    assert "备注" not in s.header_map and "备注" in s.raw.columns
    assert (s.units["output"], s.units["revenue"], s.units["energy"]) == ("千元", "元", "千克标准煤")
    f = s.frame.sort("_row")
    assert f["_row"].to_list() == [2, 3]
    assert f["uscc"].to_list() == [U1, U2]
    assert f["output"].to_list() == pytest.approx([1234.5, 66.6])
    assert f["revenue"].to_list()[0] == pytest.approx(100.0)  # 1,000,000 元 = 100 万元
    assert f["revenue"].to_list()[1] == 0.0  # '-' in a flow column is zero (a firm that sold nothing)
    assert f["energy"].to_list()[0] == pytest.approx(2.5)
    assert f["employees"].to_list() == [120, None]
    assert f["period"].to_list() == [dt.date(2025, 6, 1)] * 2
    assert f["basis"].to_list() == ["month", "month"]
    assert s.raw["工业总产值（千元）"].to_list() == ["12,345", "  ６６６ "]


def test_csv_bom_and_gbk(tmp_path: Path) -> None:
    text = "信用代码,统计期,实缴税金(万元)\n" f"{U1},2025年6月,12.5\n"
    s = standardise(write_csv(tmp_path / "tax_a.csv", "\ufeff" + text), "tax")
    assert s.encoding == "utf-8-sig" and s.frame["tax_paid"].to_list() == [12.5]
    s = standardise(write_csv(tmp_path / "tax_b.csv", text, "gbk"), "tax")
    assert s.encoding == "gb18030"
    assert s.header_map == {"信用代码": "uscc", "统计期": "period", "实缴税金(万元)": "tax_paid"}
    assert s.frame["period"].to_list() == [dt.date(2025, 6, 1)]


def test_land_units_and_registry_values(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "firms.csv",
                  "uscc,firm_name,cluster_id,adcode,用地面积(平方米),是否规上,是否链主,专精特新,成立日期\n"
                  f"{U1},甲,C1,320500,6666.667,是,Y,国家级,2010/3/5\n"
                  f"{U2},乙,C1,320500,,0,false,无,20200101\n"
                  f"{U3},丙,C1,320500,1,否,N,,2019年1月2日\n")
    s = standardise(p, "firms")
    accounted(s)
    f = s.frame.sort("_row")
    assert f["land_area"].to_list()[0] == pytest.approx(10.0, rel=1e-6)
    assert f["above_scale"].to_list() == [True, False, False]
    assert f["chain_leader"].to_list() == [True, False, False]
    assert f["srdi_level"].to_list() == ["national", "none", None]
    assert f["established"].to_list() == [dt.date(2010, 3, 5), dt.date(2020, 1, 1), dt.date(2019, 1, 2)]
    p = write_csv(tmp_path / "firms2.csv", "uscc,firm_name,cluster_id,adcode,用地面积（公顷）\n"
                  f"{U1},甲,C1,320500,2\n")
    assert standardise(p, "firms").frame["land_area"].to_list() == [30.0]


@pytest.mark.parametrize(("adcodes", "read"), [
    (["320505.0", "320500", "320506"], ["320505", "320500", "320506"]),   # a number format's '.0' is dropped
    (["320505.0 ", "320500", "320506"], ["320505", "320500", "320506"]),  # also where the cell had a space after it
    (["320500", "320506", "320510"], ["320500", "320506", "320510"]),     # no '.' anywhere: nothing to drop
    (["32.0505", "320507", "320506"], ["32.0505", "320507", "320506"]),   # a '.' but no value ends in 0: as written
])
def test_an_adcode_written_as_a_number_with_dot_zero_reads_as_the_code(tmp_path: Path, adcodes: list[str],
                                                                      read: list[str]) -> None:
    rows = "".join(f"{u},甲,C1,{a}\n" for u, a in zip((U1, U2, U3), adcodes, strict=True))
    s = standardise(write_csv(tmp_path / "firms.csv", "uscc,firm_name,cluster_id,adcode\n" + rows), "firms")
    assert s.frame.sort("_row")["adcode"].to_list() == read


@pytest.mark.parametrize(("text", "period", "basis"), [
    ("2025-06", dt.date(2025, 6, 1), "month"), ("202506", dt.date(2025, 6, 1), "month"),
    ("2025年6月", dt.date(2025, 6, 1), "month"), ("2025/6", dt.date(2025, 6, 1), "month"),
    ("2025.06", dt.date(2025, 6, 1), "month"), ("2025-6", dt.date(2025, 6, 1), "month"),
    ("2025年1-6月", dt.date(2025, 6, 1), "ytd"), ("2025-01~06", dt.date(2025, 6, 1), "ytd"),
    ("2025年1—2月", dt.date(2025, 2, 1), "ytd"), ("2025-01-2025-06", dt.date(2025, 6, 1), "ytd"),
    ("2025年1-2月", dt.date(2025, 2, 1), "ytd"), ("1999-03", dt.date(1999, 3, 1), "month"),
])
def test_period_formats(tmp_path: Path, text: str, period: dt.date, basis: str) -> None:
    p = write_csv(tmp_path / "tax.csv", f"uscc,period,tax_paid\n{U1},{text},1\n")
    s = standardise(p, "tax")
    assert s.frame["period"].to_list() == [period]
    assert s.frame["basis"].to_list() == [basis]


def test_basis_column_and_bad_periods(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "monthly_x.csv",
                  "uscc,统计期,口径,工业总产值\n"
                  f"{U1},2025-06,累计,10\n"       # 2: ytd from 口径
                  f"{U2},2025-06,当月,3\n"        # 3: month
                  f"{U3},2025年13月,当月,1\n"     # 4: unparsable_period
                  f"{U3},2025年3-6月,,1\n"        # 5: range not starting in January
                  f"{U3},2025年1-6月,当月,1\n"    # 6: 当月 contradicts a range
                  f"{U3},2025-05,季度,1\n")      # 7: bad 口径
    s = standardise(p, "monthly")
    accounted(s)
    assert dict(zip(s.frame["_row"], s.frame["basis"], strict=True)) == {2: "ytd", 3: "month"}
    r4 = issue(s, 4)
    assert (r4["rule"], r4["column_name"], r4["value"]) == ("unparsable_period", "period", "2025年13月")
    assert r4["severity"] == "critical"
    assert r4["message"].startswith('monthly_x.csv 第4行 统计期="2025年13月"：无法解析的统计期')
    assert "row 4, column period" in r4["message_en"] and "2025年13月" in r4["message_en"]
    assert issue(s, 5)["rule"] == "unparsable_period"
    assert (issue(s, 6)["rule"], issue(s, 6)["column_name"]) == ("invalid_value", "basis")
    assert (issue(s, 7)["rule"], issue(s, 7)["value"]) == ("invalid_value", "季度")


def test_issue_rules_rows_and_first_problem(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "digital_2025.csv",
                  "\n"                                          # row 1: blank line above the header
                  "uscc,survey_date,cloud,transformation,maturity\n"  # row 2: header
                  f"{U1},2025-06-30,是,已完成,3\n"              # 3 ok
                  f"{U2},2025-06-31,是,已完成,3\n"              # 4 unparsable_date
                  f"{U3},2025-06-30,也许,已完成,3\n"            # 5 invalid_value cloud
                  f",2025-06-30,是,已完成,abc\n"                # 6 missing uscc (+ bad maturity)
                  f"{U3},2025-06-30,是,做了,2.5\n"              # 7 invalid transformation (+ not integer)
                  f"{U3},45838,否,未启动,\n")                   # 8 ok (Excel serial)
    s = standardise(p, "digital")
    accounted(s)
    assert sorted(s.frame["_row"]) == [3, 8]
    assert s.frame.filter(pl.col("_row") == 8)["survey_date"].item() == dt.date(2025, 6, 30)
    assert issue(s, 4)["rule"] == "unparsable_date"
    assert (issue(s, 5)["rule"], issue(s, 5)["column_name"]) == ("invalid_value", "cloud")
    r6 = issue(s, 6)
    assert (r6["rule"], r6["column_name"]) == ("missing_value", "uscc")
    assert "另有1处问题" in r6["message"] and "1 more problem" in r6["message_en"]
    assert issue(s, 7)["column_name"] == "transformation"


def test_unparsable_number(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "tax.csv", f"uscc,period,tax_paid\n{U1},2025-06,12元\n{U2},2025-06,1.5e2\n")
    s = standardise(p, "tax")
    accounted(s)
    assert issue(s, 2)["rule"] == "unparsable_number" and issue(s, 2)["value"] == "12元"
    assert s.frame["tax_paid"].to_list() == [150.0]


def test_duplicates_and_conflicts(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "monthly_d.csv",
                  "uscc,period,basis,output\n"
                  f"{U1},2025-06,当月,10\n"        # 2 kept
                  f"{U1},2025年6月,当月,10.0\n"    # 3 exact duplicate of 2 after parsing
                  f"{U2},2025-06,当月,5\n"         # 4 conflicts with 5 (ytd vs month, same key)
                  f"{U2},2025-06,累计,30\n"        # 5
                  f"{U3},2025-06,当月,7\n")        # 6 kept
    s = standardise(p, "monthly")
    accounted(s)
    assert sorted(s.frame["_row"]) == [2, 6]
    assert issue(s, 3)["rule"] == "duplicate_row" and "第2行" in issue(s, 3)["message"]
    assert issue(s, 4)["rule"] == issue(s, 5)["rule"] == "conflicting_rows"
    assert "4、5" in issue(s, 4)["message"] and "rows 4, 5" in issue(s, 5)["message_en"]


def test_procurement_repeats_are_legitimate(tmp_path: Path) -> None:
    row = f"{U1},{U2},乙公司,320500,2025-06,100\n"
    p = write_csv(tmp_path / "procurement_x.csv",
                  "采购方信用代码,供应商信用代码,供应商名称,供应商所在地代码,采购期,采购金额（元）\n" + row * 3)
    s = standardise(p, "procurement")
    accounted(s)
    assert len(s.frame) == 3 and s.issues.is_empty()
    assert s.frame["amount"].to_list() == [0.01] * 3


def test_xlsx_title_and_notes(tmp_path: Path) -> None:
    p = tmp_path / "monthly_2025-06_suzhou.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("月报")
    ws.write(1, 0, "2025年6月 规上工业企业月度统计表")              # Excel row 2 (row 1 empty)
    ws.write(2, 0, "填报单位：苏州市统计局")                         # row 3
    ws.write_row(3, 0, ["统一社会信用代码", "统计期", "口径", "工业总产值（千元）", "从业人员平均人数"])  # row 4
    ws.write_row(4, 0, [U1, "2025年1-6月", "累计", 12345, 100])     # row 5
    ws.write_row(5, 0, [U2, "2025-06", "当月", "abc", 50])          # row 6 bad number
    ws.write_row(7, 0, [U3, dt.datetime(2025, 6, 1), "当月", 1000.5, 10],  # row 8 (row 7 blank)
                 )
    ws.write(9, 0, "注：本表数据为快报数")                           # row 10 note
    ws.write(10, 0, "数据来源：市统计局")                            # row 11 note
    wb.close()
    s = standardise(p, "monthly")
    accounted(s)
    assert s.encoding is None and s.rows_in == 3
    f = s.frame.sort("_row")
    assert f["_row"].to_list() == [5, 8]
    assert f["output"].to_list() == pytest.approx([1234.5, 100.05])
    assert f["basis"].to_list() == ["ytd", "month"]
    assert f["period"].to_list() == [dt.date(2025, 6, 1)] * 2
    assert f["employees"].to_list() == [100, 10]
    assert issue(s, 6)["rule"] == "unparsable_number"
    assert s.raw["_row"].to_list() == [5, 6, 8]


def test_parquet_rows_and_types(tmp_path: Path) -> None:
    p = tmp_path / "procurement_2025.parquet"
    pl.DataFrame({"buyer_uscc": [U1, U1, None], "supplier_name": ["乙", "丙", "丁"],
                  "period": ["2025-06", "2025-06", "2025-06"], "amount": [1.5, 2.0, 3.0]}).write_parquet(p)
    s = standardise(p, "procurement")
    accounted(s)
    assert s.frame["_row"].to_list() == [2, 3]
    assert s.frame["amount"].to_list() == [1.5, 2.0]
    assert s.frame["supplier_uscc"].dtype == pl.Utf8 and s.frame["supplier_uscc"].null_count() == 2
    assert issue(s, 4)["rule"] == "missing_value"
    assert s.raw["supplier_name"].dtype == pl.Utf8 and s.raw["period"].dtype == pl.Utf8
    assert s.raw["amount"].dtype == pl.Float64     # a number column stays as stored (typed_columns)


def test_parquet_typed_numbers_give_what_their_text_gives(tmp_path: Path) -> None:
    # A Float64 or integer Parquet column of a number column stays typed in raw and parses from its typed values:
    # the canonical values, the issues (a NaN or an infinity is unparsable, a null is missing) and the quarantined
    # rows' original values must be those of the same numbers delivered as text.
    values = {"uscc": [U1, U1, U1, U1, U1, U1], "period": [f"2025-0{m}" for m in range(1, 7)],
              "output": [1.5, -0.0, float("nan"), None, 1e300, 0.1 + 0.2],
              "employees": [10, 2**53 + 1, 0, None, -3, 7], "profit": [1.0, 2.0, float("inf"), 4.0, 5.0, 6.0]}
    typed, text = tmp_path / "typed" / "monthly_2025.parquet", tmp_path / "text" / "monthly_2025.parquet"
    for path, frame in ((typed, pl.DataFrame(values)),
                        (text, pl.DataFrame(values).with_columns(pl.all().cast(pl.Utf8)))):
        path.parent.mkdir()
        frame.write_parquet(path)
    a, b = standardise(typed, "monthly"), standardise(text, "monthly")
    accounted(a)
    assert typed_columns(a.raw) == ["output", "employees", "profit"] and typed_columns(b.raw) == []
    assert a.frame.equals(b.frame) and a.issues.equals(b.issues)
    assert a.raw.with_columns(pl.col(typed_columns(a.raw)).cast(pl.Utf8)).equals(b.raw)
    assert a.frame["_row"].to_list() == [2, 3, 6, 7]
    assert a.frame["output"].to_list() == [1.5, -0.0, 1e300, 0.1 + 0.2]
    assert a.frame["employees"].to_list() == [10, 2**53, -3, 7]       # 2**53 + 1 has no float: as its text gives
    assert a.issues.select("_row", "column_name", "rule", "value").rows() == [
        (4, "output", "unparsable_number", "NaN"), (5, "output", "missing_value", None)]
    kept = [quarantine_frame(s.issues, s.raw, s.frame, "monthly", s.header_map) for s in (a, b)]
    assert kept[0].equals(kept[1])
    assert kept[0].select("_row", "value", "original").rows()[0] == (4, "NaN", json.dumps(
        {"uscc": U1, "period": "2025-03", "output": "NaN", "employees": "0", "profit": "inf"}, separators=(",", ":")))


def test_rejections(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as e:
        standardise(write_csv(tmp_path / "tax_m.csv", f"uscc,税收期\n{U1},2025-06\n"), "tax")
    assert e.value.reason == "missing_columns"
    assert "period" in e.value.message and "tax_paid" in e.value.message and "tax_m.csv" in e.value.message
    with pytest.raises(FileRejected) as e:
        standardise(write_csv(tmp_path / "tax_t.csv", "这是一封信，不是表格。\n谢谢。\n"), "tax")
    assert e.value.reason == "not_a_table"
    (tmp_path / "tax_b.csv").write_bytes(b"\x00\x01\x02binary\xff" * 100)
    with pytest.raises(FileRejected) as e:
        standardise(tmp_path / "tax_b.csv", "tax")
    assert e.value.reason == "not_a_table"
    with pytest.raises(FileRejected) as e:
        standardise(write_csv(tmp_path / "tax_e.csv", ""), "tax")
    assert e.value.reason == "empty_file"
    with pytest.raises(FileRejected) as e:
        standardise(write_csv(tmp_path / "tax_h.csv", "uscc,period,tax_paid\n"), "tax")
    assert e.value.reason == "empty_file"
    with pytest.raises(FileRejected) as e:
        standardise(write_csv(tmp_path / "tax_u.csv", f"uscc,period,tax_paid(美元)\n{U1},2025-06,1\n"), "tax")
    assert e.value.reason == "unknown_unit" and "tax_paid(美元)" in e.value.message
    (tmp_path / "tax_x.xlsx").write_bytes(b"PK not really a zip")
    with pytest.raises(FileRejected) as e:
        standardise(tmp_path / "tax_x.xlsx", "tax")
    assert e.value.reason == "unreadable_file"


def test_clusters_scope_default(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "clusters.csv", "集群编码,集群名称,省份,行政区划代码,经度,纬度,本地范围\n"
                  "C1,甲,江苏,320500,120.6,31.3,\nC2,乙,江苏,320583,121.0,31.4,县\nC3,丙,江苏,320500,1,2,乡\n")
    s = standardise(p, "clusters")
    accounted(s)
    assert s.frame.sort("_row")["local_scope"].to_list() == ["city", "county"]
    assert issue(s, 4)["rule"] == "invalid_value"
