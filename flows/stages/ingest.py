"""Stages 4–6 for one file as a pure task: standardise → validate → staged frames; the load applies it.

`ingest_file` is a function of its inputs only — the landed file and a reference (the night's snapshot
folder, flows.support.staging, or the warehouse connection itself when the night runs in one process) — so
it runs on any Dask worker that sees the landing and staging folders. Its outputs go to one staging folder
per file, written atomically; `apply_staged` loads them in the one process that holds the warehouse, in
file order, so revisions, accounting and history behave as when everything ran in one process.

Same answer on a cluster as in one process: a file's validation reads what earlier files of the same night
wrote — registries (a firm registered tonight is known to tonight's monthly file), and for the unit check
each firm's history (tonight's January file is history for tonight's February file). The night therefore
runs in waves (`waves`): a kind starts a new wave when it reads a table a kind of the current wave writes
(clusters | firms, platforms | facts); each wave's snapshot is taken after the previous wave is loaded. Within
a wave, a file whose history table an earlier file of the wave writes too is only read by its task
(`reference` None); the night then validates it in the loading process against the warehouse as it then is,
from the parsed frames staged (`recheck`), unless its firms and the earlier files' are disjoint, when a worker
validates it against the snapshot (flows.nightly._wave). A file whose firms' history an earlier file changed
all the same (`stale`, a check that costs no validation) is validated again the same way. On a usual night
(one new month per bureau) every file is validated on the cluster, once.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path

import duckdb
import polars as pl

from flows.stages import s06_load as loader
from flows.stages.s02_land import LandedFile
from flows.stages.s03_layout import columns_rows
from flows.stages.s04_standardise import FileRejected, standardise
from flows.stages.s05_validate import (
    OLD_ID_COLUMNS,
    GxInput,
    ValidationSession,
    forget_registry_keys,
    record_problems,
    suite_rules,
)
from flows.support import guards, settings
from flows.support.contract import KINDS
from flows.support.staging import (
    own_buffers,
    read_frame,
    reference_connection,
    staged_path,
    write_atomically,
    write_frame,
    write_relation,
)
from flows.support.warehouse import run_sql

log = logging.getLogger(__name__)

# The tables each kind's load writes (sql/load_*.sql, store_flows.sql).
WRITES: dict[str, frozenset[str]] = {
    "clusters": frozenset({"core.clusters"}), "firms": frozenset({"core.firms", "core.firm_identifiers"}),
    "platforms": frozenset({"core.platforms"}), "monthly": frozenset({"core.firm_monthly"}),
    "tax": frozenset({"core.tax"}), "procurement": frozenset({"core.procurement"}),
    "digital": frozenset({"core.digital_surveys"}),
}
MISSING = "文件名前缀不是已知数据类别 / file name does not start with a known kind"


@cache
def reads(kind: str) -> dict[str, dict]:
    """What validating a kind reads of the warehouse, by table: {"keys": {...}} or {"history": {measure: months}}.

    From the suite's derived columns (registry membership, history ratio) and old-identifier resolution.
    """
    _, derived = suite_rules(kind)
    out: dict[str, dict] = {}
    for spec in derived.values():
        if spec["fn"] == "in_registry":
            out.setdefault(spec["table"], {}).setdefault("keys", set()).add(spec["key"])
        elif spec["fn"] == "history_ratio":
            out.setdefault(spec["table"], {}).setdefault("history", {})[spec["column"]] = int(spec.get("months", 12))
    if kind in OLD_ID_COLUMNS:
        out.setdefault("core.firms", {}).setdefault("keys", set()).add("uscc")
        out.setdefault("core.firm_identifiers", {}).setdefault("keys", set()).update({"uscc", "identifier", "scheme"})
    for table, need in out.items():
        if len(need) > 1:
            raise ValueError(f"{kind}: {table} is read both as registry keys and as history; the snapshot "
                             "keeps one of them")
        if table in WRITES[kind] and "history" not in need:
            raise ValueError(f"{kind} reads {table}, which it writes itself, other than as history: "
                             "its files could not be validated apart")
    return out


def history_tables(kind: str) -> set[str]:
    return {t for t, need in reads(kind).items() if "history" in need}


def waves(kinds: list[str | None]) -> list[list[int]]:
    """Positions of the night's files (registries first, then by name) grouped into waves: a file joins the
    current wave unless its kind reads a table another kind of the wave writes."""
    out: list[list[int]] = []
    wave_kinds: set[str] = set()
    for i, kind in enumerate(kinds):
        need = set(reads(kind)) if kind in KINDS else set()
        others = set().union(*(WRITES[k] for k in wave_kinds if k != kind)) if wave_kinds else set()
        if not out or need & others:
            out.append([])
            wave_kinds = set()
        out[-1].append(i)
        if kind in KINDS:
            wave_kinds.add(kind)
    return out


def snapshot_tables(kinds: set[str]) -> dict[str, dict]:
    """The union of what the given kinds read, for one wave's snapshot."""
    merged: dict[str, dict] = {}
    for kind in sorted(kinds):
        for table, need in reads(kind).items():
            into = merged.setdefault(table, {})
            for part, value in need.items():
                if part == "keys":
                    into.setdefault("keys", set()).update(value)
                else:
                    for measure, months in value.items():
                        into.setdefault("history", {})[measure] = max(months, into.get("history", {}).get(measure, 0))
    return merged


@dataclass(frozen=True)
class StagedFile:
    """Where a file's ingest left its outputs (small: this is what a Dask worker sends back).

    `held`: the relations the load inserts, kept in memory for a load by the process that read the file
    (`ingest_file`'s hold) instead of staged (flows.support.staging). In one process, writing them and reading them
    back was work for nothing: a nation procurement file's 183 MB, ≈ 0.7 CPU-s to write and ≈ 0.3 more for DuckDB
    to read (as Parquet).
    The rest (meta.json, the validation results, the GX rows: small) is staged all the same."""

    file_id: int
    name: str
    kind: str | None
    folder: Path
    status: str     # staged | failed
    held: dict[str, pl.DataFrame] | None = field(default=None, compare=False, repr=False)


@dataclass
class Parsed:
    """What validation and the load need of a standardised file (flows.stages.s04_standardise.Standardised),
    in a form that round-trips through the staging folder: a file whose check must be redone reads this back."""

    frame: pl.DataFrame
    raw: pl.DataFrame
    issues: pl.DataFrame
    warnings: pl.DataFrame
    rows_in: int
    encoding: str | None
    header_map: dict[str, str]
    where: str
    columns: list[dict]

    FRAMES = ("frame", "raw", "issues", "warnings")

    def save(self, folder: Path) -> dict:
        """Stage the frames as parsed_<name>; returns the rest for meta.json."""
        for name in self.FRAMES:
            write_frame(getattr(self, name), staged_path(folder, f"parsed_{name}"))
        return {"rows_in": self.rows_in, "encoding": self.encoding, "header_map": self.header_map,
                "where": self.where, "columns": self.columns}

    @classmethod
    def load(cls, folder: Path, meta: dict) -> Parsed:
        frames = {name: read_frame(staged_path(folder, f"parsed_{name}")) for name in cls.FRAMES}
        return cls(**frames, **meta)

    @property
    def headers(self) -> dict[str, str]:
        return {c: s for s, c in self.header_map.items()}


def ingest_file(landed: LandedFile, run_id: int, reference: Path | duckdb.DuckDBPyConnection | None,
                staging: Path, today: date, gx_rows: int, *, hold: bool = False,
                reads: ReadAhead | None = None) -> StagedFile:
    """standardise → validate → prepare the load of one file; the outputs go to staging/<file_id>/.

    `reference` is a snapshot folder (flows.support.staging.write_reference) or a live warehouse connection;
    None stages the parsed file alone (status "parsed", its firms beside it), for `recheck` to check. `hold`
    (only with a live connection: this process loads the file next) keeps the relations the load inserts in
    memory (StagedFile.held) instead of staging them. `reads`: the night's read-ahead, which may have read the file
    already (ReadAhead).
    Every file is isolated: whatever goes wrong while reading or checking it (a bomb stopped by a guard, a
    parser error, a value no column type can hold) is staged as this file's failure with a reason code and a
    message, and the night goes on with the others.
    """
    if hold and not isinstance(reference, duckdb.DuckDBPyConnection):
        raise ValueError("hold keeps a file's load in memory for the process that checks it against the warehouse "
                         "itself; a task checked against a snapshot or not at all is loaded from its staged relations")
    folder = staging / f"{landed.file_id:08d}"
    held: dict[str, pl.DataFrame] | None = {} if hold else None

    def write(tmp: Path) -> None:
        parsed = reads.read(landed) if reads is not None else read_landed(landed)
        meta = parsed if isinstance(parsed, dict) else _stage(landed, parsed, run_id, reference, today, gx_rows,
                                                                tmp, held)
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    write_atomically(folder, write)
    return _staged(landed, folder, held)


def recheck(staged: StagedFile, landed: LandedFile, run_id: int, con: duckdb.DuckDBPyConnection, today: date,
            gx_rows: int) -> StagedFile:
    """Validate a staged file again against the warehouse as it is now (see `stale`), from its parsed frames.

    The process that holds the warehouse checks it and loads it next, so the relations its load inserts stay in
    memory (StagedFile.held), as in one process: on Dask most of a night-1 wave's monthly and tax files are checked
    here (they name the same firms as the files before them), and each was staged only to be read back.
    """
    meta = json.loads((staged.folder / "meta.json").read_text(encoding="utf-8"))
    parsed = Parsed.load(staged.folder, meta["parsed"])
    folder = staged.folder.with_name(f"{staged.folder.name}-recheck")
    held: dict[str, pl.DataFrame] = {}

    def write(tmp: Path) -> None:
        out = _check(landed, parsed, run_id, con, today, gx_rows, tmp, keep_parsed=False, held=held)
        (tmp / "meta.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")

    write_atomically(folder, write)
    return _staged(landed, folder, held)


def discard(staged: StagedFile) -> None:
    """Delete a file's staged outputs (its folder, and the first try's when it was checked again) once it is loaded.

    Nothing reads them after `apply_staged` but through mappings it holds (the GX rows, the firms a later file's
    place is decided by), which outlive the files; the firms `stale` reads are copied out (`own_buffers`). Kept to the
    end of the ingest, a nation night 1's staging grew to ≈ 8 GB, and the writes of the workers that ran ahead of the
    load got dearer as the dirty pages piled up: writing 1 GB cost
    0.2 s of system CPU with none pending, 0.9-1.3 s with 1-2 GB pending (dd on this machine's ext4).
    """
    first = staged.folder.with_name(staged.folder.name.removesuffix("-recheck"))
    for folder in {first, staged.folder}:
        shutil.rmtree(folder, ignore_errors=True)


def _staged(landed: LandedFile, folder: Path, held: dict[str, pl.DataFrame] | None = None) -> StagedFile:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    # a folder an earlier try left (write_atomically keeps it) was not written by this try: nothing is held then,
    # and apply_staged refuses a folder whose meta says its rows were held
    return StagedFile(landed.file_id, landed.name, landed.kind, folder, meta["status"],
                      held if meta.get("held") and held else None)


def read_landed(landed: LandedFile) -> Parsed | dict:
    """standardise one landed file: its parsed frames, or meta.json's content for a file that cannot be read (a
    bomb stopped by a guard, a parser error, a value no column type can hold). A function of the file alone."""
    if landed.kind is None:
        return {"status": "failed", "reason": "unknown_kind", "message": MISSING}
    try:
        with guards.readable(landed.path, landed.name) as path:
            std = standardise(path, landed.kind, file_name=landed.name)
        return Parsed(std.frame, std.raw, std.issues, std.warnings, std.rows_in, std.encoding, std.header_map,
                      std.where, columns_rows(std.columns))
    except FileRejected as exc:
        return {"status": "failed", "reason": exc.reason, "message": exc.message}
    except Exception as exc:  # noqa: BLE001 — one file's failure of any kind must not stop the night
        log.exception("%s failed (read)", landed.name)
        reason, message = guards.describe_failure(exc, landed.name, "read")
        return {"status": "failed", "reason": reason, "message": message}


class ReadAhead:
    """The night's files in one process, each read while the one before it is checked and loaded.

    Reading a file (standardise: polars, which leaves the GIL for most of it) needs nothing of the warehouse, so the
    next file can be read in a thread while this process checks and loads the current one (DuckDB and polars,
    which leave the GIL too): on two cores a nation night 2's procurement file (1.3 s to read) is read beside the
    monthly file's check and load. Only when the two files together have at most settings.READ_AHEAD_MB on disk:
    the next file's frames then sit beside the current one's, and a nation procurement file of 60 MB (Parquet)
    takes ≈ 0.75 GB of parsed frames and 1.9 GB while it is read, so two of them at once would pass the night's
    4 GB. Parquet is the most compact format a bureau sends, so its ratio bounds the others'.
    """

    def __init__(self, files: list[LandedFile], limit_mb: float = settings.READ_AHEAD_MB) -> None:
        self._next = {a.file_id: b for a, b in pairwise(files)}
        self._limit = limit_mb * 1e6
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="read-ahead")
        self._ahead: dict[int, Future[Parsed | dict]] = {}

    def read(self, landed: LandedFile) -> Parsed | dict:
        """The file read (by the read ahead, or now), the next one's read started if the two are small enough."""
        future = self._ahead.pop(landed.file_id, None)
        parsed = future.result() if future is not None else read_landed(landed)
        after = self._next.get(landed.file_id)
        if after is not None and _size(landed) + _size(after) <= self._limit:
            self._ahead[after.file_id] = self._pool.submit(read_landed, after)
        return parsed

    def close(self) -> None:
        """Stop reading ahead: a read under way finishes (no thread outlives the night), none starts, and a file
        read but not taken (the night stopped before it) lets its frames go."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()


def _size(landed: LandedFile) -> int:
    return landed.path.stat().st_size


@contextmanager
def read_ahead(files: list[LandedFile]) -> Iterator[ReadAhead]:
    reads = ReadAhead(files)
    try:
        yield reads
    finally:
        reads.close()


def _stage(landed: LandedFile, parsed: Parsed, run_id: int, reference: Path | duckdb.DuckDBPyConnection | None,
           today: date, gx_rows: int, out: Path, held: dict[str, pl.DataFrame] | None = None) -> dict:
    """The work of ingest_file after the read; returns meta.json's content."""
    if reference is None:              # read only: the night checks it later, where it can (`recheck`)
        column = OLD_ID_COLUMNS.get(landed.kind, "uscc")
        if column in parsed.frame.columns:
            write_frame(parsed.frame.select(pl.col(column).cast(pl.Utf8).alias("uscc")).unique().drop_nulls(),
                        staged_path(out, "firms"))
        return {"status": "parsed", "parsed": parsed.save(out),
                "old_codes": _may_hold_old_codes(parsed.frame, column)}
    if isinstance(reference, Path):    # a snapshot: the night may have to check the file again (`recheck`)
        with reference_connection(reference) as con:
            return _check(landed, parsed, run_id, con, today, gx_rows, out, keep_parsed=True)
    with reference.cursor() as con:
        return _check(landed, parsed, run_id, con, today, gx_rows, out, keep_parsed=False, held=held)


def _check(landed: LandedFile, parsed: Parsed, run_id: int, con: duckdb.DuckDBPyConnection, today: date,
           gx_rows: int, out: Path, *, keep_parsed: bool, held: dict[str, pl.DataFrame] | None = None) -> dict:
    """validate → prepare the load → write the staged outputs (the load's relations into `held` when given);
    returns meta.json's content. keep_parsed also stages the parsed frames of a kind checked against history,
    for `recheck`."""
    assert landed.kind is not None
    kind, name = landed.kind, landed.name
    phase = "check"
    try:
        session = ValidationSession(today=today, gx_rows=gx_rows)
        checked = session.validate(kind, parsed.frame, name, con, where=parsed.where, headers=parsed.headers)
        rejected = pl.concat([parsed.issues, checked.issues], how="vertical_relaxed")
        flagged = pl.concat([parsed.warnings, checked.warnings], how="vertical_relaxed") if parsed.warnings.height \
            else checked.warnings
        phase = "load"
        prepared = loader.prepare(name, kind, parsed=parsed.frame, loaded=checked.frame, rejected=rejected,
                                  flagged=flagged, raw=parsed.raw, rows_in=parsed.rows_in, encoding=parsed.encoding,
                                  header_map=parsed.header_map, columns=parsed.columns)
    except Exception as exc:  # noqa: BLE001 — one file's failure of any kind must not stop the night
        log.exception("%s failed (%s)", name, phase)
        reason, message = guards.describe_failure(exc, name, phase)
        return {"status": "failed", "reason": reason, "message": message}
    if held is not None:
        held.update(prepared.relations())
    else:
        for view, frame in prepared.relations().items():
            write_relation(frame, staged_path(out, view))
    inp = checked.gx_input
    assert inp is not None
    results = checked.results.with_columns(
        pl.lit(run_id, pl.Int32).alias("run_id"), pl.lit(landed.file_id, pl.Int32).alias("file_id"),
        pl.lit(name).alias("file_name"), pl.lit(kind).alias("kind"), pl.lit(kind).alias("suite"))
    write_frame(results, staged_path(out, "results"))
    write_frame(inp.batch, staged_path(out, "gx"))
    acc = prepared.accounting
    meta = {"status": "staged", "held": held is not None, "accounting": {
        "rows_in": acc.rows_in, "rows_loaded": acc.rows_loaded, "rows_quarantined": acc.rows_quarantined,
        "encoding": acc.encoding, "header_map": acc.header_map, "rules": acc.rules,
        "ignored_columns": acc.ignored_columns, "header_report": acc.header_report},
        "gx": {"rows": inp.rows, "table_ok": inp.table_ok, "fail_bit": inp.fail_bit},
        "problems": checked.problems, "timings": checked.timings}
    if history_tables(kind) and keep_parsed:     # what `stale` needs, and what `recheck` reads instead of the file
        column = OLD_ID_COLUMNS.get(kind, "uscc")
        firms = pl.concat([parsed.frame.select(pl.col(column).cast(pl.Utf8).alias("uscc")),
                           prepared.incoming.select(pl.col("uscc").cast(pl.Utf8))]).unique().drop_nulls()
        write_frame(firms, staged_path(out, "firms"))
        meta["old_codes"] = _may_hold_old_codes(parsed.frame, column)
        meta["parsed"] = parsed.save(out)
    return meta


def _may_hold_old_codes(frame: pl.DataFrame, column: str) -> bool:
    """Whether any value could be an old identifier (the lengths resolve_identifiers looks at)."""
    return column in frame.columns and bool(frame[column].cast(pl.Utf8).str.len_chars().is_in([9, 10, 15]).any())


def firms_read(staged: StagedFile) -> pl.Series | None:
    """The firms whose history a staged file's unit check reads (its own, distinct), or None when that cannot be
    told from the file: it may hold old identifiers, which resolve to firms it does not name, or it names none."""
    meta = json.loads((staged.folder / "meta.json").read_text(encoding="utf-8"))
    if meta["status"] not in ("staged", "parsed") or meta.get("old_codes", True) \
            or not staged_path(staged.folder, "firms").exists():
        return None
    return read_frame(staged_path(staged.folder, "firms"))["uscc"]


def share_firms(mine: pl.Series, theirs: pl.Series | None) -> bool:
    """Whether two files' firms (firms_read) may overlap: None (not known) may. Files of one kind mostly name the
    same firms: a slice of one usually shows it without hashing the other whole."""
    return (theirs is None or bool(theirs.is_in(mine.head(1024).implode()).any())
            or bool(mine.is_in(theirs.implode()).any()))


def stale(staged: StagedFile, touched: dict[str, list[pl.LazyFrame]]) -> bool:
    """True when an earlier file of the wave changed the history this file's unit check read in the snapshot.

    Exact per firm: the check reads only the file's own firms' rows; `touched` holds, per history table, the
    firms of the files loaded since the snapshot (their staged incoming relation, or the held rows' uscc). A file
    that resolved old identifiers is treated as reading every touched firm (the codes it resolved are not kept).
    """
    if staged.status not in ("staged", "parsed") or staged.kind is None or staged.folder.name.endswith("-recheck"):
        return False
    tables = [t for t in history_tables(staged.kind) if touched.get(t)]
    if not tables:
        return False
    meta = json.loads((staged.folder / "meta.json").read_text(encoding="utf-8"))
    if meta["old_codes"]:
        return True
    firms = read_frame(staged_path(staged.folder, "firms"))["uscc"]
    return any(loaded.select(pl.col("uscc").cast(pl.Utf8).is_in(firms.implode()).any()).collect().item()
               for t in tables for loaded in touched[t])


def apply_staged(con: duckdb.DuckDBPyConnection, run_id: int, staged: StagedFile, session: ValidationSession,
                 touched: dict[str, list[pl.LazyFrame]] | None = None) -> loader.FileOutcome:
    """Load one staged file into the building warehouse (one transaction), record its validation results and
    queue its GX rows; a failed file is marked failed with its reason. `touched` collects, per history table,
    the firms this file loaded (for `stale`, which reads them only when it has to)."""
    try:
        return _apply_staged(con, run_id, staged, session, touched)
    finally:
        forget_registry_keys(WRITES.get(staged.kind or "", frozenset()))   # what later files' checks read


def _apply_staged(con: duckdb.DuckDBPyConnection, run_id: int, staged: StagedFile, session: ValidationSession,
                  touched: dict[str, list[pl.LazyFrame]] | None) -> loader.FileOutcome:
    meta = json.loads((staged.folder / "meta.json").read_text(encoding="utf-8"))
    if meta["status"] == "failed":
        return loader.fail_file(con, staged.file_id, staged.name, staged.kind, meta["reason"], meta["message"])
    assert staged.kind is not None
    a = meta["accounting"]
    accounting = loader.Accounting(
        a["rows_in"], a["rows_loaded"], a["rows_quarantined"], a["encoding"], a["header_map"],
        rules=tuple((r, int(n)) for r, n in a["rules"]), ignored_columns=tuple(a["ignored_columns"]),
        header_report=a["header_report"])
    held = staged.held
    if meta.get("held") and held is None:
        raise ValueError(f"{staged.name}: its load's frames were held in the memory of the process that read it "
                         "(ingest_file's hold), and this StagedFile does not carry them")
    relations: dict[str, pl.DataFrame | Path] = dict(held) if held is not None else {
        view: staged_path(staged.folder, view) for view in ("rejected", "flagged", "incoming", "file_columns")}
    problems = [dict(p, file_id=staged.file_id) for p in meta["problems"]]   # rules not checked on the file

    validation_rows = read_frame(staged_path(staged.folder, "results"))

    def record(con: duckdb.DuckDBPyConnection) -> None:
        """The file's validation results, in its load's transaction."""
        con.register("_validation_rows", validation_rows)
        try:
            run_sql(con, "validation_record", {"run_id": run_id, "file_id": staged.file_id})
        finally:
            con.unregister("_validation_rows")
        record_problems(con, run_id, problems)

    try:
        outcome = loader.apply_load(con, run_id, staged.file_id, staged.name, staged.kind, accounting,
                                    dict(relations), also=record)
    except Exception as exc:  # noqa: BLE001 — one file's failure of any kind must not stop the night
        log.exception("%s failed (load)", staged.name)
        reason, message = guards.describe_failure(exc, staged.name, "load")
        return loader.fail_file(con, staged.file_id, staged.name, staged.kind, reason, message)
    session.problems += problems
    results = validation_rows.drop("run_id", "file_id", "file_name", "kind", "suite")
    session.queue(staged.kind, GxInput(
        file_name=staged.name, rows=meta["gx"]["rows"], batch=read_frame(staged_path(staged.folder, "gx")),
        table_ok=meta["gx"]["table_ok"], results=results, fail_bit=meta["gx"]["fail_bit"], file_id=staged.file_id))
    if touched is not None and (tables := history_tables(staged.kind)):
        incoming = relations["incoming"]
        # the firms the file loaded, for `stale`: read from its staged rows now (`discard` deletes them), or taken
        # from its held ones; copied, as they outlive the file's frames and mappings
        firms = own_buffers(pl.scan_ipc(incoming).select("uscc").collect() if isinstance(incoming, Path)
                            else incoming.select("uscc")).lazy()
        for table in tables:
            touched.setdefault(table, []).append(firms)
    return outcome

