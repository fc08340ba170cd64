"""Files shaped like real bureau exports (一套表 / 联网直报, tax offices' 亩均 data, 名录): each trait loads to the
value planted in it, or the file/row is refused with its named reason. Values are planted by hand here, so
every expected number is independent of the reading code."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
import xlsxwriter
import xlwt
from conftest import schema_warehouse

from flows.cli import check_files
from flows.stages.s04_standardise import FileRejected, Standardised, standardise
from flows.stages.s05_validate import validate
from flows.support.uscc import uscc_check_char


def uscc(body: str) -> str:
    """A valid USCC from its first 17 characters."""
    return body + uscc_check_char(body)


A = uscc("91320500MA1XXXXX1")
B = uscc("91320500MA1XXXXX2")
C = uscc("91320500MA1XXXXX3")


def write_xlsx(path: Path, rows: list[list], merges: list[tuple[int, int, int, int, str]] = ()) -> Path:
    """rows[i] goes to Excel row i+1 (None = empty cell); merges are (first_row, first_col, last_row, last_col)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("表1")
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    for r0, c0, r1, c1, text in merges:
        ws.merge_range(r0, c0, r1, c1, text)
    wb.close()
    return path


def write_xls(path: Path, rows: list[list]) -> Path:
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("基层表")
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    wb.save(str(path))
    return path


def column(s: Standardised, header: str):
    return next(c for c in s.columns if c.header == header)


def values(s: Standardised, col: str) -> list:
    return s.frame.sort("_row")[col].to_list()


def accounted(s: Standardised) -> None:
    assert s.rows_in == len(s.frame) + s.issues["_row"].n_unique()


# ----------------------------------------------------------------------------------------- units

def test_money_unit_stated_only_in_a_title_line_converts(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_suzhou.xlsx", [
        ["2025年6月规模以上工业企业主要经济指标"],
        ["填报单位：苏州市统计局", None, "单位：千元"],
        ["统一社会信用代码", "统计期", "工业总产值", "营业收入", "从业人员平均人数"],
        [A, "2025-06", 12345, 1000, 50],
        [B, "2025-06", 500, 70, 8],
    ])
    s = standardise(p, "monthly")
    assert values(s, "output") == pytest.approx([1234.5, 50.0])   # 千元 → 万元
    assert values(s, "revenue") == pytest.approx([100.0, 7.0])
    assert values(s, "_row") == [4, 5]
    out = column(s, "工业总产值")
    assert (out.unit, out.unit_source, out.status) == ("千元", "title_line", "loaded")


def test_yuan_title_line_and_units_row_under_the_header(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["计量单位：元"],
        ["统一社会信用代码", "统计期", "工业总产值", "营业收入", "从业人员平均人数", "综合能源消费量"],
        [None, None, "千元", "千元", "人", "吨标准煤"],
        [A, "2025-06", 20000, 3000, 12, 4.5],
    ])
    s = standardise(p, "monthly")
    # the units row is closer to the column than the title line: 千元 wins for the two money columns
    assert values(s, "output") == pytest.approx([2000.0])
    assert values(s, "revenue") == pytest.approx([300.0])
    assert values(s, "energy") == pytest.approx([4.5])
    assert column(s, "工业总产值").unit_source == "units_row"
    assert values(s, "_row") == [4]


def test_unit_inside_a_bracketed_title(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "tax_2025-06_a.xlsx", [
        ["2025年6月企业税收情况表（单位：人民币千元）"],
        ["统一社会信用代码", "所属期", "实缴税金"],
        [A, "2025-06", 1234],
    ])
    assert values(standardise(p, "tax"), "tax_paid") == pytest.approx([123.4])


def test_yuan_in_a_title_line_divides_by_ten_thousand(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "tax_2025-06_a.xlsx", [
        ["2025年6月企业税收", None, "金额单位：元"],
        ["统一社会信用代码", "所属期", "实缴税金"],
        [A, "2025-06", 123456],
    ])
    s = standardise(p, "tax")
    assert values(s, "tax_paid") == pytest.approx([12.3456])


def test_a_measure_without_a_unit_beside_one_in_thousands_is_refused(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值（千元）", "营业收入"],
        [A, "2025-06", 12345, 1000],
    ])
    with pytest.raises(FileRejected) as e:
        standardise(p, "monthly")
    assert e.value.reason == "ambiguous_unit"
    assert "营业收入" in e.value.message and "千元" in e.value.message


def test_two_different_units_in_title_lines_are_refused(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["单位：千元"], ["单位：万元"],
        ["统一社会信用代码", "统计期", "工业总产值"],
        [A, "2025-06", 1],
    ])
    with pytest.raises(FileRejected) as e:
        standardise(p, "monthly")
    assert e.value.reason == "ambiguous_unit"


def test_price_qualifiers_and_units_in_brackets(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值（当年价格）（千元）", "工业增加值（当年价格）（万元）",
         "研究开发费用（千元）"],
        [A, "2025-06", 5000, 100, 20],
    ])
    s = standardise(p, "monthly")
    assert values(s, "output") == pytest.approx([500.0])
    assert values(s, "value_added") == pytest.approx([100.0])
    assert values(s, "rd_expense") == pytest.approx([2.0])     # 研究开发费用 is R&D expense


def test_price_qualifier_alone_states_no_unit(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值（当年价格）"], [A, "2025-06", 5000]])
    s = standardise(p, "monthly")
    assert values(s, "output") == [5000.0]
    assert column(s, "工业总产值（当年价格）").unit_source == "contract_default"


def test_comparable_price_output_is_not_loaded_as_output(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值（当年价格）", "工业总产值（可比价）"],
        [A, "2025-06", 5000, 4800],
    ])
    s = standardise(p, "monthly")
    assert values(s, "output") == [5000.0]
    assert column(s, "工业总产值（可比价）").status == "not_loaded"


def test_unknown_bracket_word_on_a_measure_is_refused(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值（千美元）"],
        [A, "2025-06", 5000],
    ])
    with pytest.raises(FileRejected) as e:
        standardise(p, "monthly")
    assert e.value.reason == "unknown_unit"


# ----------------------------------------------------------------------------------------- two-level headers

def _two_level(path: Path, first: str, second: str, cells: list[tuple]) -> Path:
    rows = [
        ["2025年1-6月主要指标", None, None, None, None, None],
        ["统一社会信用代码", "统计期", "工业总产值", None, None, None],
        [None, None, first, second, "上年同期", "增长%"],
    ]
    rows += [list(r) for r in cells]
    rows[1][2] = None
    return write_xlsx(path, rows, merges=[(1, 2, 1, 5, "工业总产值")])


@pytest.mark.parametrize("order", ["month_first", "ytd_first"])
def test_two_level_header_loads_the_month_and_cross_checks_the_ytd(tmp_path: Path, order: str) -> None:
    # A: Feb 30 with Jan+Feb = 50 (agrees); B: Feb 40 but ytd 45 with January 10 in the file (disagrees)
    cells = [(A, "2025-01", 20, 20), (A, "2025-02", 30, 50), (B, "2025-01", 10, 10), (B, "2025-02", 40, 45)]
    if order == "ytd_first":
        cells = [(u, p, y, m) for u, p, m, y in cells]
        first, second = "1-本月累计", "本月"
    else:
        first, second = "本月", "1-本月累计"
    cells = [(*c, 1, 0.1) for c in cells]
    s = standardise(_two_level(tmp_path / "monthly_2025-02_a.xlsx", first, second, cells), "monthly")
    accounted(s)
    assert values(s, "output") == pytest.approx([20, 30, 10, 40])   # always the 本月 values
    assert set(values(s, "basis")) == {"month"}
    assert column(s, "工业总产值 / 1-本月累计").status == "cross_check"
    assert column(s, "工业总产值 / 上年同期").status == "not_loaded"
    assert column(s, "工业总产值 / 增长%").status == "not_loaded"
    w = s.warnings.to_dicts()
    assert [(r["_row"], r["rule"]) for r in w] == [(7, "basis_mismatch")]
    assert "40" in w[0]["message"] and "45" in w[0]["message"]


def test_two_level_header_with_only_ytd_loads_year_to_date(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值", "营业收入"],
        [None, None, "1-6月", "本年累计"],
        [A, "2025-06", 600, 550],
    ])
    s = standardise(p, "monthly")
    assert values(s, "basis") == ["ytd"]
    assert values(s, "output") == [600.0]


# ----------------------------------------------------------------------------------------- rows

def test_totals_anywhere_and_notes_and_signatures_after_the_data_are_skipped(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值"],
        ["合计", None, 1300],
        [A, "2025-06", 1000],
        ["其中：规上企业", None, 1000],
        [B, "2025-06", 300],
        ["总 计", None, 1300],
        ["1. 本表统计范围为规模以上工业企业。"],
        ["2. 工业总产值按当年价格计算。"],
        ["单位负责人：张三", None, "填表人：李四"],
    ])
    s = standardise(p, "monthly")
    accounted(s)
    assert s.issues.height == 0
    assert values(s, "uscc") == [A, B]
    assert values(s, "_row") == [3, 5]
    assert s.skipped["total_rows"] == 3 and s.skipped["note_rows"] == 3


def test_dash_means_zero_in_a_required_flow_column(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "tax_2025-06_a.xlsx", [
        ["统一社会信用代码", "所属期", "实缴税金"],
        [A, "2025-06", "-"], [B, "2025-06", "—"], [C, "2025-06", "--"],
    ])
    s = standardise(p, "tax")
    assert s.issues.height == 0 and values(s, "tax_paid") == [0.0, 0.0, 0.0]


def test_xls_with_empty_leading_rows_reports_the_rows_the_user_sees(tmp_path: Path) -> None:
    p = write_xls(tmp_path / "monthly_2025-06_a.xls", [
        [], [], ["统一社会信用代码", "统计期", "工业总产值（千元）"],
        [A, "2025-06", 1000.0], [B, "2025-13", 2000.0],
    ])
    s = standardise(p, "monthly")
    assert s.sheet == "基层表"
    assert values(s, "output") == [100.0]
    bad = s.issues.to_dicts()
    assert [(r["_row"], r["rule"]) for r in bad] == [(5, "unparsable_period")]
    assert "基层表" in bad[0]["message"] and "第5行" in bad[0]["message"] and "2025-13" in bad[0]["message"]


# ----------------------------------------------------------------------------------------- codes and vocabulary

def test_registry_names_12_digit_codes_and_vocabulary_labels(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "firms_2025-06_directory.xlsx", [
        ["统一社会信用代码", "单位详细名称", "集群编码", "统计用区划代码", "专精特新", "税务登记号"],
        [A, "甲公司", "SZ_EI", "320505001001", '国家级专精特新"小巨人"企业', "320505MA1XXXXX1"],
        [B, "乙公司", "SZ_EI", "320505", "省级专精特新中小企业", None],
    ])
    s = standardise(p, "firms")
    assert values(s, "adcode") == ["320505", "320505"]
    assert values(s, "firm_name") == ["甲公司", "乙公司"]
    assert values(s, "srdi_level") == ["national", "provincial"]
    assert values(s, "old_tax_id") == ["320505MA1XXXXX1", None]


def test_maturity_words_are_levels(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "digital_2025-06_a.xlsx", [
        ["统一社会信用代码", "调查日期", "是否上云", "智改数转", "智能制造能力成熟度"],
        [A, "2025-06-30", "是", "已完成", "二级（规范级）"],
        [B, "2025-06-30", "否", "实施中", "三级"],
    ])
    s = standardise(p, "digital")
    assert values(s, "maturity") == [2, 3]


def test_uscc_damaged_by_number_formatting_has_its_own_reason(tmp_path: Path) -> None:
    p = tmp_path / "tax_2025-06_a.csv"
    p.write_text(f"统一社会信用代码,所属期,实缴税金\n9.11306E+17,2025-06,1\n{A},2025-06,2\n911306000000000000,2025-06,3\n",
                 encoding="utf-8")
    s = standardise(p, "tax")
    assert [(r["_row"], r["rule"]) for r in s.issues.to_dicts()] == [
        (2, "uscc_number_formatted"), (4, "uscc_number_formatted")]
    assert values(s, "uscc") == [A]


def test_tax_office_export_with_period_start_and_end(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "tax_2025-06_a.xlsx", [
        ["纳税人识别号", "纳税人名称", "所属期起", "所属期止", "税收实际贡献（元）"],
        [A, "甲", "2025-06-01", "2025-06-30", 50000],
        [B, "乙", "2025-01-01", "2025-06-30", 300000],
        [C, "丙", "2025-04-01", "2025-06-30", 90000],
    ])
    s = standardise(p, "tax")
    assert values(s, "basis") == ["month", "ytd"]
    assert values(s, "tax_paid") == pytest.approx([5.0, 30.0])
    assert [(r["_row"], r["rule"]) for r in s.issues.to_dicts()] == [(4, "period_span")]


def test_unknown_columns_are_reported_not_dropped_silently(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "tax_2025-06_a.xlsx", [
        ["序号", "统一社会信用代码", "所属期", "实缴税金", "产品名称"],
        [1, A, "2025-06", 1, "轴承"],
    ])
    s = standardise(p, "tax")
    col = column(s, "产品名称")
    assert (col.status, col.column) == ("ignored", None) and "vocabulary" in col.note
    assert column(s, "序号").status == "info"   # part of the form: listed, never warned about


def test_period_stated_in_a_title_line_applies_to_every_row(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["规模以上工业企业主要指标"], ["报告期：2025年6月", None, "单位：万元"],
        ["统一社会信用代码", "工业总产值"], [A, 10], [B, 20],
    ])
    s = standardise(p, "monthly")
    assert [str(d) for d in values(s, "period")] == ["2025-06-01", "2025-06-01"]
    assert column(s, "（标题行）2025年6月").column == "period"


def test_two_periods_in_title_lines_are_refused(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["报告期：2025年6月"], ["报告期：2025年7月"], ["统一社会信用代码", "工业总产值"], [A, 10]])
    with pytest.raises(FileRejected):
        standardise(p, "monthly")


def test_tax_period_as_a_date_range_in_one_cell(tmp_path: Path) -> None:
    p = tmp_path / "tax_2025-06_a.csv"
    p.write_text(f"统一社会信用代码,税款所属期,实缴税金\n{A},2025-06-01至2025-06-30,1\n{B},2025-01-01至2025-06-30,6\n"
                 f"{C},2025-04-01至2025-06-30,3\n", encoding="utf-8")
    s = standardise(p, "tax")
    assert values(s, "basis") == ["month", "ytd"]
    assert [(r["_row"], r["rule"]) for r in s.issues.to_dicts()] == [(4, "unparsable_period")]


def test_comparison_sub_columns_in_other_spellings_are_not_loaded(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "monthly_2025-06_a.xlsx", [
        ["统一社会信用代码", "统计期", "工业总产值", None, None],
        [None, None, "本月", "同比增减（%）", "比上年同期增长率"],
        [A, "2025-06", 100, 5.0, 4.0],
    ], merges=[(0, 2, 0, 4, "工业总产值")])
    s = standardise(p, "monthly")
    assert values(s, "output") == [100.0]
    assert [c.status for c in s.columns][2:] == ["loaded", "not_loaded", "not_loaded"]


def test_bool_and_srdi_words_in_other_spellings(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / "firms_2025-06_a.xlsx", [
        ["统一社会信用代码", "企业名称", "集群编码", "行政区划代码", "是否规上", "专精特新"],
        [A, "甲", "X", "320505", "规上", "国家级专精特新‘小巨人’企业"],
        [B, "乙", "X", "320505", "规下", "专精特新“小巨人”企业"],
    ])
    s = standardise(p, "firms")
    assert values(s, "above_scale") == [True, False]
    assert values(s, "srdi_level") == ["national", "national"]


# ----------------------------------------------------------------------------------------- through the registry

@pytest.fixture
def registry() -> duckdb.DuckDBPyConnection:
    con = schema_warehouse()
    con.execute("INSERT INTO core.firms (uscc, firm_name, cluster_id) VALUES (?, '甲', 'X'), (?, '乙', 'X')", [A, B])
    con.execute("INSERT INTO core.firm_identifiers VALUES (?, 'tax_registration_15', '320505999999999', 1)", [B])
    return con


def test_old_codes_load_under_the_registered_firm(tmp_path: Path, registry) -> None:
    org_a = A[8:17]
    p = tmp_path / "tax_2025-06_a.csv"
    p.write_text("纳税人识别号,所属期,实缴税金\n"
                 f"{org_a[:8]}-{org_a[8]},2025-06,1\n"      # 组织机构代码 with its hyphen
                 "320505999999999,2025-06,2\n"              # 税务登记号 registered for B
                 "ABCDEFGH-9,2025-06,3\n", encoding="utf-8")   # an organisation code nobody has
    s = standardise(p, "tax")
    v = validate("tax", s.frame, p.name, registry, gx_rows=10)
    assert v.frame.sort("_row")["uscc"].to_list() == [A, B]
    assert [(r["_row"], r["rule"]) for r in v.warnings.to_dicts()] == [(2, "old_identifier"), (3, "old_identifier")]
    assert [(r["_row"], r["rule"]) for r in v.issues.to_dicts()] == [(4, "unknown_firm")]


def test_first_ever_file_with_one_month_in_yuan_is_caught(tmp_path: Path, registry, capsys) -> None:
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    taxes = [12.0, 11.5, 13.0, 120000.0, 12.5, 12.2]   # April typed in 元 under a 万元 header
    p = tmp_path / "tax_2025-06_a.csv"
    p.write_text("统一社会信用代码,所属期,实缴税金（万元）\n" + "".join(
        f"{A},{m},{t}\n" for m, t in zip(months, taxes, strict=True)), encoding="utf-8")
    s = standardise(p, "tax")
    v = validate("tax", s.frame, p.name, registry, gx_rows=10)
    assert [(r["_row"], r["rule"]) for r in v.issues.to_dicts()] == [(5, "unit_suspect")]
    assert check_files([p], None) == 1
    out = capsys.readouterr().out
    assert "unit_suspect" in out and "120000" in out
    assert "实缴税金（万元）" in out and "loaded" in out     # the header report comes first


def test_check_prints_the_header_mapping(tmp_path: Path, capsys) -> None:
    p = _two_level(tmp_path / "monthly_2025-02_a.xlsx", "本月", "1-本月累计", [(A, "2025-01", 20, 20, 1, 0.1)])
    check_files([p], None)
    out = capsys.readouterr().out
    header = out[: out.index("would load")]
    assert "'工业总产值 / 本月' → output [loaded" in header
    assert "'工业总产值 / 1-本月累计' → output [cross_check" in header
    assert "'工业总产值 / 上年同期' → output [not_loaded" in header


def test_sources_config_gives_a_default_unit_by_file_pattern(tmp_path: Path, monkeypatch) -> None:
    import flows.stages.s03_layout as layout

    cfg = tmp_path / "sources.toml"
    cfg.write_text('[[source]]\npattern = "tax_*_taxoffice*"\nunits = { money = "元" }\n'
                   'aliases = { tax_paid = ["入库税款合计"] }\n', encoding="utf-8")
    monkeypatch.setattr(layout, "SOURCES_FILE", cfg)
    layout._sources.cache_clear()
    try:
        p = write_xlsx(tmp_path / "tax_2025-06_taxoffice.xlsx", [
            ["统一社会信用代码", "所属期", "入库税款合计"], [A, "2025-06", 50000]])
        s = standardise(p, "tax")
        assert values(s, "tax_paid") == [5.0]
        assert column(s, "入库税款合计").unit_source == "config"
        other = write_xlsx(tmp_path / "tax_2025-06_other.xlsx", [
            ["统一社会信用代码", "所属期", "实缴税金"], [A, "2025-06", 5]])
        assert values(standardise(other, "tax"), "tax_paid") == [5.0]
    finally:
        layout._sources.cache_clear()


def test_header_report_rows_have_every_column(tmp_path: Path) -> None:
    from flows.stages.s03_layout import columns_rows

    p = _two_level(tmp_path / "monthly_2025-02_a.xlsx", "本月", "1-本月累计", [(A, "2025-01", 20, 20, 1, 0.1)])
    rows = pl.DataFrame(columns_rows(standardise(p, "monthly").columns))
    assert rows["position"].to_list() == [1, 2, 3, 4, 5, 6]
    assert rows["status"].to_list() == ["loaded", "loaded", "loaded", "cross_check", "not_loaded", "not_loaded"]


def test_a_csv_row_with_cells_beyond_the_header_is_quarantined_not_shifted(tmp_path: Path) -> None:
    """An unquoted comma inside a value shifts every later cell: the row is refused, a trailing comma is not."""
    p = tmp_path / "tax_2025-06_a.csv"
    p.write_text(f"统一社会信用代码,所属期,实缴税金\n{A},2025-06,1,200\n{B},2025-06,2,\n", encoding="utf-8")
    s = standardise(p, "tax")
    assert [(r["_row"], r["rule"]) for r in s.issues.to_dicts()] == [(2, "beyond_header")]
    assert values(s, "uscc") == [B] and values(s, "tax_paid") == [2.0]
