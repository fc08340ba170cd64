"""Bureau-export deliveries for the sample: the same truth, in the layouts real systems export
(docs/architecture.md#input-contract).

Each file re-delivers months the sample already holds, for a few firms of one 当月-reporting province, in
the layout of a real export: a money unit stated only in a title line, a units row under the header, a
two-level header (本月 / 1-本月累计 / 上年同期 / 增长%, in both orders), an .xls with empty leading rows, totals
and note and signature blocks, a 名录 with 12-digit 统计用区划代码, vocabulary labels and old 税务登记号, and a tax
office's export keyed by old codes with 所属期起/止, and `-` for a zero flow. Every value equals the planted
truth, so a misread layout (×10, 累计 for 本月) breaks the planted-truth tests; the rows that must be refused
are planted bad rows.

Everything is chosen deterministically from the truth frames (no random draws), so adding this step leaves
the rest of the generated sample byte-identical.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import xlsxwriter
import xlwt

PROVINCE = "江苏省"
YEAR = 2025
N_FIRMS = 6
SRDI_WORDS = {"national": '国家级专精特新"小巨人"企业', "provincial": "省级专精特新中小企业", "none": "无"}
FIXED_TIME = dt.datetime(2026, 1, 5, 9, 0, 0)  # xlsx document properties: byte-identical regeneration


def write_bureau_exports(inbox: Path, truth: Path) -> list[dict]:
    """Write the bureau-export files into inbox; return their planted bad rows (file, row, column, rule)."""
    monthly = pl.read_parquet(truth / "monthly_truth.parquet")
    tax = pl.read_parquet(truth / "tax_truth.parquet")
    firms = pl.read_parquet(truth / "firms_truth.parquet")
    clusters = pl.read_parquet(truth / "clusters_truth.parquet")
    chosen = _firms(monthly, tax, firms, clusters)
    bad: list[dict] = []
    _units_line(inbox / "monthly_2025-12_zz_bureau_units_line.xlsx", monthly, chosen)
    _units_row_xls(inbox / "monthly_2025-11_zz_bureau_units_row.xls", monthly, chosen)
    _two_level(inbox / "monthly_2025-10_zz_bureau_two_level.xlsx", monthly, chosen, month_first=True)
    _two_level(inbox / "monthly_2025-09_zz_bureau_two_level_ytd_first.csv", monthly, chosen, month_first=False)
    _directory(inbox / "firms_2025-12_zz_bureau_directory.xlsx", chosen)
    bad += _tax_office(inbox / "tax_2025-12_zz_bureau_taxoffice.csv", tax, chosen)
    _dash_zero(inbox / "monthly_2024-09_zz_bureau_dash_zero.csv", monthly, firms, clusters)
    return bad


def _firms(monthly: pl.DataFrame, tax: pl.DataFrame, firms: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """N_FIRMS registry firms of PROVINCE with a one-month record for every month of YEAR (monthly and tax)."""
    ids = clusters.filter(pl.col("province") == PROVINCE)["cluster_id"]
    full = (monthly.filter((pl.col("period").dt.year() == YEAR) & (pl.col("span_months") == 1)
                           & pl.col("output").is_not_null() & pl.col("revenue").is_not_null())
            .group_by("uscc").len().filter(pl.col("len") == 12)["uscc"])
    taxed = (tax.filter((pl.col("period") == dt.date(YEAR, 12, 1)) & (pl.col("span_months") == 1))["uscc"])
    return (firms.filter(pl.col("cluster_id").is_in(ids.implode()) & pl.col("uscc").is_in(full.implode())
                         & pl.col("uscc").is_in(taxed.implode()))
            .sort("uscc").head(N_FIRMS))


def _month(monthly: pl.DataFrame, chosen: pl.DataFrame, month: int) -> pl.DataFrame:
    return (monthly.filter(pl.col("period") == dt.date(YEAR, month, 1))
            .join(chosen.select("uscc", "firm_name"), on="uscc").sort("uscc"))


def _xlsx(path: Path) -> tuple[xlsxwriter.Workbook, object]:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": FIXED_TIME})
    return wb, wb.add_worksheet("基层表")


def _rows(ws: object, rows: list[list], start: int = 0) -> None:
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(start + i, j, v)


def _units_line(path: Path, monthly: pl.DataFrame, chosen: pl.DataFrame) -> None:
    """Money in 千元 stated only in a line above the table; a total row, numbered notes and signatures."""
    m = _month(monthly, chosen, 12)
    rows = [["2025年12月规模以上工业企业主要经济指标"], ["填报单位：江苏省统计局", None, None, "单位：千元"],
            ["统一社会信用代码", "单位详细名称", "统计期", "工业总产值（当年价格）", "营业收入", "从业人员平均人数"]]
    rows.append(["合计", None, None, round(m["output"].sum() * 10, 1), round(m["revenue"].sum() * 10, 1), None])
    for r in m.iter_rows(named=True):
        rows.append([r["uscc"], r["firm_name"], "2025年12月", round(r["output"] * 10, 1), round(r["revenue"] * 10, 1),
                     int(r["employees"])])
    rows += [["1. 本表统计范围为规模以上工业企业。"], ["2. 工业总产值按当年价格计算。"],
             ["单位负责人：王某", None, "统计负责人：李某", None, "填表人：赵某"]]
    wb, ws = _xlsx(path)
    _rows(ws, rows)
    wb.close()


def _units_row_xls(path: Path, monthly: pl.DataFrame, chosen: pl.DataFrame) -> None:
    """Excel 97-2003 with two empty leading rows, the units in a row under the header, the 栏次 row."""
    m = _month(monthly, chosen, 11)
    rows: list[list] = [[], [], ["2025年11月 工业产销总值及主要产品产量"],
                        ["统一社会信用代码", "统计期", "工业总产值", "营业收入", "从业人员平均人数", "综合能源消费量"],
                        ["计量单位", None, "千元", "元", "人", "千克标准煤"],
                        ["甲", "乙", 1, 2, 3, 4]]
    for r in m.iter_rows(named=True):
        rows.append([r["uscc"], "202511", round(r["output"] * 10, 1), round(r["revenue"] * 1e4),
                     int(r["employees"]), round(r["energy"] * 1000, 1)])
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("基层表")
    _rows(ws, rows)
    wb.save(str(path))


def _two_level(path: Path, monthly: pl.DataFrame, chosen: pl.DataFrame, month_first: bool) -> None:
    """Indicator cells over 本月 / 1-本月累计 / 上年同期 / 增长% (in 万元 per the header)."""
    month = int(path.name.split("_")[1][5:7])
    year = (monthly.filter((pl.col("period").dt.year() == YEAR) & (pl.col("period").dt.month() <= month))
            .group_by("uscc").agg(pl.col("output").sort().sum().alias("output_ytd"),
                                  pl.col("revenue").sort().sum().alias("revenue_ytd")))
    before = (monthly.filter(pl.col("period") == dt.date(YEAR - 1, month, 1))
              .select("uscc", pl.col("output").alias("output_ly")))
    m = _month(monthly, chosen, month).join(year, on="uscc").join(before, on="uscc", how="left").sort("uscc")
    subs = ["本月", "1-本月累计"] if month_first else ["1-本月累计", "本月"]
    top = ["统一社会信用代码", "统计期", "工业总产值（万元）", None, None, None, "营业收入（万元）", None]
    sub = [None, None, *subs, "上年同期", "增长%", *subs]
    rows: list[list] = []
    for r in m.iter_rows(named=True):
        pair_out = {"本月": round(r["output"], 2), "1-本月累计": round(r["output_ytd"], 2)}
        pair_rev = {"本月": round(r["revenue"], 2), "1-本月累计": round(r["revenue_ytd"], 2)}
        ly = r["output_ly"]
        growth = round((r["output"] / ly - 1) * 100, 1) if ly else None
        rows.append([r["uscc"], f"{YEAR}年{month}月", *[pair_out[s] for s in subs], ly, growth,
                     *[pair_rev[s] for s in subs]])
    title = [f"{YEAR}年{month}月 规模以上工业企业主要指标"]
    if path.suffix == ".csv":
        lines = [title, top, sub, *rows]
        text = "\r\n".join(",".join("" if v is None else str(v) for v in line) for line in lines) + "\r\n"
        path.write_bytes(text.encode("gbk"))
        return
    wb, ws = _xlsx(path)
    _rows(ws, [title, [v if v else None for v in top], sub, *rows])
    ws.merge_range(1, 2, 1, 5, "工业总产值（万元）")
    ws.merge_range(1, 6, 1, 7, "营业收入（万元）")
    wb.close()


def _dash_zero(path: Path, monthly: pl.DataFrame, firms: pl.DataFrame, clusters: pl.DataFrame) -> None:
    """`-` for a flow that is zero: the month's records of the 当月-reporting province where a firm's profit was
    zero, written as the bureau's form writes it (the zero as `-`)."""
    period = dt.date(2024, 9, 1)
    prov = firms.join(clusters.select("cluster_id", "province"), on="cluster_id").select("uscc", "province")
    m = monthly.filter((pl.col("period") == period) & (pl.col("span_months") == 1)).join(prov, on="uscc")
    zero = m.filter(pl.col("profit") == 0)
    province = zero["province"].sort()[0]
    rows = pl.concat([zero.filter(pl.col("province") == province),
                      m.filter((pl.col("province") == province) & (pl.col("profit") != 0)).sort("uscc").head(3)])
    lines = [["统一社会信用代码", "统计期", "工业总产值（万元）", "利润总额（万元）"]]
    for r in rows.sort("uscc").iter_rows(named=True):
        profit = "-" if r["profit"] == 0 else round(r["profit"], 2)
        lines.append([r["uscc"], "2024年9月", round(r["output"], 2), profit])
    path.write_text("".join(",".join(str(v) for v in line) + "\n" for line in lines), encoding="utf-8")


def old_tax_id(row: dict) -> str:
    """The 15-digit 税务登记号 of a firm: its division code and its organisation code (USCC 9–17)."""
    return row["adcode"] + row["uscc"][8:17]


def _directory(path: Path, chosen: pl.DataFrame) -> None:
    """An enterprise directory (名录): 单位详细名称, 12-digit 统计用区划代码, label texts, the old 税务登记号."""
    rows: list[list] = [["2025年工业企业名录"],
                        ["单位详细名称", "统一社会信用代码", "统计用区划代码", "集群编码", "产业链环节", "是否规上",
                         "是否链主", "专精特新", "用地面积（亩）", "成立日期", "税务登记号"]]
    for i, r in enumerate(chosen.iter_rows(named=True)):
        rows.append([r["firm_name"], r["uscc"], r["adcode"] + "001001", r["cluster_id"], r["chain_segment"],
                     "是" if r["above_scale"] else "否", "是" if r["chain_leader"] else "否",
                     SRDI_WORDS[r["srdi_level"]], r["land_area"],
                     r["established"].isoformat() if r["established"] else None,
                     old_tax_id(r) if i % 2 == 1 else None])
    wb, ws = _xlsx(path)
    _rows(ws, rows)
    wb.close()


def _tax_office(path: Path, tax: pl.DataFrame, chosen: pl.DataFrame) -> list[dict]:
    """A tax office's 亩均 export in 元 (title line), keyed by old codes, with 所属期起/所属期止.

    The first firm is keyed by its 组织机构代码, the second by its 税务登记号 (registered in the directory above),
    one row carries a credit code that number formatting damaged and one an organisation code nobody has:
    those two are planted bad rows.
    """
    t = (tax.filter(pl.col("period") == dt.date(YEAR, 12, 1)).join(chosen, on="uscc").sort("uscc"))
    lines = [["金额单位：元"], ["纳税人识别号", "纳税人名称", "所属期起", "所属期止", "税收实际贡献"]]
    for i, r in enumerate(t.iter_rows(named=True)):
        code = {0: f"{r['uscc'][8:16]}-{r['uscc'][16]}", 1: old_tax_id(r)}.get(i, r["uscc"])
        lines.append([code, r["firm_name"], "2025-12-01", "2025-12-31", round(r["tax_paid"] * 1e4)])
    n = len(lines)
    lines.append(["9.11306E+17", "某数字格式损坏企业", "2025-12-01", "2025-12-31", 12345])
    lines.append(["ZZZZZZZZ-9", "某未登记企业", "2025-12-01", "2025-12-31", 6789])
    text = "\r\n".join(",".join("" if v is None else str(v) for v in line) for line in lines) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    return [{"file_name": path.name, "row_number": n + 1, "column_name": "uscc", "rule": "uscc_number_formatted"},
            {"file_name": path.name, "row_number": n + 2, "column_name": "uscc", "rule": "unknown_firm"}]
