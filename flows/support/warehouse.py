"""The DuckDB warehouse: build the next version beside the published file and publish it atomically.

DuckDB allows one writer or many readers per file, never both. The nightly run therefore never writes the
published file: it copies it to `<name>.building`, writes there, and os.replace()s it over the published
path. Analysts holding a read-only connection keep reading the old version and never see half a night.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from flows.support.contract import CANONICAL_UNIT, KINDS
from flows.support.settings import DUCKDB_MEMORY_LIMIT, SQL_DIR


@cache
def sql_text(name: str) -> str:
    """The text of sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def sql_statements(name: str) -> list[str]:
    """The statements of sql/<name>.sql, split on semicolons that end a line."""
    code = "\n".join(line for line in sql_text(name).splitlines() if not line.lstrip().startswith("--"))
    return [chunk.strip() for chunk in re.split(r";[ \t]*$", code, flags=re.MULTILINE) if chunk.strip()]


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


def identifier(name: str) -> str:
    """name, checked to be a plain (optionally schema-qualified) SQL identifier, for SQL built from config."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None,
            tables: dict[str, str] | None = None) -> None:
    """Run every statement of sql/<name>.sql; named $parameters are bound where a statement uses them.

    A table name cannot be a bound parameter: `tables` fills {placeholders} such as {table} with plain
    (checked) table names, for SQL shared by several tables.
    """
    for statement in sql_statements(name):
        for key, table in (tables or {}).items():
            statement = statement.replace(f"{{{key}}}", identifier(table))
        used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
        con.execute(statement, used or None)


def query_one(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> object:
    """Run sql/<name>.sql and return the first column of its first row (e.g. an id from RETURNING)."""
    run_sql(con, name, params)
    return con.fetchone()[0]


# Renames in the analyst interface (DESIGN §5a), applied to a warehouse that still has the old column:
# (schema, table, old column, sql/ file that renames it). Each is noted in the README's "Migrations".
MIGRATIONS = (("mart", "indicator_dictionary", "window", "migrate_time_window"),)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Bring an existing warehouse's stable names up to date; idempotent. Returns the migrations applied."""
    applied = []
    for schema, table, column, name in MIGRATIONS:
        if con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                       "AND column_name = ?", [schema, table, column]).fetchone()[0]:
            run_sql(con, name)
            applied.append(name)
    return applied


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or update every table the pipeline writes, with their comments (after any migration)."""
    migrate(con)
    run_sql(con, "schema")
    run_sql(con, "validation")
    run_sql(con, "comments")
    comment_from_contract(con)


# Which source kind's columns each table holds (for column comments taken from the contract).
TABLE_KINDS = {
    "core.clusters": "clusters", "core.firms": "firms", "core.platforms": "platforms",
    "core.firm_monthly": "monthly", "core.tax": "tax", "core.procurement": "procurement",
    "core.digital_surveys": "digital", "history.clusters": "clusters", "history.firms": "firms",
    "history.platforms": "platforms", "history.digital_surveys": "digital",
    "history.procurement_superseded": "procurement", "history.reported_values": "monthly",
}
FILE_ID_COMMENT = "来源文件编号 / id of the file the value came from (meta.files)"


def comment_from_contract(con: duckdb.DuckDBPyConnection) -> None:
    """COMMENT ON the source columns of core and history tables from their contract names and units."""
    for table, kind in TABLE_KINDS.items():
        schema, name = table.split(".")
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [schema, name]).fetchall()}
        for column in KINDS[kind].columns:
            if column.name in columns:
                unit = CANONICAL_UNIT.get(column.dtype)
                text = f"{column.zh}{f'（{unit}）' if unit else ''} / {column.en}"
                quoted = text.replace("'", "''")  # a string literal: COMMENT ON takes no parameter
                con.execute(f"COMMENT ON COLUMN {table}.{column.name} IS '{quoted}'")
        if "file_id" in columns:
            con.execute(f"COMMENT ON COLUMN {table}.file_id IS '{FILE_ID_COMMENT}'")
    for column, text in (("uscc", "统一社会信用代码 / unified social credit code"), ("period", "月份 / month")):
        con.execute(f"COMMENT ON COLUMN history.reported_values.{column} IS '{text}'")


def connect_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, as an analyst would open it; never blocks the nightly run."""
    return duckdb.connect(str(path), read_only=True)


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """One night per warehouse. The lock is an flock, released by the kernel when its holder dies (even by
    kill -9), so the lock file a killed night leaves behind never blocks the next one."""
    lock = path.with_name(path.name + ".lock")
    with open(lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(f"another nightly run is building {path} (lock {lock})") from exc
        yield


def building_leftovers(published: Path) -> list[Path]:
    """What a night that died (kill -9, power cut, full disk) may leave beside the warehouse: its building
    copy, that copy's write-ahead log and DuckDB's spill folder."""
    work = published.with_name(published.name + ".building")
    return [work, work.with_name(work.name + ".wal"), work.with_name(work.name + ".tmp")]


def remove_leftovers(published: Path) -> list[Path]:
    """Delete a dead night's leftovers before a new building copy is opened; returns what was removed.

    A stale `.building.wal` must never meet a fresh copy: DuckDB would replay the dead writer's changes into
    it, or refuse to open it. Only called under the warehouse lock, so no live night owns these files.
    """
    removed = []
    for path in building_leftovers(published):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


class WarehouseIOError(OSError):
    """A file operation on the warehouse failed; the message names the operation and the path."""


@contextmanager
def _naming(action: str, path: Path) -> Iterator[None]:
    """Re-raise an OSError with the path and the action (a full disk otherwise says only 'No space left')."""
    try:
        yield
    except WarehouseIOError:
        raise
    except OSError as exc:
        raise WarehouseIOError(f"{action} {path}: {exc.strerror or exc}") from exc
    except duckdb.IOException as exc:
        raise WarehouseIOError(f"{action} {path}: {exc}") from exc


@contextmanager
def building(published: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection to the next version; publish it only if the block succeeds.

    Whatever happens, the building copy and its WAL are gone afterwards (published, or removed), and
    the leftovers of an earlier night that died are removed before the copy is made.
    """
    with _naming("creating the warehouse folder", published.parent):
        published.parent.mkdir(parents=True, exist_ok=True)
    work = published.with_name(published.name + ".building")
    with exclusive(published):
        with _naming("removing the leftovers of an interrupted night beside", published):
            remove_leftovers(published)
        con = None
        try:
            if published.exists():
                with _naming(f"copying {published} to", work):
                    shutil.copyfile(published, work)
            with _naming("opening the building copy", work):
                con = duckdb.connect(str(work), config={"memory_limit": DUCKDB_MEMORY_LIMIT})
            apply_schema(con)
            yield con
            with _naming("writing the checkpoint of", work):
                con.execute("CHECKPOINT")
            con.close()
            with _naming(f"publishing {work} as", published):
                os.replace(work, published)
        except BaseException:
            if con is not None:
                con.close()
            remove_leftovers(published)
            raise
