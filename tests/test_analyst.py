"""What an analyst does with the published warehouse: open it in the DuckDB shell, query the stable names
without quoting, read cluster names in the wide table, and hand a table to colleagues as XLSX, CSV or
Parquet."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

from flows.support.export import DATA_SHEET, NOTES_SHEET, export
from flows.support.registry import registry

DUCKDB_CLI = Path(sys.executable).with_name("duckdb")
STABLE_SCHEMAS = ("meta", "quarantine", "core", "history", "mart")


@pytest.fixture(scope="module")
def published(sample_warehouse) -> Path:
    return sample_warehouse.warehouse


def test_duckdb_cli_is_the_library_version_and_opens_the_published_warehouse_readonly(published):
    version = subprocess.run([DUCKDB_CLI, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.split()[0] == f"v{duckdb.__version__}"
    # The README's command, with a plain (unquoted) query of the dictionary's time window.
    done = subprocess.run([DUCKDB_CLI, "-readonly", "-csv", str(published), "-c",
                           "SELECT indicator, time_window FROM mart.indicator_dictionary ORDER BY ordinal"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "indicator,time_window"
    assert lines[1:] == [f"{i.code},{i.window}" for i in registry()]
    refused = subprocess.run([DUCKDB_CLI, "-readonly", str(published), "-c", "DELETE FROM meta.files"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "read-only" in refused.stderr


def test_no_stable_column_is_a_reserved_word(published):
    con = duckdb.connect(str(published), read_only=True)
    reserved = con.execute(
        "SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() c "
        "JOIN duckdb_keywords() k ON lower(c.column_name) = k.keyword_name "
        "WHERE k.keyword_category = 'reserved' AND schema_name IN (SELECT unnest(?))",
        [list(STABLE_SCHEMAS)]).fetchall()
    con.close()
    assert reserved == []


def test_stored_values_have_no_float_noise(published):
    """Indicators to 12 significant digits, derived firm values to 6 decimals (万元: 0.01 元)."""
    con = duckdb.connect(str(published), read_only=True)
    noisy = con.execute(
        "SELECT count(*) FROM mart.cluster_indicators, unnest([value, numerator, denominator]) AS t(x) "
        "WHERE CASE WHEN x = 0 THEN false ELSE x <> round(x, 11 - floor(log10(abs(x)))::INTEGER) END").fetchone()[0]
    noisy_core = con.execute("SELECT count(*) FROM core.firm_monthly WHERE output <> round(output, 6)").fetchone()[0]
    checked = con.execute("SELECT count(*) FROM mart.cluster_indicators WHERE value <> 0").fetchone()[0]
    con.close()
    assert checked > 1000 and (noisy, noisy_core) == (0, 0)


def test_wide_table_names_the_cluster(published):
    con = duckdb.connect(str(published), read_only=True)
    rows = con.execute("SELECT w.cluster_name = c.cluster_name, w.province = c.province FROM "
                       "mart.cluster_indicators_wide w JOIN core.clusters c USING (cluster_id)").fetchall()
    n_wide = con.execute("SELECT count(*) FROM mart.cluster_indicators_wide").fetchone()[0]
    con.close()
    assert len(rows) == n_wide > 0 and all(a and b for a, b in rows)


def test_exported_xlsx_opens_with_openpyxl_with_data_and_notes_sheets(published, tmp_path):
    out = export(published, tmp_path / "wide.xlsx", table="mart.cluster_indicators_wide")
    book = openpyxl.load_workbook(out.path)
    assert book.sheetnames == [DATA_SHEET, NOTES_SHEET]
    data = book[DATA_SHEET]
    header = [c.value for c in data[1]]
    assert header[:4] == ["cluster_id", "cluster_name", "province", "period"]
    assert header[4:] == [i.code for i in registry()]
    assert data.max_row == out.rows + 1
    first = [c.value for c in data[2]]
    assert isinstance(first[3], dt.datetime)          # a real date, not text
    notes = [[c.value for c in row] for row in book[NOTES_SHEET].iter_rows()]
    comments = {row[0]: row[2] for row in notes[1:len(header) + 1]}
    assert comments["cluster_name"].startswith("集群名称") and "Local supporting rate" in comments[
        "local_supporting_rate"]
    codes_listed = [row[0] for row in notes[len(header) + 4:]]
    assert codes_listed == [i.code for i in registry()]


def test_export_neutralises_formulas_and_writes_csv_with_bom_and_parquet(published, tmp_path):
    query = ("SELECT cluster_id, '=HYPERLINK(\"http://x\")' AS evil, ['span', 'partial_window'] AS flags "
             "FROM core.clusters ORDER BY cluster_id")
    xlsx = export(published, tmp_path / "q.xlsx", query=query)
    cell = openpyxl.load_workbook(xlsx.path)[DATA_SHEET]["B2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x")' and cell.quotePrefix
    assert openpyxl.load_workbook(xlsx.path)[DATA_SHEET]["C2"].value == "span; partial_window"

    path = export(published, tmp_path / "q.csv", query=query).path
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")"

    table = pq.read_table(export(published, tmp_path / "c.parquet", table="core.clusters").path)
    con = duckdb.connect(str(published), read_only=True)
    assert table.num_rows == con.execute("SELECT count(*) FROM core.clusters").fetchone()[0]
    con.close()


def test_export_refuses_a_table_name_that_is_not_an_identifier(published, tmp_path):
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        export(published, tmp_path / "x.csv", table="core.clusters; DROP TABLE core.firms")
