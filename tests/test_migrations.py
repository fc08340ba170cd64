"""Migrations: the warehouse's schema version, each migration applied exactly once, and a warehouse built by the
previous release (tests/fixtures/prev_release, made with commit 2247570) upgraded with its rows intact."""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.support.settings import DEFAULT_INBOX
from flows.support.warehouse import (
    apply_schema,
    comment_from_contract,
    migrations,
    require_current_schema,
    schema_version,
)

FIXTURE = Path(__file__).parent / "fixtures" / "prev_release" / "warehouse-2247570.duckdb.gz"
# What the previous release's night loaded (tests/fixtures/prev_release/README.md).
FIXTURE_FILES = ("clusters_2023-01.xlsx", "firms_2023-01_registry.xlsx", "platforms_2023-01.csv",
                 "monthly_2025-06_yunnan.csv", "monthly_2025-12_yunnan.csv", "tax_2025-12_yunnan.parquet",
                 "digital_2025-11_supplement.csv", "procurement_2025-09_revision.csv")
# Tables whose rows a migration may rebuild: the dictionary holds only the registry (0002 makes it anew and every
# indicator run fills it again).
REBUILT = {"mart.indicator_dictionary"}
# Made by the indicator stage itself, not by migrations: its stored inputs (schema work, dropped and created again
# on every full recompute, which a changed SQL forces) and the wide view (its columns are the registry's codes).
STAGE_MADE = "(schema_name = 'work' AND table_name <> 'indicator_state') OR table_name = 'cluster_indicators_wide'"


def previous_release_warehouse(path: Path) -> Path:
    """The fixture, unpacked to `path`."""
    with gzip.open(FIXTURE) as packed, open(path, "wb") as out:
        shutil.copyfileobj(packed, out)
    return path


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1").fetchall()]


def layout(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str, str]]:
    """Every (schema, table or view, column, type) of the warehouse that migrations make."""
    return set(con.execute("SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
                           f"WHERE NOT internal AND database_name = current_database() AND NOT ({STAGE_MADE})"
                           ).fetchall())


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = $s "
                                      "AND table_name = $t ORDER BY column_index", {"s": schema, "t": name}).fetchall()]


def contents(con: duckdb.DuckDBPyConnection, table: str, cols: list[str]) -> tuple[int, int]:
    """Row count and an order-independent hash of the rows over `cols` (the columns the old table had)."""
    quoted = ", ".join(f'"{c}"' for c in cols)
    return con.execute(f"SELECT count(*), coalesce(sum(hash({quoted})::HUGEINT), 0) FROM {table}").fetchone()


def snapshot(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, tuple[list[str], tuple[int, int]]]:
    """Per table: its columns and contents (count, hash)."""
    return {t: (cols, contents(con, t, cols)) for t in names for cols in [columns(con, t)]}


def unchanged(con: duckdb.DuckDBPyConnection, before: dict) -> dict[str, tuple[int, int]]:
    """The tables whose rows differ from `before` (over the old columns): {table: (before, now)}."""
    now = {t: contents(con, t, cols) for t, (cols, _) in before.items()}
    return {t: (before[t][1], now[t]) for t in before if now[t] != before[t][1]}


def test_migration_files_are_numbered_from_one_without_gaps():
    found = migrations()
    assert [v for v, _ in found] == list(range(1, len(found) + 1))
    assert found[0][1].name == "0001_baseline.sql" and len(found) >= 3


def test_a_new_warehouse_gets_every_migration_once_and_a_second_start_applies_none(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    applied = apply_schema(con)
    assert applied == [path.name for _, path in migrations()]
    assert schema_version(con) == len(migrations())
    assert con.execute("SELECT list(version ORDER BY version) FROM meta.schema_migrations").fetchone()[0] == \
        list(range(1, len(migrations()) + 1))
    assert apply_schema(con) == []
    assert con.execute("SELECT count(*) FROM meta.schema_migrations").fetchone()[0] == len(migrations())


def test_an_opened_warehouse_rewrites_only_the_column_comments_that_differ_from_the_contract(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_schema(con)
    said = con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
                       "ORDER BY ALL").fetchall()
    assert comment_from_contract(con) == 0      # what every night after the first finds: nothing to write
    con.execute("COMMENT ON COLUMN core.firms.uscc IS 'edited by hand'")
    con.execute("COMMENT ON COLUMN history.reported_rows.period IS NULL")
    assert comment_from_contract(con) == 2
    assert con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
                       "ORDER BY ALL").fetchall() == said
    reported = con.execute("SELECT comment FROM duckdb_columns() WHERE schema_name = 'history' "
                           "AND table_name = 'reported_rows' AND column_name = 'period'").fetchone()[0]
    assert reported == "月份 / month"


def test_the_previous_release_warehouse_is_upgraded_to_the_current_layout_and_keeps_its_rows(tmp_path):
    old_path = previous_release_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(old_path), read_only=True) as old:
        assert schema_version(old) == 0
        before = snapshot(old, [t for t in tables(old) if t not in REBUILT])
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    apply_schema(fresh)

    con = duckdb.connect(str(old_path))
    assert apply_schema(con) == [path.name for _, path in migrations()]
    assert schema_version(con) == len(migrations())
    # every table, view and column of the current release, with its type; nothing the release does not know
    assert layout(con) == layout(fresh)
    assert "meta.report_editions" in tables(con)   # the old release created it only when a report went out
    # the old rows, unchanged (the same count and the same hash over every column)
    assert unchanged(con, before) == {}
    assert before["meta.files"][1][0] == len(FIXTURE_FILES) and before["core.firm_monthly"][1][0] > 0
    assert con.execute("SELECT release FROM meta.runs").fetchall() == [(None,)]


def test_a_warehouse_with_the_old_window_column_gets_time_window(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE SCHEMA mart")
    con.execute('CREATE TABLE mart.indicator_dictionary (indicator VARCHAR PRIMARY KEY, name_zh VARCHAR, '
                'name_en VARCHAR, unit VARCHAR, direction VARCHAR, "window" VARCHAR, rollup VARCHAR, '
                'sql_file VARCHAR, definition VARCHAR, ordinal INTEGER)')
    apply_schema(con)
    columns = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'mart' "
                                         "AND table_name = 'indicator_dictionary'").fetchall()]
    assert "time_window" in columns and "window" not in columns


def test_reported_values_stored_one_per_measure_become_one_row_per_source_row_and_read_the_same(
        tmp_path, monkeypatch):
    import flows.support.warehouse as warehouse

    wide = next(v for v, path in migrations() if path.name == "0006_reported_rows.sql")
    monkeypatch.setattr(warehouse, "migrations", lambda: migrations()[:wide - 1])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_schema(con)
    long_rows = [("monthly", "A", date(2025, 1, 1), "month", "output", 10.5, 1, 2),
                 ("monthly", "A", date(2025, 1, 1), "month", "employees", 7.0, 1, 2),
                 ("monthly", "B", date(2025, 1, 1), "ytd", "rd_expense", 0.25, 1, 3),
                 ("monthly", "A", date(2025, 1, 1), "month", "output", 11.0, 4, 2),    # a revision, file 4
                 ("tax", "A", date(2025, 1, 1), "month", "tax_paid", 3.0, 2, 2)]
    con.executemany("INSERT INTO history.reported_values VALUES (?, ?, ?, ?, ?, ?, ?, ?)", long_rows)
    monkeypatch.undo()

    assert apply_schema(con) == [path.name for v, path in migrations() if v >= wide]
    assert sorted(con.execute("SELECT * FROM history.reported_values").fetchall()) == sorted(long_rows)
    assert con.execute("SELECT kind, uscc, file_id, row_number, output, employees, rd_expense, tax_paid "
                       "FROM history.reported_rows ORDER BY file_id, row_number").fetchall() == [
        ("monthly", "A", 1, 2, 10.5, 7.0, None, None), ("monthly", "B", 1, 3, None, None, 0.25, None),
        ("tax", "A", 2, 2, None, None, None, 3.0), ("monthly", "A", 4, 2, 11.0, None, None, None)]


def test_a_warehouse_newer_than_the_release_is_refused(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_schema(con)
    con.execute("INSERT INTO meta.schema_migrations VALUES ($v, '9999_future.sql', current_timestamp)",
                {"v": len(migrations()) + 1})
    with pytest.raises(RuntimeError, match="newer than this release"):
        apply_schema(con)
    with pytest.raises(RuntimeError, match="upgrade clusterwatch"):
        require_current_schema(con)


def test_a_reader_refuses_a_warehouse_a_night_has_not_migrated_yet(tmp_path):
    from flows.stages.s12_deliver import DeliverySettings, flush_published

    published = previous_release_warehouse(tmp_path / "w.duckdb")
    with pytest.raises(RuntimeError, match=r"schema version 0 .* run a night"):
        flush_published(published, DeliverySettings())


def test_a_night_on_the_previous_release_warehouse_migrates_it_and_loads_on_top(tmp_path, prefect_harness):
    from flows.nightly import nightly

    (tmp_path / "wh").mkdir()
    warehouse = previous_release_warehouse(tmp_path / "wh" / "clusterwatch.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as old:
        before = snapshot(old, ["core.firms", "core.clusters", "history.reported_values"])
        quarantined = old.execute("SELECT count(*) FROM quarantine.rows").fetchone()[0]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in (*FIXTURE_FILES, "tax_2024-12_yunnan.parquet"):   # one new file; the others are known
        shutil.copy(DEFAULT_INBOX / name, inbox / name)
    summary = nightly(inbox=inbox, warehouse=warehouse, reports=tmp_path / "reports")
    assert summary.error is None

    con = duckdb.connect(str(warehouse), read_only=True)
    require_current_schema(con)
    runs = con.execute("SELECT run_id, release FROM meta.runs ORDER BY run_id").fetchall()
    assert [r[0] for r in runs] == [1, 2] and runs[0][1] is None and runs[1][1]
    assert con.execute("SELECT count(*) FROM meta.files").fetchone()[0] == len(FIXTURE_FILES) + 1
    assert con.execute("SELECT status FROM meta.files WHERE file_name = 'tax_2024-12_yunnan.parquet'").fetchone() \
        == ("loaded",)
    reported = before.pop("history.reported_values")
    assert unchanged(con, before) == {}
    # the old quarantined rows stay (a later file may mark one resolved)
    assert con.execute("SELECT count(*) FROM quarantine.rows WHERE file_id <= $n", {"n": len(FIXTURE_FILES)}
                       ).fetchone()[0] == quarantined
    assert contents(con, "history.reported_values", reported[0])[0] > reported[1][0]
    assert con.execute("SELECT count(*) FROM mart.indicator_dictionary").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM mart.cluster_indicators WHERE period = DATE '2024-12-01'").fetchone()[0]


def test_a_night_with_nothing_new_still_migrates_the_previous_release_warehouse(tmp_path, prefect_harness):
    from flows.nightly import nightly

    (tmp_path / "wh").mkdir()
    warehouse = previous_release_warehouse(tmp_path / "wh" / "clusterwatch.duckdb")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in FIXTURE_FILES:                     # all landed already
        shutil.copy(DEFAULT_INBOX / name, inbox / name)
    summary = nightly(inbox=inbox, warehouse=warehouse, reports=tmp_path / "reports")
    assert summary.error is None and summary.outcomes == []
    con = duckdb.connect(str(warehouse), read_only=True)
    require_current_schema(con)
    assert con.execute("SELECT count(*) FROM meta.files").fetchone()[0] == len(FIXTURE_FILES)
    assert con.execute("SELECT count(*) FROM mart.indicator_dictionary").fetchone()[0] > 0   # refilled
