"""The DuckDB warehouse: build the next version beside the published file and publish it atomically.

DuckDB allows one writer or many readers per file, never both. The nightly run therefore never writes the
published file: it copies it to `<name>.building`, writes there, and os.replace()s it over the published
path. Analysts holding a read-only connection keep reading the old version and never see half a night.

The replaced version's disk space is released after the publish, in a thread of its own (release_previous): on a
file system mounted with `discard` (this machine's ext4) freeing a 2.9 GB file waits 1.2-1.5 s for the device's
discards, with 0.12-0.16 s of CPU, and the new version is readable as soon as the rename is done.
"""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from flows.support.contract import CANONICAL_UNIT, KINDS
from flows.support.file_hashes import identity
from flows.support.settings import (
    DUCKDB_MEMORY_LIMIT,
    DUCKDB_TASK_MEMORY_LIMIT,
    SPARE_COPY,
    SPARE_MIN_MB,
    SQL_DIR,
)

MIGRATIONS_DIR = SQL_DIR / "migrations"
_LOG = logging.getLogger(__name__)


# Files are found by name anywhere under sql/: a file's name is its stem without the run-order number, so
# sql/s07_indicators/11_indicators_base.sql is "indicators_base" (names are unique; sql_files checks it).
_ORDER_PREFIX = re.compile(r"^\d+_")
# A {placeholder} of a checked identifier (a table or column name that must vary); struct literals ({'a': …})
# never match.
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def sql_name(path: Path) -> str:
    """The name a SQL file is run by: its stem without the leading run-order number."""
    return _ORDER_PREFIX.sub("", path.stem)


@cache
def sql_files() -> dict[str, Path]:
    """Every SQL file under sql/ by name (migrations apart: apply_migrations runs those)."""
    out: dict[str, Path] = {}
    for path in sorted(SQL_DIR.rglob("*.sql")):
        if path.parent == MIGRATIONS_DIR:
            continue
        name = sql_name(path)
        if name in out:
            raise ValueError(f"two SQL files are both named {name!r}: {out[name]} and {path}")
        out[name] = path
    return out


def sql_path(name: str) -> Path:
    """The file of a SQL name ("indicators_base" or "indicators_base.sql")."""
    try:
        return sql_files()[name.removesuffix(".sql")]
    except KeyError:
        raise FileNotFoundError(f"no SQL file named {name!r} under {SQL_DIR}") from None


@cache
def sql_text(name: str) -> str:
    """The text of the SQL file `name`."""
    return sql_path(name).read_text(encoding="utf-8")


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


def identifier(name: str) -> str:
    """name, checked to be a plain (optionally schema-qualified) SQL identifier, for SQL built from config."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


Identifiers = dict[str, str | tuple[str, ...] | list[str]]
_Frozen = tuple[tuple[str, str | tuple[str, ...]], ...]


def fill_identifiers(text: str, identifiers: Identifiers | None, where: str = "SQL") -> str:
    """text with each {placeholder} replaced by its checked identifier (a list: comma-separated identifiers).

    The only text ever put into SQL: names, checked by identifier(); values are always bound parameters. A
    placeholder left unfilled is an error, not SQL that fails later with a parser message.
    """
    def fill(match: re.Match) -> str:
        key = match.group(1)
        if identifiers is None or key not in identifiers:
            raise KeyError(f"{where}: no identifier given for {{{key}}}")
        value = identifiers[key]
        return identifier(value) if isinstance(value, str) else ", ".join(identifier(v) for v in value)
    return _PLACEHOLDER.sub(fill, text)


@cache
def _statements(name: str, identifiers: _Frozen) -> tuple[tuple[str, frozenset[str]], ...]:
    """The statements of a file with their named parameters, parsed once per file and identifiers."""
    text = fill_identifiers(sql_text(name), dict(identifiers), name)
    return tuple((s.query.strip(), frozenset(s.named_parameters)) for s in duckdb.extract_statements(text))


def _frozen(identifiers: Identifiers | None) -> _Frozen:
    return tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in (identifiers or {}).items()))


def sql_statements(name: str, identifiers: Identifiers | None = None) -> list[str]:
    """The statements of the SQL file `name` (split by DuckDB's own parser, the one splitter)."""
    return [text for text, _ in _statements(name, _frozen(identifiers))]


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None,
            identifiers: Identifiers | None = None,
            timings: dict[str, float] | None = None) -> duckdb.DuckDBPyConnection:
    """Run every statement of the SQL file `name`, binding the named $parameters each statement uses.

    The one way SQL runs: values only as named parameters; where a table or column name must vary, the file
    writes {placeholder} and `identifiers` fills it with a checked identifier. Returns the connection, whose
    result is the last statement's (for a file that ends in a query). `timings` adds up the seconds of each
    statement under "name:n" (for the benchmarks).
    """
    given = params or {}
    for n, (statement, wanted) in enumerate(_statements(name, _frozen(identifiers)), start=1):
        missing = wanted - given.keys()
        if missing:
            raise KeyError(f"{name}: statement {n} needs parameters {sorted(missing)}")
        t = time.perf_counter()
        con.execute(statement, {k: given[k] for k in wanted} or None)
        if timings is not None:
            key = f"{name}:{n}"
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - t
    return con


def query_one(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> object:
    """Run the SQL file `name` and return the first column of its first row (e.g. an id from RETURNING)."""
    return run_sql(con, name, params).fetchone()[0]


def rows(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> list[dict]:
    """Run the SQL file `name` (ending in a query) and return the query's rows as dicts by column name."""
    cursor = run_sql(con, name, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, Path]]:
    """The migrations in sql/migrations/ by version (0001, 0002, …: a gap or a duplicate is an error)."""
    found = []
    for path in sorted(MIGRATIONS_DIR.iterdir()):
        match = _MIGRATION.match(path.name)
        if not match:
            raise ValueError(f"{path}: a migration is named NNNN_name.sql")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migration versions must run 1, 2, 3, … without gaps: {versions}")
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to this warehouse (0: none, or a warehouse from before migrations)."""
    found = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $schema AND table_name = $table"
    if not con.execute(found, {"schema": "meta", "table": "schema_migrations"}).fetchone()[0]:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM meta.schema_migrations").fetchone()[0]


def require_current_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a warehouse whose schema is not this release's (a reader cannot migrate a published file: the next
    night does), rather than read tables or columns that may not be there."""
    current, known = schema_version(con), len(migrations())
    if current != known:
        raise RuntimeError(f"the warehouse is at schema version {current} and this release needs {known}: "
                           + ("run a night (clusterwatch run) to migrate it" if current < known
                              else "upgrade clusterwatch"))


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration the warehouse has not had yet, in order, each in its own transaction and recorded
    in meta.schema_migrations, so each runs exactly once. Returns the names applied.

    A warehouse whose version is newer than this release's migrations is refused: older code would write
    tables whose layout it does not know.
    """
    run_sql(con, "schema_migrations")
    known = migrations()
    current = schema_version(con)
    if current > len(known):
        raise RuntimeError(f"the warehouse is at schema version {current}, newer than this release knows "
                           f"({len(known)}): upgrade clusterwatch before running it on this warehouse")
    applied = []
    for version, path in known[current:]:
        con.begin()
        try:
            for statement in duckdb.extract_statements(path.read_text(encoding="utf-8")):
                con.execute(statement.query)
            run_sql(con, "migration_record", {"version": version, "name": path.name})
            con.commit()
        except BaseException:
            con.rollback()
            raise
        applied.append(path.name)
    return applied


def apply_schema(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Bring the warehouse to this release's schema (every pending migration) and refresh the column comments
    that come from the input contract; run once when a night opens its building copy. Returns the migrations
    applied."""
    applied = apply_migrations(con)
    comment_from_contract(con)
    return applied


# Which source kind's columns each table holds (for column comments taken from the contract).
TABLE_KINDS = {
    "core.clusters": "clusters", "core.firms": "firms", "core.platforms": "platforms",
    "core.firm_monthly": "monthly", "core.tax": "tax", "core.procurement": "procurement",
    "core.digital_surveys": "digital", "history.clusters": "clusters", "history.firms": "firms",
    "history.platforms": "platforms", "history.digital_surveys": "digital",
    "history.procurement_superseded": "procurement", "history.reported_values": "monthly",
    "history.reported_rows": "monthly",
}
REPORTED = ("history.reported_values", "history.reported_rows")   # the contract's uscc/period read other names there
FILE_ID_COMMENT = "来源文件编号 / id of the file the value came from (meta.files)"


def contract_comments(columns: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """The comment each source column of a core or history table takes from the contract, {(table, column):
    text}, for the tables' `columns` ({table: its column names})."""
    wanted: dict[tuple[str, str], str] = {}
    for table, kind in TABLE_KINDS.items():
        present = columns.get(table, set())
        for column in KINDS[kind].columns:
            if column.name in present:
                unit = CANONICAL_UNIT.get(column.dtype)
                wanted[table, column.name] = f"{column.zh}{f'（{unit}）' if unit else ''} / {column.en}"
        if "file_id" in present:
            wanted[table, "file_id"] = FILE_ID_COMMENT
        if table in REPORTED and present:
            wanted[table, "uscc"] = "统一社会信用代码 / unified social credit code"
            wanted[table, "period"] = "月份 / month"
    return wanted


def comment_from_contract(con: duckdb.DuckDBPyConnection) -> int:
    """COMMENT ON the source columns of core and history tables from their contract names and units; returns how
    many comments it changed.

    Only a comment that differs from the contract is written, all in one transaction: every night opens its
    building copy with this, and one COMMENT a statement was some 120 commits (each a WAL write and an fsync,
    ≈0.4 s of a night) to write what the warehouse already said.
    """
    stored = {(r["table_name"], r["column_name"]): r["comment"] for r in rows(con, "source_column_comments")}
    columns: dict[str, set[str]] = {}
    for table, column in stored:
        columns.setdefault(table, set()).add(column)
    changed = {key: text for key, text in contract_comments(columns).items() if stored.get(key) != text}
    if not changed:
        return 0
    con.begin()
    try:
        for (table, column), text in changed.items():
            quoted = text.replace("'", "''")  # a string literal: COMMENT ON takes no parameter
            con.execute(f"COMMENT ON COLUMN {identifier(table)}.{identifier(column)} IS '{quoted}'")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return len(changed)


_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def release_cache(con: duckdb.DuckDBPyConnection, keep: str = DUCKDB_TASK_MEMORY_LIMIT) -> None:
    """Let DuckDB's buffer pool drop what it caches beyond `keep` now (blocks it re-reads from disk or the OS
    page cache when needed) and grow back up to the night's DUCKDB_MEMORY_LIMIT as queries need it: for Python
    work that is about to take much memory (settings.DUCKDB_TASK_MEMORY_LIMIT)."""
    for size in (keep, DUCKDB_MEMORY_LIMIT):
        if not _MEMORY_SIZE.match(size):
            raise ValueError(f"not a memory size (e.g. 512MB, 3GB): {size!r}")
    # A SET takes no parameter; the values are checked above. Lowering the limit evicts down to it at once —
    # unless DuckDB holds more than `keep` it cannot evict (the primary-key indexes an insert read into memory
    # stay until the connection closes, Building.reopen): then what could be evicted is not, the limit stays,
    # and the night goes on with the memory it had, said in the log.
    try:
        con.execute(f"SET memory_limit = '{keep}'")
    except duckdb.OutOfMemoryException as exc:
        _LOG.warning("DuckDB's cache was not dropped to %s before a file's task: %s", keep, str(exc).splitlines()[0])
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")


# DuckDB's row group (its storage default; tests/test_ingest.py checks it against DuckDB): the rows its scans hand to
# one thread at a time, and what the staged relations are cut into (flows.support.staging).
ROW_GROUP_ROWS = 122_880


@contextmanager
def one_thread_below(con: duckdb.DuckDBPyConnection, rows: int) -> Iterator[None]:
    """DuckDB on one thread in the block when it works on fewer than ROW_GROUP_ROWS rows (a small file's load), on
    the threads it had again afterwards.

    Why: a small file's load is ≈ 15 statements over a few thousand rows, less than a row group for a second thread
    to take; the second thread only added its scheduling and wake-ups (the windows of derive_rework.sql most): the
    sample night's 91 loads took 10.5 CPU-s on DuckDB's 2 threads and 7.3 on one, and less wall too. The nation's
    files (≥ 480,000 rows each) keep every thread.
    """
    if rows >= ROW_GROUP_ROWS:
        yield
        return
    with one_thread(con):
        yield


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread in the block, on the threads it had again afterwards (one_thread_below; the alert
    stage, flows/stages/s10_alerts.py evaluate_alerts, says why there)."""
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {threads}")


def connect_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, as an analyst would open it; never blocks the nightly run. The warehouse must be
    at this release's schema (require_current_schema), so what reads through it needs no existence checks."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        require_current_schema(con)
    except BaseException:
        con.close()
        raise
    return con


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
    copy, that copy's write-ahead log and DuckDB's spill folder, and a replaced version whose release it did not
    live to finish (release_previous)."""
    work = published.with_name(published.name + ".building")
    return [work, work.with_name(work.name + ".wal"), work.with_name(work.name + ".tmp"),
            *sorted(published.parent.glob(f"{glob.escape(published.name)}{RETIRED}*")),
            *sorted(published.parent.glob(f"{glob.escape(published.name)}{SPARE}tmp-*"))]


# The name a replaced version keeps, beside the warehouse, until release_previous has removed it.
RETIRED = ".retired-"


def release_previous(published: Path, work: Path) -> threading.Thread | None:
    """Publish `work` as `published` (os.replace) and remove the version it replaced in a thread of its own;
    returns that thread (None on a first night, which replaces nothing).

    The replaced version is linked under a name of its own first (RETIRED), so the rename does not free its
    blocks; the thread then unlinks that name. The thread is not a daemon: the process waits for it before it
    exits. A reader holding the old version keeps reading it either way (it holds the inode).
    """
    if not published.exists():
        os.replace(work, published)
        return None
    retired = published.with_name(f"{published.name}{RETIRED}{os.getpid()}-{time.time_ns()}")
    try:
        os.link(published, retired)
    except OSError as exc:      # a file system without hard links: the rename frees the old version itself
        _LOG.warning("%s cannot be linked as %s (%s): the replaced version is freed by the publish itself",
                     published, retired.name, exc.strerror or exc)
        os.replace(work, published)
        return None
    os.replace(work, published)
    thread = threading.Thread(target=_remove_retired, args=(retired,), name=f"release {retired.name}")
    thread.start()
    return thread


def _remove_retired(retired: Path) -> None:
    """Unlink a replaced version (release_previous's thread)."""
    try:
        retired.unlink()
    except FileNotFoundError:
        pass        # a night that started meanwhile removed it as a leftover (remove_leftovers)
    except OSError as exc:
        _LOG.warning("the replaced version %s was not removed (%s); the next night removes it", retired, exc)


# The next night's building copy, made as soon as a night has published (make_spare): the copy of the 2.8 GB nation
# warehouse was 0.8-5.5 s of a night 2's 40-48 s, CPU-bound in the kernel (0.5-3.3 GB/s, the night's worker
# importing beside it). A night that finds it takes it by a rename instead (take_spare). Named after the identity
# of the version it copies (inode, size, modification time in ns): a published file replaced or written since
# has another identity, and its spare is removed unused. Costs the disk of one more warehouse; a warehouse under
# SPARE_MIN_MB gets none (settings).
SPARE = ".spare-"
_SPARES: dict[Path, threading.Thread] = {}


def spare_for(published: Path, stat: os.stat_result) -> Path:
    """The name of the spare copy of the version of `published` that `stat` describes."""
    return published.with_name(f"{published.name}{SPARE}{stat.st_ino}-{stat.st_size}-{stat.st_mtime_ns}")


def make_spare(published: Path) -> threading.Thread:
    """Copy the version just published to its spare (spare_for) in a thread of its own, and return the thread.

    Not a daemon: the process waits for it before it exits, and the next night of this process joins it. Copied
    from one open file (a version replaced meanwhile is still the one copied, and named after), written under a
    temporary name, flushed to disk and then renamed: a spare that exists is complete and durable. A failed or
    stale copy is removed and logged; the next night then copies as before."""
    thread = threading.Thread(target=_copy_spare, args=(published,), name=f"spare {published.name}")
    thread.start()
    return thread


def wait_for_spares() -> float:
    """Wait for the spare copies this process is still making (make_spare); returns the seconds waited."""
    started = time.perf_counter()
    while _SPARES:
        _SPARES.popitem()[1].join()
    return time.perf_counter() - started


def _copy_spare(published: Path) -> None:
    tmp = published.with_name(f"{published.name}{SPARE}tmp-{os.getpid()}-{time.time_ns()}")
    try:
        with open(published, "rb") as source, open(tmp, "wb") as target:
            before = os.fstat(source.fileno())
            done = 0
            while done < before.st_size:        # in the kernel, as shutil.copyfile does, but from this open file
                sent = os.sendfile(target.fileno(), source.fileno(), done, before.st_size - done)
                if not sent:
                    raise OSError(f"{published} ended at {done} of {before.st_size} bytes while it was copied")
                done += sent
            os.fsync(target.fileno())
            if identity(os.fstat(source.fileno())) != identity(before):
                raise OSError(f"{published} was written while it was copied")
        os.replace(tmp, spare_for(published, before))
    except OSError as exc:
        _LOG.warning("no spare copy of %s for the next night (%s): it copies the warehouse itself", published, exc)
        tmp.unlink(missing_ok=True)


def take_spare(published: Path, work: Path) -> bool:
    """Rename the spare copy of the published version to `work`, if there is one; remove every other spare (a
    version replaced since). Only called under the warehouse lock, before the building copy is opened."""
    mine = spare_for(published, published.stat())
    for spare in published.parent.glob(f"{glob.escape(published.name)}{SPARE}*"):
        if spare != mine and not spare.name.startswith(f"{published.name}{SPARE}tmp-"):
            spare.unlink(missing_ok=True)
    try:
        os.replace(mine, work)
    except FileNotFoundError:
        return False
    return True


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


class Building:
    """The night's read-write connection to the building copy (`con`), which reopen() replaces.

    DuckDB's progress bar is off: a connection's own is on by default and draws on the night's standard output for
    every statement that commits on its own and runs past 2 s (the indicator stage's, since they commit one by one),
    into the logs of a scheduled night and into the output a caller reads the night's result from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con = self._connect(DUCKDB_MEMORY_LIMIT)

    def _connect(self, memory_limit: str) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.path), config={"memory_limit": memory_limit})
        con.execute("SET enable_progress_bar = false")     # a connection's own setting (its cursors start without)
        return con

    def reopen(self, memory_limit: str = DUCKDB_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
        """Write what is committed to the file (CHECKPOINT), close the connection and open the copy again with
        `memory_limit`; returns the new connection (also `con`).

        What a load leaves in DuckDB's memory stays there while its connection is open: the first insert into a
        table with a primary key reads the table's whole index into memory (DuckDB 1.5: ≈200 MB for 3 M keys,
        however few rows are inserted), and no eviction gives it back — lowering the limit below it fails — until
        the connection is closed; the load's temp tables too. The stages after the load (the indicators need the
        pool for their own queries) therefore start on a fresh connection; an index is read again only by
        a stage that inserts into its table.
        """
        with _naming("writing the checkpoint of", self.path):
            self.con.execute("CHECKPOINT")
        self.con.close()
        with _naming("opening the building copy", self.path):
            self.con = self._connect(memory_limit)
        return self.con

    def close(self) -> None:
        self.con.close()


def flush_in_background(path: Path) -> Future[None]:
    """fsync `path` in a thread of its own; the future raises what the fsync raised.

    Why: the copy of the published warehouse leaves its 2.9 GB (nation) in the page cache, and the kernel writes
    it out slowly; the first CHECKPOINT after it (Building.reopen, after the load) fsyncs the file and waited
    for the rest: 1.0-1.2 s 5-9 s after the copy, 0.2 s once the copy was flushed. Flushed beside the landing and
    the ingest, which need the CPU and not the disk, the write is done by then.
    """
    def flush() -> None:
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flush-copy")
    try:
        return pool.submit(flush)
    finally:
        pool.shutdown(wait=False)


@contextmanager
def checkpoint_beside(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """CHECKPOINT the building copy on a cursor of its own, in a thread, while the block runs.

    Why: the publish's final CHECKPOINT writes what the indicator and alert stages left in the write-ahead log
    (≈ 60 MB at nation: 1.7 s of wall, 2.6 CPU-s) while nothing else runs. The report stage's process lays out
    the report in one thread and leaves part of a core to its niced page workers; the checkpoint's DuckDB threads
    run there instead, and the final checkpoint then writes only what the report and the delivery added.
    DuckDB checkpoints beside a transaction that reads and inserts (the report's); one it refuses (another
    transaction has updated rows or changed the catalog) is logged, and the final checkpoint writes it all, as
    before. An error of the disk is logged too and then met again, and raised, by the final checkpoint.
    """
    cursor = con.cursor()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
    try:
        done = pool.submit(cursor.execute, "CHECKPOINT")
        yield
    finally:
        try:
            done.result()
        except duckdb.Error as exc:
            _LOG.warning("the checkpoint beside the report was not made (%s); the publish's checkpoint writes it",
                         str(exc).splitlines()[0])
        finally:
            pool.shutdown(wait=True)
            cursor.close()


@contextmanager
def building(published: Path) -> Iterator[Building]:
    """Yield the next version's read-write connection (in a Building); publish it only if the block succeeds.

    Whatever happens, the building copy and its WAL are gone afterwards (published, or removed), and
    the leftovers of an earlier night that died are removed before the copy is made.
    """
    with _naming("creating the warehouse folder", published.parent):
        published.parent.mkdir(parents=True, exist_ok=True)
    work = published.with_name(published.name + ".building")
    if (making := _SPARES.pop(published, None)) is not None:
        making.join()       # this process's last night is still copying what it published
    with exclusive(published):
        with _naming("removing the leftovers of an interrupted night beside", published):
            remove_leftovers(published)
        copy = None
        flushing: Future[None] | None = None
        try:
            if published.exists() and not take_spare(published, work):
                with _naming(f"copying {published} to", work):
                    shutil.copyfile(published, work)
                flushing = flush_in_background(work)
            with _naming("opening the building copy", work):
                copy = Building(work)
            applied = apply_schema(copy.con)
            if applied:
                _LOG.warning("migrated %s to schema version %d: %s", published, schema_version(copy.con),
                             ", ".join(applied))
            yield copy
            with _naming("flushing the copy", work):
                if flushing is not None:
                    flushing.result()
            with _naming("writing the checkpoint of", work):
                copy.con.execute("CHECKPOINT")
            copy.close()
            with _naming(f"publishing {work} as", published):
                release_previous(published, work)
            if SPARE_COPY and published.stat().st_size >= SPARE_MIN_MB * 2**20:
                _SPARES[published] = make_spare(published)
        except BaseException:
            if copy is not None:
                copy.close()
            remove_leftovers(published)
            raise
