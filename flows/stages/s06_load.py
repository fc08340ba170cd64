"""Stage 5, load: put a file's validated rows into core, its rejected rows into quarantine, and account.

Every data row of a file ends in exactly one place (docs/architecture.md#nothing-lost): loaded, or in
quarantine.rows with its original values. The count rows_in = rows_loaded + rows_quarantined is checked here and
recorded in meta.files; a file that breaks it fails loudly rather than losing rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from flows.stages.s04_standardise import typed_columns
from flows.support.contract import KINDS
from flows.support.staging import read_relation, relation_batches
from flows.support.warehouse import one_thread_below, run_sql

REGISTRY_SQL = {"clusters": "load_clusters", "firms": "load_firms", "platforms": "load_platforms",
                "digital": "load_digital"}
DERIVED_TABLE = {"monthly": "core.firm_monthly", "tax": "core.tax"}
_DTYPES = {"str": pl.Utf8, "scope": pl.Utf8, "srdi": pl.Utf8, "transformation": pl.Utf8, "basis": pl.Utf8,
           "float": pl.Float64, "money": pl.Float64, "land": pl.Float64, "energy": pl.Float64,
           "int": pl.Int64, "period": pl.Date, "date": pl.Date, "bool": pl.Boolean}


FILE_COLUMNS_SCHEMA: dict[str, pl.DataType] = {
    "position": pl.Int32, "source_header": pl.Utf8, "column_name": pl.Utf8, "basis": pl.Utf8, "unit": pl.Utf8,
    "unit_source": pl.Utf8, "factor": pl.Float64, "status": pl.Utf8, "note": pl.Utf8}


MAX_REASON = 600   # characters of a failed file's message kept in meta.files.reason


@dataclass(frozen=True)
class FileOutcome:
    file_id: int
    name: str
    kind: str | None
    status: str  # loaded | failed
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    rules: tuple[tuple[str, int], ...] = ()  # quarantined rows per rule
    ignored_columns: tuple[str, ...] = ()      # source headers that map to no column (reported, not loaded)


def row_key(frame: pl.DataFrame, kind: str) -> pl.Expr:
    """The canonical key of a row as text (e.g. 'uscc|2025-06-01'): how a revision finds what it corrects."""
    cols = [c for c in KINDS[kind].key if c in frame.columns]
    return pl.concat_str([pl.col(c).cast(pl.Utf8) for c in cols], separator="|", ignore_nulls=False)


def conform(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Every canonical column of the kind, in contract order, with its type; absent optional ones as NULL.

    Monthly and tax measures all become DOUBLE because they are unpivoted together into history.
    """
    measures_as_double = kind in DERIVED_TABLE
    cols = []
    for column in KINDS[kind].stored_columns:
        dtype = _DTYPES[column.dtype]
        if measures_as_double and column.name not in ("uscc", "period", "basis"):
            dtype = pl.Float64
        expr = pl.col(column.name) if column.name in frame.columns else pl.lit(None)
        if column.name == "basis":
            expr = expr.fill_null("month")
        cols.append(expr.cast(dtype).alias(column.name))
    return frame.select(*cols, pl.col("_row").cast(pl.Int64))


def quarantine_frame(rejected: pl.DataFrame, raw: pl.DataFrame, parsed: pl.DataFrame, kind: str,
                     header_map: dict[str, str]) -> pl.DataFrame:
    """Rejected rows with the value as delivered, the whole source row as JSON, and the key where it parsed.

    Validation sees canonical values (万元); the person fixing the file needs the cell as it was typed.
    """
    # Only the rejected rows are encoded: a file's other rows (millions at nation scale) need no JSON and no key.
    # A Parquet file's typed number columns (flows.stages.s04_standardise.typed_columns) are kept as the text
    # every other reader gives them: the same cast the raw text of such a column had, on these rows only.
    wanted = rejected.select("_row").unique()
    raw = raw.join(wanted, on="_row", how="semi").with_columns(pl.col(typed_columns(raw)).cast(pl.Utf8))
    parsed = parsed.join(wanted, on="_row", how="semi")
    source_of = {canonical: source for source, canonical in header_map.items()}
    delivered = [
        rejected.filter(pl.col("column_name") == column).select("_row", "column_name").join(
            raw.select("_row", pl.col(source_of[column]).alias("_delivered")), on="_row", how="left")
        for column in rejected["column_name"].drop_nulls().unique().to_list() if source_of.get(column) in raw.columns
    ]
    originals = raw.select("_row", pl.struct(pl.exclude("_row")).struct.json_encode().alias("original"))
    keys = parsed.select("_row", row_key(parsed, kind).alias("row_key"))
    out = rejected.join(originals, on="_row", how="left").join(keys, on="_row", how="left")
    if delivered:
        out = out.join(pl.concat(delivered), on=["_row", "column_name"], how="left").with_columns(
            pl.coalesce("_delivered", "value").alias("value")).drop("_delivered")
    return out


@dataclass(frozen=True)
class Accounting:
    """What meta.files records of a loaded file, and what the night reports of it."""

    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    encoding: str | None
    header_map: dict[str, str]
    rules: tuple[tuple[str, int], ...] = ()      # quarantined rows per rule
    ignored_columns: tuple[str, ...] = ()
    header_report: bool = False                  # a header report (view file_columns) comes with the file


@dataclass
class Prepared:
    """One file's load, decided before the warehouse is touched: the rows for core (conformed), the rows for
    quarantine (with their original values), warning flags, the header report, and the file's accounting.

    Computed by the per-file ingest task (flows.stages.ingest) where the file is read; written to its staging
    folder (flows.support.staging) and applied by apply_load in the one process that writes the warehouse.
    """

    incoming: pl.DataFrame
    rejected: pl.DataFrame
    flagged: pl.DataFrame
    columns: pl.DataFrame
    accounting: Accounting

    def relations(self) -> dict[str, pl.DataFrame]:
        """The views the load SQL reads, by name."""
        return {"rejected": self.rejected, "flagged": self.flagged, "incoming": self.incoming,
                "file_columns": self.columns}


def prepare(name: str, kind: str, parsed: pl.DataFrame, loaded: pl.DataFrame, rejected: pl.DataFrame,
            flagged: pl.DataFrame, raw: pl.DataFrame, rows_in: int, encoding: str | None,
            header_map: dict[str, str], columns: list[dict] | None = None) -> Prepared:
    """A file's load as frames, with the accounting checked: a row lost or counted twice raises.

    `parsed` holds every row that parsed, `loaded` those that also passed validation; `rejected` has one
    issue per quarantined source row (parse-level or validation); `flagged` warning-level issues on
    loaded rows; `raw` the source rows as read, for the original values kept in quarantine; `columns` the
    file's header report (flows.stages.s03_layout.columns_rows) for meta.file_columns.
    """
    incoming = conform(loaded, kind)
    if kind in DERIVED_TABLE:
        _refuse_repeated_keys(incoming, name, kind)
    n_quarantined = rejected["_row"].n_unique()
    # (most files have no rejected row: the semi join would hash every loaded row's number for nothing, 0.13 CPU-s
    # for a nation procurement file)
    both = rejected.join(incoming.select("_row"), on="_row", how="semi").height if rejected.height else 0
    if incoming.height + n_quarantined != rows_in or both:
        raise AssertionError(
            f"{name}: rows_in {rows_in} != loaded {incoming.height} + quarantined {n_quarantined}; "
            "a row would be lost or counted twice")
    rejected = rejected.unique(subset="_row", keep="first", maintain_order=True)
    by_rule = rejected.group_by("rule").len().sort("rule").rows()
    ignored = tuple(c["source_header"] for c in columns or () if c["status"] == "ignored" and c["column_name"] is None
                    and c["source_header"])
    accounting = Accounting(rows_in, incoming.height, n_quarantined, encoding, header_map,
                            rules=tuple((r, int(n)) for r, n in by_rule), ignored_columns=ignored,
                            header_report=bool(columns))
    return Prepared(incoming=incoming, rejected=quarantine_frame(rejected, raw, parsed, kind, header_map),
                    flagged=flagged, columns=pl.DataFrame(columns or [], schema=FILE_COLUMNS_SCHEMA),
                    accounting=accounting)


class RepeatedKey(ValueError):
    """Rows of one monthly-statistics or tax file that share a key are about to be loaded (validation
    quarantines them): the file fails rather than lose one of the values in the derivation."""


def _refuse_repeated_keys(incoming: pl.DataFrame, name: str, kind: str) -> None:
    """Raise RepeatedKey naming the rows (first five keys) when two rows to load carry the same firm and month.

    With the derivation (one row per firm and month, derive_flows.sql) this is what keeps (uscc, period) unique
    in core.firm_monthly and core.tax, which have no key index (migration 0007). Checked here, in the per-file
    task, not by the single writer.

    Whether any key repeats is asked of the key columns themselves (0.13 → 0.03 CPU-s a nation monthly file);
    the key text (row_key) is built only to name the rows. A NULL in a key column makes the whole text NULL,
    so NULL keys are all one key there: such a frame takes the text path for the answer too.
    """
    cols = [c for c in KINDS[kind].key if c in incoming.columns]
    if not incoming.select(pl.struct(cols).is_duplicated().any()
                            | pl.any_horizontal(pl.col(cols).is_null()).any()).item():
        return
    keys = incoming.select("_row", row_key(incoming, kind).alias("_key"))
    repeated = keys.filter(pl.col("_key").is_duplicated())
    if repeated.height:
        where = "; ".join(f"{key}: {', '.join(map(str, rows))}" for key, rows in repeated.group_by("_key").agg(
            pl.col("_row").sort()).sort(pl.col("_row").list.first()).head(5).rows())
        raise RepeatedKey(f"{name}：同一企业同一月份有多行（键：行号 {where}） / {name}: several rows carry the same "
                          f"firm and month (key: rows {where})")


def load_file(con: duckdb.DuckDBPyConnection, run_id: int, file_id: int, name: str, kind: str,
              parsed: pl.DataFrame, loaded: pl.DataFrame, rejected: pl.DataFrame, flagged: pl.DataFrame,
              raw: pl.DataFrame, rows_in: int, encoding: str | None, header_map: dict[str, str],
              columns: list[dict] | None = None) -> FileOutcome:
    """Prepare and load one file's outcome in one transaction (frames in memory; see prepare)."""
    prepared = prepare(name, kind, parsed, loaded, rejected, flagged, raw, rows_in, encoding, header_map, columns)
    return apply_load(con, run_id, file_id, name, kind, prepared.accounting, prepared.relations())


def apply_load(con: duckdb.DuckDBPyConnection, run_id: int, file_id: int, name: str, kind: str,
               accounting: Accounting, relations: dict[str, pl.DataFrame | Path],
               also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> FileOutcome:
    """Apply one prepared file to the warehouse in one transaction: quarantine, core (+ history, derived
    monthly values), resolved quarantine rows, header report, whatever `also` writes of the file (its
    validation results), meta.files.

    Each relation the SQL reads is a frame in memory or a staged file (flows.support.staging.write_relation,
    memory-mapped, so a staged file is never copied through Python); both are bound as the same Arrow batches.
    One commit per file: a commit is a write of the log to disk, the largest fixed cost of a small file's load.
    """
    params = {"file_id": file_id, "file_name": name, "kind": kind, "run_id": run_id}
    # Most files have no rejected and no flagged row: such a relation is neither bound nor inserted from (its row
    # count is the staged file's or the frame's), two statements and a binding saved.
    bound = {view: source for view, source in relations.items()
             if view not in ("rejected", "flagged") or _has_rows(source)}
    with one_thread_below(con, accounting.rows_in):    # a small file's statements
        con.begin()
        try:
            for view, source in bound.items():
                _bind(con, view, source)
            if "rejected" in bound:
                run_sql(con, "load_quarantine", params)
            if "flagged" in bound:
                run_sql(con, "load_flags", {"file_id": file_id})
            if kind in DERIVED_TABLE:
                run_sql(con, "load_reported", params)
                derive_monthly(con, run_id, file_id, kind)
            elif kind == "procurement":
                load_procurement(con, params)
            else:
                run_sql(con, REGISTRY_SQL[kind], params)
            if run_sql(con, "open_quarantine", params).fetchone()[0]:    # nothing open: no key to look at
                con.register("loaded_keys", loaded_keys(relations["incoming"], kind).to_arrow())
                try:
                    run_sql(con, "load_resolve", params)
                finally:
                    con.unregister("loaded_keys")
            if accounting.header_report:
                run_sql(con, "file_columns", {"file_id": file_id})
            if also is not None:
                also(con)
            run_sql(con, "file_finish", {
                "file_id": file_id, "status": "loaded", "reason": None, "encoding": accounting.encoding,
                "header_map": json.dumps(accounting.header_map, ensure_ascii=False), "rows_in": accounting.rows_in,
                "rows_loaded": accounting.rows_loaded, "rows_quarantined": accounting.rows_quarantined})
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            for view in bound:
                con.unregister(view)
    return FileOutcome(file_id, name, kind, "loaded", accounting.rows_in, accounting.rows_loaded,
                       accounting.rows_quarantined, rules=accounting.rules, ignored_columns=accounting.ignored_columns)


def load_procurement(con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """A procurement file's rows into core, replacing what earlier files held for its (buyer, month)s. The
    replacement is looked for only when core holds a row of one of the file's months: the usual file brings a
    new month, whose distinct buyer keys would be worked out for nothing (procurement_periods.sql)."""
    if run_sql(con, "procurement_periods").fetchone()[0]:
        run_sql(con, "procurement_supersede", params)
    run_sql(con, "load_procurement", params)


def loaded_keys(incoming: pl.DataFrame | Path, kind: str) -> pl.DataFrame:
    """The row keys (`_key`, as row_key writes them) of a file's loaded rows, for load_resolve.sql.

    Built only where an earlier file left an open quarantined row of the kind (open_quarantine.sql), from the key
    columns alone: staged with every row, the key text cost a nation procurement file 0.84 CPU-s (0.67 to build,
    0.17 to write) on nights when nothing reads it.
    """
    columns = list(KINDS[kind].key)      # conform gives the loaded rows every stored column, the key's among them
    frame = pl.from_arrow(read_relation(incoming).select(columns)) if isinstance(incoming, Path) \
        else incoming.select(columns)
    return frame.select(row_key(frame, kind).alias("_key"))


def _has_rows(source: pl.DataFrame | Path) -> bool:
    """Whether a relation holds a row: a frame's height, or a staged relation's (memory-mapped: nothing read)."""
    return (read_relation(source).num_rows if isinstance(source, Path) else source.height) > 0


def _bind(con: duckdb.DuckDBPyConnection, view: str, source: pl.DataFrame | Path) -> None:
    """A staged relation as staged; a held frame as its own string views (relation_batches)."""
    con.register(view, read_relation(source) if isinstance(source, Path) else relation_batches(source, views=True))


def fail_file(con: duckdb.DuckDBPyConnection, file_id: int, name: str, kind: str | None, reason: str,
              message: str) -> FileOutcome:
    """A file nobody can read stays landed, marked failed with the reason; the night goes on.

    The message is kept to one readable line (a parser's error can be a page of hints and repeated data).
    """
    text = " ".join(message.split())
    text = text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
    run_sql(con, "file_finish", {
        "file_id": file_id, "status": "failed", "reason": f"{reason}: {text}", "encoding": None,
        "header_map": None, "rows_in": None, "rows_loaded": 0, "rows_quarantined": 0})
    return FileOutcome(file_id, name, kind, "failed", reason=reason)


def derive_monthly(con: duckdb.DuckDBPyConnection, run_id: int, file_id: int, kind: str) -> None:
    """Derive monthly values (docs/architecture.md#input-contract) for the firm-years one monthly or tax file reported;
    store changes. A file of 当月 values that all come after the months stored for their firm-years (the usual
    night's month, or a first night's year of months) goes to core as reported: nothing to difference — known
    without its firm-years when the table holds nothing from the file's first month on (fresh_file.sql). Otherwise
    a file that only appends a month per firm-year takes the append path alone."""
    params = {"kind": kind, "run_id": run_id, "file_id": file_id, "flows": list(KINDS[kind].flows)}
    tables = {"table": DERIVED_TABLE[kind]}
    measures = {"measures": list(KINDS[kind].measures)}
    if run_sql(con, "fresh_file", params, tables | measures).fetchone()[0]:
        run_sql(con, "fresh_reported", params, tables | measures)     # stored as reported: nothing to derive
        return
    run_sql(con, "derive_flows", params, tables | measures)
    # The usual file only appends a month: the rework path would scan the history for nothing.
    reworks, appends, reaching_back, ytd_rows = run_sql(con, "touched_reworked", params, measures).fetchone()
    if not reaching_back and not ytd_rows:
        run_sql(con, "fresh_reported", params, tables | measures)     # stored as reported: nothing to derive
        return
    if appends:
        run_sql(con, "derive_appended", params, tables)
    else:
        run_sql(con, "derive_none_appended")
    if reworks:
        run_sql(con, "derive_rework", params)
    run_sql(con, f"pivot_{kind}")
    run_sql(con, "store_flows" if reworks else "store_appended", params, tables)
