"""Publishing: readers never block the nightly build and never see half a night."""

from __future__ import annotations

import duckdb
import pytest

from flows.support.warehouse import building, connect_readonly


def count_runs(path) -> int:
    with connect_readonly(path) as con:
        return con.execute("SELECT count(*) FROM meta.runs").fetchone()[0]


def add_run(con) -> None:
    con.execute("INSERT INTO meta.runs (run_id, status) VALUES (nextval('meta.run_seq'), 'test')")


def test_an_open_reader_neither_blocks_the_build_nor_sees_it_until_it_reconnects(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path) as con:
        add_run(con)
    reader = connect_readonly(path)
    with building(path) as con:
        add_run(con)
        assert count_runs(path) == 1  # mid-build, the published file still shows the old night
    assert reader.execute("SELECT count(*) FROM meta.runs").fetchone()[0] == 1
    reader.close()
    assert count_runs(path) == 2


def test_a_failed_build_leaves_the_published_warehouse_untouched(tmp_path):
    path = tmp_path / "w.duckdb"
    with building(path) as con:
        add_run(con)
    with pytest.raises(RuntimeError), building(path) as con:
        add_run(con)
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
