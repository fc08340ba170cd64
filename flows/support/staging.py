"""The staging folder and the night's reference snapshot: what lets one file's ingest run on any machine.

A per-file ingest task (flows.stages.ingest) reads two things: its landed file, and a reference snapshot —
the little of the warehouse that validation reads (registry keys, old identifiers, each firm's recent
history of the measures checked for unit slips), written once per wave of the night as Parquet. It writes
its outputs as Arrow IPC files (STAGED_FORMAT) into one folder per file under `<landing>/../staging/run-<id>/`,
and only the process that holds the warehouse applies them (flows.stages.s06_load.apply_load). Both folders must
be on storage every worker sees (an NFS path or a shared volume) when the night runs on a Dask cluster.

Every folder is written under a temporary name and renamed into place: a task killed half-way leaves a
`*.tmp-*` folder that nothing reads, and a folder that exists is complete.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from flows.support.warehouse import ROW_GROUP_ROWS, identifier, run_sql

# What a task stages for the process that holds the warehouse (the load's relations, the parsed frames `recheck`
# reads, validation results, GX rows, firms) is written once and read once, in the same night, on the same
# volume, then deleted: Arrow IPC files (Feather v2), uncompressed, read back memory-mapped. An IPC file is the
# frame's Arrow buffers as they are in memory, and reading it maps them; Parquet cost polars' dictionary pages and
# LZ4 to write and DuckDB's decoding to read. Nation night 1's ingest on 2 local workers (bench/bench_scaleout.py,
# 5 alternating pairs, load 1–12): CPU of the tree 183.3–193.1 → 166.4–182.5 s, mean 187.7 → 175.7 (the process
# that holds the warehouse 106.8 → 101.1, the workers 80.9 → 74.6). The price is disk: no dictionary pages, so a
# procurement file's relation is 522 MB instead of 147. A file's folder goes once it is loaded
# (flows.stages.ingest.discard): that night's staging folder peaks at ≈ 1.4 GB (≈ 8.9 GB when kept to the end).
STAGED_FORMAT = "arrow"
_IPC_COMPRESSION = "uncompressed"
_LOCAL = threading.local()   # one in-memory DuckDB per thread and snapshot: a task opens no new database


def staged_path(folder: Path, name: str) -> Path:
    """The path of a staged frame in a file's staging folder."""
    return folder / f"{name}.{STAGED_FORMAT}"


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    """Stage a frame (parsed frames, results, GX rows, firms) for the process that reads it back (read_frame)."""
    frame.write_ipc(path, compression=_IPC_COMPRESSION)


def read_frame(path: Path) -> pl.DataFrame:
    """A staged frame, memory-mapped (nothing copied until a column's buffers are needed)."""
    return pl.read_ipc(path, memory_map=True)


def own_buffers(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy of a frame whose strings are its own, for a part of a frame kept after the frame: a filtered or selected
    polars column still points into the whole column's buffers, and a frame read from a staged file keeps the whole
    mapping alive, with every page of it that was read resident. Arrow's large_string copies only the rows kept.
    Measured: a small GX sample kept to the end of the night held every file's strings (+340 MB per nation
    procurement file); the firms a wave keeps for `stale`, selected from rechecked files' held rows, kept ≈ 0.9 GB
    of deleted parsed files resident on a nation night 1 on 2 workers (9 ms to copy a nation monthly file's)."""
    return pl.DataFrame(frame.to_arrow())


def write_relation(frame: pl.DataFrame, path: Path) -> None:
    """Stage a relation the load inserts into the warehouse: the Arrow batches a process that loads its own frame
    binds (relation_batches), as they are, so a staged relation is inserted as a held one is."""
    table = relation_batches(frame)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_relation(path: Path) -> pa.Table:
    """A staged relation as the Arrow table write_relation staged (its batches of ROW_GROUP_ROWS), memory-mapped."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def relation_batches(frame: pl.DataFrame, *, views: bool = False) -> pa.Table:
    """A relation the load inserts, cut into Arrow batches of ROW_GROUP_ROWS rows: DuckDB's insert keeps a batch's
    rows together, and with each file's rows in whole row groups of DuckDB's size the CHECKPOINT after the load
    rewrites none of them. (Cut as polars' chunks fall, every file after the first left a short row group beside
    each full one of core.procurement, and the checkpoint merged them by decompressing and compressing again
    nearly every row: 9 CPU-s and 15–25 s of a nation night 1's ingest, for the same rows in the same order.)
    The batches are slices of the frame's buffers (no copy once the frame is in one chunk).

    Text is Arrow's large strings, which polars writes by copying every string out of its string views (a nation
    procurement file: 0.3 CPU-s); `views` keeps the frame's views (no copy) for a frame bound where it is held
    (flows.stages.s06_load._bind), which DuckDB inserts as the same text. Staged, views would not do: every batch
    of a view column refers to the column's whole buffers, and the IPC file writes them with each batch (that
    procurement file: 9.1 GB instead of 0.49)."""
    table = frame.rechunk().to_arrow(compat_level=pl.CompatLevel.newest()) if views else frame.rechunk().to_arrow()
    return pa.Table.from_batches(table.to_batches(max_chunksize=ROW_GROUP_ROWS), schema=table.schema)


def staging_for(landing: Path) -> Path:
    """The staging folder beside a landing store (so both sit on the same shared volume)."""
    return landing.parent / "staging"


def write_atomically(final: Path, write: Callable[[Path], None]) -> Path:
    """Run write(tmp) on a fresh temporary folder, then rename it to `final`.

    A folder already at `final` is the complete output of an earlier try of the same task (the outputs are
    a function of the inputs only), so it is kept and this try's copy dropped.
    """
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{uuid.uuid4().hex}")
    tmp.mkdir()
    try:
        write(tmp)
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def write_reference(con: duckdb.DuckDBPyConnection, tables: dict[str, dict], folder: Path) -> Path:
    """Write the reference snapshot: one Parquet file per table a wave's validation reads.

    `tables` maps a table to what is read of it: {"keys": [...]} (distinct key values: registry membership,
    identifiers) or {"history": {measure: months}} (each firm's latest rows per measure; a row appears once per
    measure it carries, the other measures null, which is all validation_history.sql looks at).
    """
    def write(tmp: Path) -> None:
        for table, need in tables.items():
            if "history" in need:
                frame = pl.concat([
                    run_sql(con, "reference_history", {"months": int(months)}, {"table": table, "column": measure})
                    .pl() for measure, months in sorted(need["history"].items())], how="diagonal_relaxed")
            else:
                frame = run_sql(con, "reference_keys", None, {"table": table, "keys": sorted(need["keys"])}).pl()
            frame.write_parquet(tmp / f"{identifier(table)}.parquet")
    return write_atomically(folder, write)


@contextmanager
def reference_connection(folder: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB cursor on which the snapshot's tables read as they do in the warehouse (core.firms …).

    One in-memory database per thread and snapshot, built on first use: its views only point at the Parquet
    files, so a task pays a cursor, not a database.
    """
    cache: dict[Path, duckdb.DuckDBPyConnection] = _LOCAL.__dict__.setdefault("cons", {})
    con = cache.get(folder)
    if con is None:
        for old in cache.values():   # the previous night's or wave's snapshot
            old.close()
        cache.clear()
        con = duckdb.connect()
        for path in sorted(folder.glob("*.parquet")):
            schema, table = path.stem.split(".")
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(schema)}")
            quoted = str(path).replace("'", "''")   # a view cannot take a bound parameter
            con.execute(f"CREATE VIEW {identifier(path.stem)} AS SELECT * FROM read_parquet('{quoted}')")
        cache[folder] = con
    cursor = con.cursor()
    try:
        yield cursor
    finally:
        cursor.close()
