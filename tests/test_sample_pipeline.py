"""The bundled sample through the real nightly flow, compared with the generator's planted truth."""

from __future__ import annotations

import re

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_UNDER_TEST, headless_chromium
from polars.testing import assert_frame_equal

TRUTH = SAMPLE_UNDER_TEST / "truth"


@pytest.fixture(scope="module")
def con(sample_warehouse):
    with duckdb.connect(str(sample_warehouse.warehouse), read_only=True) as con:
        yield con


def test_every_planted_bad_row_is_quarantined_with_its_rule_and_nothing_else_is(con):
    planted = pl.read_csv(TRUTH / "bad_rows.csv").select("file_name", "row_number", "rule")
    quarantined = con.execute("SELECT file_name, row_number, rule FROM quarantine.rows").pl()
    assert_frame_equal(quarantined.sort(pl.all()), planted.sort(pl.all()), check_dtypes=False)


def test_planted_bad_rows_name_the_column_at_fault(con):
    planted = pl.read_csv(TRUTH / "bad_rows.csv").filter(pl.col("column_name").is_not_null())
    got = dict(((f, r), c) for f, r, c in con.execute(
        "SELECT file_name, row_number, column_name FROM quarantine.rows").fetchall())
    for file_name, row, column in planted.select("file_name", "row_number", "column_name").iter_rows():
        assert got[(file_name, row)] == column, (file_name, row)


def test_a_file_that_is_not_a_table_is_failed_with_its_reason(con):
    for file_name, reason in pl.read_csv(TRUTH / "bad_files.csv").iter_rows():
        status, why = con.execute("SELECT status, reason FROM meta.files WHERE file_name = ?", [file_name]).fetchone()
        assert status == "failed" and why.startswith(reason)


def test_rows_in_equals_loaded_plus_quarantined_for_every_file(con):
    bad = con.execute("""SELECT file_name FROM meta.files WHERE status = 'loaded'
                         AND rows_in <> rows_loaded + rows_quarantined""").fetchall()
    assert bad == []
    mismatched = con.execute("""SELECT f.file_name, f.rows_quarantined, count(q.row_number) FROM meta.files f
                                LEFT JOIN quarantine.rows q USING (file_id) WHERE f.status = 'loaded'
                                GROUP BY ALL HAVING f.rows_quarantined <> count(q.row_number)""").fetchall()
    assert mismatched == []


@pytest.mark.parametrize(("table", "truth", "measures"), [
    ("core.firm_monthly", "monthly_truth.parquet",
     ["output", "value_added", "revenue", "profit", "employees", "energy", "rd_expense"]),
    ("core.tax", "tax_truth.parquet", ["tax_paid"]),
])
def test_loaded_monthly_values_equal_the_planted_truth(con, table, truth, measures):
    expected = pl.read_parquet(TRUTH / truth).select("uscc", "period", "span_months", *measures)
    got = con.execute(f"SELECT uscc, period, span_months, {', '.join(measures)} FROM {table}").pl()
    assert_frame_equal(got.sort("uscc", "period"), expected.sort("uscc", "period"),
                       check_dtypes=False, rel_tol=1e-9)


def test_cluster_month_totals_equal_the_planted_truth(con):
    expected = pl.read_parquet(TRUTH / "cluster_month_totals.parquet")
    got = con.execute("""
        SELECT f.cluster_id, m.period, sum(m.output) AS output
        FROM core.firm_monthly m JOIN core.firms f USING (uscc) GROUP BY ALL""").pl()
    joined = expected.join(got, on=["cluster_id", "period"], how="full", suffix="_got")
    assert joined.filter(pl.col("output_got").is_null() & (pl.col("output") != 0)).height == 0
    assert joined.filter((pl.col("output") - pl.col("output_got")).abs()
                          > 1e-9 * pl.col("output").abs()).height == 0


def test_procurement_after_revisions_equals_the_planted_truth(con):
    expected = pl.read_parquet(TRUTH / "procurement_truth.parquet")
    got = con.execute("SELECT buyer_uscc, period, sum(amount) AS amount, count(*) AS n FROM core.procurement "
                      "GROUP BY ALL").pl()
    want = expected.group_by("buyer_uscc", "period").agg(pl.col("amount").sum(), pl.len().alias("n"))
    assert_frame_equal(got.sort("buyer_uscc", "period"), want.sort("buyer_uscc", "period"),
                       check_dtypes=False, rel_tol=1e-9)


def test_the_nights_data_docs_open_in_a_browser_and_list_the_files(sample_warehouse, tmp_path):
    index = sample_warehouse.data_docs
    dom = headless_chromium(["--dump-dom", index.as_uri()], tmp_path / "profile", check=True).stdout
    for kind in ("clusters", "firms", "monthly", "tax", "procurement", "digital"):
        assert kind in dom, f"no validation of {kind} in the Data Docs"
    # with the network off (headless_chromium), bootstrap-table still draws the list from the bundled assets
    assert len(re.findall(r'<tr [^>]*data-index="\d+"', dom)) >= 6
    assert "fa-check-circle" in dom or "fa-times" in dom
    remote = [p.name for p in index.parent.rglob("*.html")
              if re.search(r'<(link|script|img)\b[^>]*\b(href|src)="https?://', p.read_text(encoding="utf-8"))]
    assert remote == []


def test_every_table_view_and_column_of_the_published_warehouse_is_commented(con):
    rows = con.execute("""
        SELECT schema_name || '.' || table_name || coalesce('.' || column_name, ''), comment
        FROM (SELECT schema_name, table_name, NULL AS column_name, comment FROM duckdb_tables()
              UNION ALL SELECT schema_name, view_name, NULL, comment FROM duckdb_views() WHERE NOT internal
              UNION ALL SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal)
        WHERE schema_name NOT IN ('work')""").fetchall()
    missing = [name for name, comment in rows if not comment or "/" not in comment]
    assert missing == []


def test_great_expectations_counts_reach_every_result_and_agree_where_it_saw_every_row(con):
    """GX runs beside the later stages on its own cursor; its counts must still land in the published file."""
    total, with_gx, disagree = con.execute("""
        SELECT count(*), count(gx_evaluated) FILTER (WHERE gx_failed IS NOT NULL),
               count(*) FILTER (WHERE gx_evaluated = evaluated AND gx_failed <> failed_rows)
        FROM meta.validation_results""").fetchone()
    assert total > 0 and with_gx == total and disagree == 0


def test_bureau_exports_of_the_sample_load_through_their_header_reports(con):
    """The sample's bureau-export files (flows/sample/exports.py) are read column by column as planted: the
    units and bases below are how the generator wrote them; their values are checked against the truth by
    test_loaded_monthly_values_equal_the_planted_truth."""
    rows = con.execute("""SELECT f.file_name, c.source_header, c.column_name, c.basis, c.unit, c.unit_source, c.status
                          FROM meta.file_columns c JOIN meta.files f USING (file_id)
                          WHERE f.file_name LIKE '%zz_bureau%'""").fetchall()
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert got[("monthly_2025-12_zz_bureau_units_line.xlsx", "工业总产值（当年价格）")] == (
        "output", None, "千元", "title_line", "loaded")
    assert got[("monthly_2025-12_zz_bureau_units_line.xlsx", "单位详细名称")] == (
        None, None, None, None, "info")
    assert got[("monthly_2025-11_zz_bureau_units_row.xls", "营业收入")] == (
        "revenue", None, "元", "units_row", "loaded")
    assert got[("monthly_2025-11_zz_bureau_units_row.xls", "综合能源消费量")][2:4] == ("千克标准煤", "units_row")
    for name in ("monthly_2025-10_zz_bureau_two_level.xlsx", "monthly_2025-09_zz_bureau_two_level_ytd_first.csv"):
        assert got[(name, "工业总产值（万元） / 本月")] == ("output", "month", "万元", "header", "loaded")
        assert got[(name, "工业总产值（万元） / 1-本月累计")][-1] == "cross_check"
        assert got[(name, "工业总产值（万元） / 增长%")][-1] == "not_loaded"
    assert got[("tax_2025-12_zz_bureau_taxoffice.csv", "税收实际贡献")] == (
        "tax_paid", None, "元", "title_line", "loaded")
    files = dict(con.execute("SELECT file_name, status FROM meta.files WHERE file_name LIKE '%zz_bureau%'").fetchall())
    assert set(files.values()) == {"loaded"} and len(files) == 7
    # `-` is the zero of a flow: the planted zero profit loads as 0, not as a missing value
    zero = con.execute("""SELECT count(*) FROM history.reported_values h JOIN meta.files f USING (file_id)
                          WHERE f.file_name = 'monthly_2024-09_zz_bureau_dash_zero.csv' AND h.measure = 'profit'
                            AND h.value = 0""").fetchone()[0]
    assert zero == 1
    # the two rows keyed by an old code load under the registered firm, with a warning each
    flags = con.execute("""SELECT count(*) FROM meta.row_flags r JOIN meta.files f USING (file_id)
                           WHERE f.file_name = 'tax_2025-12_zz_bureau_taxoffice.csv' AND r.rule = 'old_identifier'""")
    assert flags.fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM core.firm_identifiers").fetchone()[0] == 3
