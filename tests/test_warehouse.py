"""Publishing: readers never block the nightly build and never see half a night."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from flows.support.warehouse import building, connect_readonly


def count_runs(path) -> int:
    with connect_readonly(path) as con:
        return con.execute("SELECT count(*) FROM meta.runs").fetchone()[0]


def add_run(con) -> None:
    con.execute("INSERT INTO meta.runs (run_id, status) VALUES (nextval('meta.run_seq'), 'test')")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory) -> Path:
    """A published warehouse whose table `facts` holds 1,000,000 rows under a VARCHAR primary key (md5 strings,
    spread over the index as firms' codes are), built once: inserting them costs ≈4 CPU-s, a copy 0.02 s."""
    path = tmp_path_factory.mktemp("keyed") / "w.duckdb"
    with building(path) as work:
        work.con.execute("CREATE TABLE facts (k VARCHAR PRIMARY KEY, v DOUBLE)")
        work.con.execute("INSERT INTO facts SELECT md5(range::VARCHAR), range FROM range(1000000)")
    return path


def published_copy(keyed: Path, folder: Path) -> Path:
    """A warehouse of its own for one test, with the keyed facts published in it."""
    path = folder / "w.duckdb"
    shutil.copyfile(keyed, path)
    return path


def test_an_open_reader_neither_blocks_the_build_nor_sees_it_until_it_reconnects(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    reader = connect_readonly(path)
    with building(path) as work:
        add_run(work.con)
        assert count_runs(path) == 1  # mid-build, the published file still shows the old night
    assert reader.execute("SELECT count(*) FROM meta.runs").fetchone()[0] == 1
    reader.close()
    assert count_runs(path) == 2


def test_a_failed_build_leaves_the_published_warehouse_untouched(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    with pytest.raises(RuntimeError), building(path) as work:
        add_run(work.con)
        raise RuntimeError("night failed half way")
    assert count_runs(path) == 1
    assert not (tmp_path / "w.duckdb.building").exists()


def test_two_builds_at_once_are_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path), pytest.raises(RuntimeError, match="another nightly run"), building(path):
        pass


def test_every_table_and_column_is_commented_in_chinese_and_english(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path):
        pass
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("""SELECT schema_name || '.' || table_name || coalesce('.' || column_name, ''), comment
        FROM (SELECT schema_name, table_name, NULL AS column_name, comment FROM duckdb_tables()
              UNION ALL SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()
                        WHERE NOT internal)""").fetchall()
    assert len(rows) > 100
    for name, comment in rows:
        assert comment and "/" in comment, f"{name} lacks a zh / en comment"
        zh, en = comment.split("/", 1)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), f"{name}: no Chinese in {comment!r}"
        assert any(ch.isascii() and ch.isalpha() for ch in en), f"{name}: no English in {comment!r}"


def test_duckdb_drops_its_cache_for_python_work_and_keeps_the_night_limit(keyed, tmp_path):
    """release_cache: the pool's cached blocks beyond `keep` are evicted at once (the memory DuckDB reports
    falls) and the limit is the night's again after it; a size that is not one is refused before any SET."""
    from flows.support.warehouse import release_cache

    def limit(con) -> str:
        return con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchone()[0]

    def used(con) -> int:
        return con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]

    with building(published_copy(keyed, tmp_path)) as work:
        con = work.con
        night = limit(con)
        con.execute("SELECT count(DISTINCT k), sum(v) FROM facts").fetchall()    # the table's blocks are now cached
        cached = used(con)
        release_cache(con, "16MB")
        assert used(con) <= 16_000_000 < cached and limit(con) == night
        with pytest.raises(ValueError, match="not a memory size"):
            release_cache(con, "16MB'; DROP TABLE facts; --")
        assert limit(con) == night and con.execute("SELECT count(*) FROM facts").fetchone()[0] == 1000000


def test_reopening_the_building_copy_gives_back_the_index_a_load_read_into_memory_and_keeps_its_rows(keyed, tmp_path):
    """Building.reopen: inserts into a table with a primary key read its index into DuckDB's memory, where
    no eviction reaches it (a limit below it is refused); a reopened connection holds none of it, has the given
    limit, and the rows are published."""

    def index_bytes(con) -> int:
        return con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'ART_INDEX'").fetchone()[0]

    path = published_copy(keyed, tmp_path)
    with building(path) as work:
        # a night's load: its keys, spread over the index as new firms' are, read most of it into memory
        work.con.execute("INSERT INTO facts SELECT md5(range::VARCHAR), -1 FROM range(1000000, 1010000)")
        assert index_bytes(work.con) > 32_000_000
        with pytest.raises(duckdb.OutOfMemoryException):
            work.con.execute("SET memory_limit = '16MB'")
        con = work.reopen("700MB")
        assert con is work.con and index_bytes(con) == 0
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "667.5 MiB"
        assert con.execute("SELECT count(*), sum(v) FROM facts").fetchone() == (1010000, 499999500000.0 - 10000)
        add_run(con)
    assert count_runs(path) == 1


def test_a_cache_that_cannot_be_dropped_leaves_the_night_running_at_its_limit_and_says_so(keyed, tmp_path, caplog):
    """release_cache where DuckDB holds more than `keep` that no eviction reaches (an index an insert read into
    memory): the night goes on — the limit is the night's, the rows are there — and the log says the cache was
    not dropped."""
    from flows.support.warehouse import release_cache

    with building(published_copy(keyed, tmp_path)) as work:
        con = work.con
        night = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        con.execute("INSERT INTO facts SELECT md5(range::VARCHAR), -1 FROM range(1000000, 1010000)")
        with caplog.at_level("WARNING", logger="flows.support.warehouse"):
            release_cache(con, "16MB")
        assert "was not dropped to 16MB" in caplog.text
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == night
        assert con.execute("SELECT count(*) FROM facts").fetchone()[0] == 1010000


def test_the_publish_renames_at_once_and_the_replaced_version_is_freed_after_it_in_a_thread(tmp_path, monkeypatch):
    """On a file system mounted with `discard`, freeing a 2.9 GB version waited 1.2-1.5 s inside the rename; now
    the new version is published first and the old one's blocks are freed by the thread release_previous starts.
    A reader of the old version keeps it until it lets go."""
    import os
    import threading

    from flows.support import warehouse as wh

    published, work = tmp_path / "w.duckdb", tmp_path / "w.duckdb.building"
    published.write_bytes(b"yesterday")
    work.write_bytes(b"tonight")
    reader = os.open(published, os.O_RDONLY)
    go = threading.Event()
    remove = wh._remove_retired
    monkeypatch.setattr(wh, "_remove_retired", lambda retired: (go.wait(30), remove(retired)))
    try:
        thread = wh.release_previous(published, work)
        # published, and the replaced version is still linked (not freed by the rename) until the thread runs
        assert published.read_bytes() == b"tonight" and not work.exists()
        assert os.fstat(reader).st_nlink == 1
        assert [p.name.split("-")[0] for p in wh.building_leftovers(published) if p.exists()] == ["w.duckdb.retired"]
        go.set()
        thread.join(30)
        assert os.fstat(reader).st_nlink == 0          # freed once the reader lets go …
        assert os.pread(reader, 9, 0) == b"yesterday"  # … which it has not yet
        assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]
    finally:
        os.close(reader)


def test_a_replaced_version_a_killed_night_left_is_removed_by_the_next_night(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    left = tmp_path / "w.duckdb.retired-4242-1"
    shutil.copyfile(path, left)           # the night was killed after its publish, before the release
    with building(path) as work:
        add_run(work.con)
    assert not left.exists() and count_runs(path) == 2


def test_a_first_night_replaces_nothing_and_starts_no_release(tmp_path):
    from flows.support import warehouse as wh

    work = tmp_path / "w.duckdb.building"
    work.write_bytes(b"first")
    assert wh.release_previous(tmp_path / "w.duckdb", work) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]


def test_a_copy_that_cannot_be_written_to_disk_fails_the_night_naming_it_and_publishes_nothing(tmp_path,
                                                                                                  monkeypatch):
    """The copy is flushed in a thread beside the night's stages (flush_in_background); what that fsync raises is
    the night's failure, before anything is published."""
    import errno

    from flows.support import warehouse as wh

    monkeypatch.setattr(wh, "SPARE_COPY", False)    # the night copies the warehouse itself
    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)

    def failing(handle: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(wh.os, "fsync", failing)
    with pytest.raises(wh.WarehouseIOError) as failed, building(path) as work:
        add_run(work.con)
    assert "flushing the copy" in str(failed.value) and "w.duckdb.building" in str(failed.value)
    assert "Input/output error" in str(failed.value)
    monkeypatch.undo()
    assert count_runs(path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]


def _logged_updates(path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse file whose last changes are still in its write-ahead log (updates, as the indicator stage's)."""
    con = duckdb.connect(str(path))
    con.execute("SET checkpoint_threshold = '10GB'")
    con.execute("CREATE TABLE t AS SELECT range AS i, 0.0::DOUBLE AS x FROM range(300000)")
    con.execute("CREATE TABLE outbox (i INTEGER)")
    con.execute("CHECKPOINT")
    con.execute("UPDATE t SET x = i * 0.5 WHERE i % 3 = 0")
    return con


def test_the_checkpoint_beside_the_report_writes_the_log_while_the_report_reads_and_inserts(tmp_path):
    from flows.support.warehouse import checkpoint_beside

    path = tmp_path / "w.duckdb"
    con = _logged_updates(path)
    wal = Path(f"{path}.wal")
    before = wal.stat().st_size
    assert before > 100_000
    report = con.cursor()
    report.execute("BEGIN")
    with checkpoint_beside(con):
        total = report.execute("SELECT sum(x) FROM t").fetchone()[0]
        report.execute("INSERT INTO outbox VALUES (1)")
        report.execute("COMMIT")
    assert total == sum(i * 0.5 for i in range(0, 300000, 3))
    # the updates are in the file now: what is left in the log is the report's insert at most
    assert not wal.exists() or wal.stat().st_size < before / 10
    con.close()
    with duckdb.connect(str(path), read_only=True) as again:
        assert again.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
        assert again.execute("SELECT sum(x) FROM t").fetchone()[0] == total


def test_a_checkpoint_refused_beside_the_report_is_logged_and_left_to_the_publish(tmp_path, caplog):
    from flows.support.warehouse import checkpoint_beside

    path = tmp_path / "w.duckdb"
    con = _logged_updates(path)
    other = con.cursor()
    other.execute("BEGIN")
    other.execute("UPDATE t SET x = -1 WHERE i = 1")     # DuckDB checkpoints beside no open update
    with caplog.at_level("WARNING"), checkpoint_beside(con):
        pass
    assert "checkpoint beside the report was not made" in caplog.text
    other.execute("COMMIT")
    con.execute("CHECKPOINT")
    con.close()
    with duckdb.connect(str(path), read_only=True) as again:
        assert again.execute("SELECT x FROM t WHERE i = 1").fetchone()[0] == -1
        assert again.execute("SELECT x FROM t WHERE i = 3").fetchone()[0] == 1.5


def test_the_building_connection_draws_no_progress_bar_on_the_nights_output(tmp_path):
    """DuckDB draws a progress bar on standard output for a statement that commits on its own and runs past 2 s; a
    night's output is its logs and the result a caller reads (bench_ingest parses its last line), so the night's
    connection has it off, also after reopen(). Checked in a process of its own: DuckDB's default depends on what
    sys.stdout is (on in a night's process, off under pytest's capture)."""
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from flows.support.warehouse import Building\n"
            "work = Building(Path(sys.argv[1])); setting = \"SELECT current_setting('enable_progress_bar')\"\n"
            "print(work.con.execute(setting).fetchone()[0], work.reopen().execute(setting).fetchone()[0])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "w.duckdb")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture
def spare_for_any_size(monkeypatch) -> None:
    """These warehouses are a few MB: below SPARE_MIN_MB no spare is made."""
    from flows.support import warehouse as wh

    monkeypatch.setattr(wh, "SPARE_MIN_MB", 0)


def spares(path: Path) -> list[Path]:
    """The spare copies beside a published warehouse, once the thread making the last one is done."""
    from flows.support import warehouse as wh

    if (making := wh._SPARES.pop(path, None)) is not None:
        making.join(60)
    return sorted(path.parent.glob(f"{path.name}{wh.SPARE}*"))


def test_a_published_night_leaves_a_spare_copy_of_it_that_the_next_night_starts_from_instead_of_copying(
        tmp_path, monkeypatch, spare_for_any_size):
    from flows.support import warehouse as wh

    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    [spare] = spares(path)
    assert spare == wh.spare_for(path, path.stat()) and spare.read_bytes() == path.read_bytes()

    def copied(*args: object) -> None:
        raise AssertionError("the night copied the warehouse although its spare copy was there")

    monkeypatch.setattr(wh.shutil, "copyfile", copied)
    with building(path) as work:
        add_run(work.con)
    assert count_runs(path) == 2 and not spare.exists()
    [tomorrow] = spares(path)       # and the next night's, of tonight's version
    assert tomorrow == wh.spare_for(path, path.stat()) and tomorrow.read_bytes() == path.read_bytes()


def test_a_spare_copy_of_a_version_since_replaced_or_written_is_removed_and_never_started_from(
        tmp_path, spare_for_any_size):
    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    [stale] = spares(path)
    other = tmp_path / "other" / "w.duckdb"        # a version of three runs put in place (a restored backup)
    for _ in range(3):
        with building(other) as work:
            add_run(work.con)
    spares(other)
    shutil.copyfile(other, path)                    # written over in place: the same file, another content
    with building(path) as work:
        add_run(work.con)
    assert count_runs(path) == 4 and not stale.exists()
    [stale] = spares(path)
    (tmp_path / "w.duckdb.restored").write_bytes(other.read_bytes())
    (tmp_path / "w.duckdb.restored").replace(path)  # replaced by another file
    with building(path) as work:
        add_run(work.con)
    assert count_runs(path) == 4 and not stale.exists()
    assert len(spares(path)) == 1


def test_a_spare_copy_that_fails_leaves_nothing_and_the_next_night_copies_the_warehouse_itself(
        tmp_path, monkeypatch, caplog):
    import errno

    from flows.support import warehouse as wh

    path = tmp_path / "w.duckdb"
    monkeypatch.setattr(wh, "SPARE_COPY", False)    # the spare is made below, by hand, failing
    with building(path) as work:
        add_run(work.con)
    monkeypatch.undo()

    def failing(handle: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wh.os, "fsync", failing)
    wh._copy_spare(path)
    assert "no spare copy of" in caplog.text and "No space left on device" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]
    monkeypatch.undo()
    with building(path) as work:
        add_run(work.con)
    assert count_runs(path) == 2


def test_with_spare_copies_turned_off_a_night_leaves_only_the_warehouse(tmp_path, monkeypatch, spare_for_any_size):
    from flows.support import warehouse as wh

    monkeypatch.setattr(wh, "SPARE_COPY", False)
    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    assert spares(path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]


def test_a_warehouse_below_the_spare_size_gets_no_spare_copy(tmp_path, monkeypatch):
    from flows.support import warehouse as wh

    path = tmp_path / "w.duckdb"
    with building(path) as work:
        add_run(work.con)
    assert path.stat().st_size < wh.SPARE_MIN_MB * 2**20 and spares(path) == []
    monkeypatch.setattr(wh, "SPARE_MIN_MB", path.stat().st_size / 2**20)     # exactly its size: one is made
    with building(path) as work:
        add_run(work.con)
    assert len(spares(path)) == 1
