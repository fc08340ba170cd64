"""Crash safety: a night that died (kill -9, a stale WAL, a half copy) never affects the next one, and a
night whose only new file loads no rows still publishes."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import smtp_on_loopback
from test_nightly import LEADER, STRANGER, SUPPLIER, write_inbox

from flows.nightly import nightly

HERE = Path(__file__).parent
APRIL = f"uscc,period,basis,output,employees\n{LEADER},2025-04,当月,700,810\n{SUPPLIER},2025-04,当月,90,51\n"
ONLY_STRANGERS = f"uscc,period,output\n{STRANGER},2025-04,10\n{STRANGER},2025-05,11\n"


@pytest.fixture(scope="module")
def first_night(tmp_path_factory, prefect_harness) -> Path:
    """The folder of a published first night (warehouse + landing store) and its inbox."""
    root = tmp_path_factory.mktemp("first")
    nightly(inbox=write_inbox(root / "inbox"), warehouse=root / "wh" / "cw.duckdb", reports=root / "reports")
    return root


def copy_night(first: Path, to: Path, extra: dict[str, str]) -> tuple[Path, Path]:
    """A private copy of the first night, with extra files in its inbox for the second."""
    shutil.copytree(first, to)
    for name, text in extra.items():
        (to / "inbox" / name).write_text(text, encoding="utf-8")
    return to / "inbox", to / "wh" / "cw.duckdb"


def content(warehouse: Path) -> dict[str, list[tuple]]:
    """Every row of core, mart and meta.files, without timestamps and the paths that name the folder."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('core', 'mart') OR (schema_name = 'meta' AND table_name = 'files') "
            "ORDER BY 1").fetchall()
        for (table,) in tables:
            schema, name = table.split(".")
            columns = [c for c, t in con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [schema, name]).fetchall()
                if not t.startswith("TIMESTAMP") and not c.endswith(("_path", "_at")) and c != "files"]
            select = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"SELECT {select} FROM {table} ORDER BY ALL").fetchall()
    return out


def test_a_night_whose_only_new_file_loads_no_rows_publishes_its_quarantine(first_night, tmp_path):
    inbox, warehouse = copy_night(first_night, tmp_path / "n", {"monthly_2025-04_strangers.csv": ONLY_STRANGERS})
    summary = nightly(inbox=inbox, warehouse=warehouse, reports=tmp_path / "n" / "reports")
    [outcome] = summary.outcomes
    assert (outcome.status, outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 2, 0, 2)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT status, rows_in, rows_loaded, rows_quarantined FROM meta.files "
                           "WHERE file_name = 'monthly_2025-04_strangers.csv'").fetchall() == [("loaded", 2, 0, 2)]
        assert con.execute("SELECT count(*) FROM quarantine.rows WHERE rule = 'unknown_firm' "
                           "AND file_name = 'monthly_2025-04_strangers.csv'").fetchone()[0] == 2
    again = nightly(inbox=inbox, warehouse=warehouse, reports=tmp_path / "n" / "reports")
    assert again.run_id is None        # published: the file is not new again the next night


def test_leftovers_of_a_dead_night_are_removed_not_replayed(first_night, tmp_path):
    inbox, warehouse = copy_night(first_night, tmp_path / "n", {"monthly_2025-04.csv": APRIL})
    building = warehouse.with_name("cw.duckdb.building")
    building.write_bytes(b"half a copy")
    # A real WAL of another database: replayed into the new copy it would fail the night (or apply changes).
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("SET checkpoint_threshold = '1TB'")
    con.execute("CREATE TABLE stray AS SELECT 1 AS a")
    shutil.copyfile(other.with_name("other.duckdb.wal"), warehouse.with_name("cw.duckdb.building.wal"))
    con.close()
    (warehouse.with_name("cw.duckdb.building.tmp")).mkdir()
    partial = warehouse.parent / "landing" / "ab" / "ab12.csv.part"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half")
    summary = nightly(inbox=inbox, warehouse=warehouse, reports=tmp_path / "n" / "reports")
    assert [o.status for o in summary.outcomes] == ["loaded"]
    leftovers = [p.name for p in warehouse.parent.iterdir() if ".building" in p.name]
    assert leftovers == [] and not partial.exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stray'").fetchone()[0] == 0


@pytest.fixture(scope="module")
def uninterrupted(first_night, tmp_path_factory) -> dict[str, list[tuple]]:
    """The second night, run without interruption: what every resumed night must publish."""
    root = tmp_path_factory.mktemp("second")
    inbox, warehouse = copy_night(first_night, root / "n", {"monthly_2025-04.csv": APRIL})
    nightly(inbox=inbox, warehouse=warehouse, reports=root / "n" / "reports")
    return content(warehouse)


@pytest.mark.parametrize("point", ["ingest", "indicators", "deliver", "publish"])
def test_a_second_night_killed_at_any_point_is_completed_by_the_next_run(first_night, uninterrupted, tmp_path,
                                                                         point, monkeypatch):
    """kill -9 at four points of a second night; the re-run publishes what an uninterrupted night does, and
    a message the dead night had already sent is not sent again."""
    from prefect.settings import PREFECT_API_URL

    inbox, warehouse = copy_night(first_night, tmp_path / "n", {"monthly_2025-04.csv": APRIL})
    published_before = warehouse.read_bytes()
    with smtp_on_loopback() as (controller, mailbox):
        for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(controller.port)),
                            ("SMTP_TO", "jingxinting@example.cn")):
            monkeypatch.setenv(f"CLUSTERWATCH_{name}", value)
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
        killed = subprocess.run([sys.executable, str(HERE / "nightkill.py"), point, str(inbox), str(warehouse),
                                 str(tmp_path / "n" / "reports")], env=env, capture_output=True, text=True,
                                timeout=600)
        assert killed.returncode == -9, killed.stderr[-3000:]
        assert warehouse.read_bytes() == published_before          # nothing of the dead night was published
        assert warehouse.with_name("cw.duckdb.building").exists()  # it died holding a building copy
        sent_before_the_kill = len(mailbox.messages)
        summary = nightly(inbox=inbox, warehouse=warehouse, reports=tmp_path / "n" / "reports")
    assert [o.name for o in summary.outcomes] == ["monthly_2025-04.csv"]
    assert content(warehouse) == uninterrupted
    assert not [p for p in warehouse.parent.iterdir() if ".building" in p.name]
    subjects = [m["Subject"] for _, m in mailbox.messages]
    assert subjects and len(subjects) == len(set(subjects))    # every message once, across the kill
    assert (sent_before_the_kill > 0) == (point in ("deliver", "publish"))


def disk_full_after_half(src, dst, *args, **kwargs):
    """shutil.copyfile on a disk that fills up half-way: half a file written, then ENOSPC."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_copy_that_fills_the_disk_leaves_nothing_behind_and_names_the_paths(tmp_path, monkeypatch):
    from flows.support import warehouse as wh

    published = tmp_path / "cw.duckdb"
    duckdb.connect(str(published)).close()
    monkeypatch.setattr(wh.shutil, "copyfile", disk_full_after_half)
    with pytest.raises(wh.WarehouseIOError) as failed, wh.building(published):
        pass
    assert str(published) in str(failed.value) and "No space left on device" in str(failed.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cw.duckdb", "cw.duckdb.lock"]


def test_a_landing_copy_that_fills_the_disk_names_source_and_target(tmp_path, monkeypatch):
    from flows.stages import s02_land as land

    source = tmp_path / "monthly_2025-06.csv"
    source.write_text("uscc,period\n", encoding="utf-8")
    target = tmp_path / "landing" / "ab" / "ab12.csv"
    monkeypatch.setattr(land.shutil, "copyfile", disk_full_after_half)
    with pytest.raises(OSError) as failed:
        land._copy(source, target)
    assert str(source) in str(failed.value) and str(target) in str(failed.value)
    assert list(target.parent.iterdir()) == []          # no .part left to fill the disk further
