"""Stage 4, validate: run a kind's Great Expectations suite over a standardised frame
(docs/architecture.md#input-contract, #nothing-lost).

The suites in expectations/gx/expectations/<kind>.json (a GX file context, read-only here) are the one
source of truth: every expectation carries meta.rule (the stable quarantine rule code) and
meta.severity (critical quarantines the row, warning loads and flags it). Rules that need more than one
column value (USCC check character, registry membership, a firm's own history, whole numbers) read
derived columns `_x__col` that the suite declares in meta.derived_columns; this module computes them.

Speed: GX's pandas engine checks regexes one value at a time in Python (≈2.5 s per million values per
regex column) and its unexpected-index bookkeeping is per row, so GX alone runs at ≈100 k rows/s on
procurement. The same suite rules are therefore compiled to polars expressions and evaluated on every
row (the row-level verdicts come from there), and GX runs the suite on every row of files up to
`GX_ROWS` rows and, above that, on every flagged row plus a systematic sample of `GX_ROWS` rows. On
that GX batch the two engines must agree rule by rule (counts), and GX's results render the Data Docs.
Procurement repeats a few hundred thousand buyer and supplier codes over tens of millions of rows, so
the per-value work on a string column (regex, check character, registry membership) runs once per
distinct value when a column has few of them (`distinct`, `DISTINCT_SHARE`), or once per run of equal
neighbours when the file comes grouped by firm (`RUN_SHARE`), and is gathered back to the rows; regexes
and hash look-ups per row were most of the polars time.

GX costs ≈0.6–1 s per run whatever the size, so a night (ValidationSession) runs it once per kind, not
once per file: each file's GX rows are queued, and after the last file one GX run per kind checks them
all (every flagged row plus a systematic sample of ≈GX_ROWS rows per kind), its unexpected rows mapped
back to files, so the per-file GX counts and the per-file agreement check stay as they were.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from flows.render import offline_docs, safe_text
from flows.support import settings
from flows.support.contract import KIND_ORDER, KINDS
from flows.support.settings import EXPECTATIONS_DIR, REPORTS_OUT
from flows.support.staging import own_buffers
from flows.support.uscc import ALPHABET, WEIGHTS
from flows.support.warehouse import identifier, run_sql

try:  # the parse stage owns the issue schema; keep a copy so this module imports on its own
    from flows.stages.s04_standardise import ISSUE_SCHEMA
except ImportError:  # pragma: no cover
    ISSUE_SCHEMA = {"_row": pl.Int64, "column_name": pl.Utf8, "value": pl.Utf8, "rule": pl.Utf8,
                    "severity": pl.Utf8, "message": pl.Utf8, "message_en": pl.Utf8}

log = logging.getLogger(__name__)

GX_ROWS = 100_000        # GX runs on every row up to this size, else on flagged rows + a sample this big
GX_CHUNK = 250_000       # rows per pandas batch handed to GX (bounds the pandas copy)
DISTINCT_SHARE = 1 / 16  # per-value checks run once per distinct value when a column has at most this share
RUN_SHARE = 1 / 4        # ... or once per run of equal neighbours when there are at most this share of runs
RUN_PROBE = 65_536       # rows whose runs say whether looking for runs in the whole column can pay
MIN_DATE = date(2000, 1, 1)
MIN_ESTABLISHED = date(1900, 1, 1)   # the earliest plausible founding date of a firm (firms suite)
RESULTS_SPOOL = REPORTS_OUT / "gx_results"   # GX results per run/file, read back by render_data_docs
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "expectation_id": pl.Utf8, "expectation_type": pl.Utf8, "rule": pl.Utf8, "column_name": pl.Utf8,
    "severity": pl.Utf8, "evaluated": pl.Int64, "passed": pl.Boolean, "failed_rows": pl.Int64,
    "gx_evaluated": pl.Int64, "gx_failed": pl.Int64,
}
_TABLE_LEVEL = {"expect_column_to_exist", "expect_column_values_to_be_in_type_list"}


@dataclass
class Validated:
    """A frame after its suite: loadable rows (with warning flags), quarantined rows, and per-rule results."""

    frame: pl.DataFrame
    issues: pl.DataFrame
    warnings: pl.DataFrame
    results: pl.DataFrame
    kind: str = ""
    file_name: str = ""
    gx_result: dict | None = field(default=None, repr=False)   # merged GX validation result (Data Docs)
    timings: dict[str, float] = field(default_factory=dict)     # seconds per step (encode … issues, gx)
    gx_input: GxInput | None = field(default=None, repr=False)  # rows for GX, until a GX run has taken them
    # rules not checked on this file and engine disagreements (problem rows of meta.validation_problems)
    problems: list[dict] = field(default_factory=list)


@dataclass
class GxInput:
    """What GX needs of one validated file: its GX rows and the polars verdicts to compare GX with.

    batch holds every row polars flagged (`_gx_flagged`) plus, for files over GX_ROWS rows, only a
    systematic sample of the others; table_ok is the file's verdict on each table-level rule.
    """

    file_name: str
    rows: int
    batch: pl.DataFrame
    table_ok: dict[str, bool]
    results: pl.DataFrame
    fail_bit: dict[str, int] = field(default_factory=dict)   # row-level rule → bit in the _gx_fail_<word> columns
    file_id: int = 0


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, as this module reads it."""

    id: str
    type: str
    kwargs: dict
    rule: str
    severity: str
    column: str | None          # the source column named in messages
    message_zh: str
    message_en: str


# ---------------------------------------------------------------- suites

@cache
def _file_context() -> Any:
    """The repo's GX file context; only read (get), never written, so suite files never churn."""
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(EXPECTATIONS_DIR))


def load_suite(kind: str) -> Any:
    """The kind's ExpectationSuite from expectations/gx/expectations/<kind>.json."""
    return _file_context().suites.get(kind)


@cache
def suite_rules(kind: str) -> tuple[tuple[Rule, ...], dict]:
    """The suite's expectations as Rules (file order) and its declared derived columns.

    Read from the suite file as JSON, not through a GX context: importing GX and building its context costs
    ≈6 s per process, which every Dask worker would pay before its first file (tests/test_validate.py checks
    that GX reads the same rules from the same files)."""
    suite = json.loads((EXPECTATIONS_DIR / "gx" / "expectations" / f"{kind}.json").read_text(encoding="utf-8"))
    rules = []
    for e in suite["expectations"]:
        kw = {k: _as_gx_reads(k, v) for k, v in e["kwargs"].items()
              if k not in ("result_format", "catch_exceptions", "meta")}
        meta = e.get("meta") or {}
        col = meta.get("column") or kw.get("column") or ",".join(kw.get("column_list", []))
        rules.append(Rule(str(e["id"]), e["type"], kw, meta["rule"], meta["severity"], col,
                          meta.get("message_zh", meta["rule"]), meta.get("message_en", meta["rule"])))
    return tuple(rules), dict((suite.get("meta") or {}).get("derived_columns") or {})


def _as_gx_reads(key: str, value: Any) -> Any:
    """A bound as GX's expectation model parses it: an ISO date string is a date."""
    if key in ("min_value", "max_value") and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return value


def gx_suite_rules(kind: str) -> tuple[tuple[Rule, ...], dict]:
    """suite_rules as Great Expectations reads the suite (the reference suite_rules is checked against)."""
    suite = load_suite(kind)
    rules = []
    for e in suite.expectations:
        cfg = e.configuration
        kw = {k: v for k, v in cfg.kwargs.items() if k not in ("result_format", "catch_exceptions", "meta")}
        meta = cfg.meta or {}
        col = meta.get("column") or kw.get("column") or ",".join(kw.get("column_list", []))
        rules.append(Rule(str(e.id), cfg.type, kw, meta["rule"], meta["severity"], col,
                          meta.get("message_zh", meta["rule"]), meta.get("message_en", meta["rule"])))
    return tuple(rules), dict((suite.meta or {}).get("derived_columns") or {})


# ---------------------------------------------------------------- derived columns

_CHAR_TABLE = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else 255 for b in range(256))
_NOT_IN_ALPHABET = 1024     # a pair table's entry for a pair with a character outside the alphabet


def _pair_tables() -> np.ndarray:
    """Per pair of characters (2j, 2j+1) of a code, read as one little-endian uint16: their weighted alphabet
    indices mod 31, and for the last pair (characters 17 and 18) character 17's plus the check character's —
    so a code is right when the nine entries add up to a multiple of 31 below _NOT_IN_ALPHABET (9 × 30 < 1024)."""
    index = np.frombuffer(_CHAR_TABLE, dtype=np.uint8).astype(np.int64)
    pair = np.arange(1 << 16)
    first, second = index[pair & 0xFF], index[pair >> 8]
    weights = [*WEIGHTS, 1]     # the check character counts once: Σ + check ≡ 0 (mod 31)
    return np.stack([np.where((first == 255) | (second == 255), _NOT_IN_ALPHABET,
                              (weights[2 * j] * first + weights[2 * j + 1] * second) % 31)
                     for j in range(9)]).astype(np.uint16)


_PAIR_TABLES = _pair_tables()


def uscc_ok(codes: pl.Series) -> pl.Series:
    """GB 32100-2015 check character for every code, vectorised in numpy (null stays null).

    Codes of 18 ASCII bytes are laid side by side in one arrow buffer, read in place as an (n, 9) matrix of
    character pairs: nine lookups in _PAIR_TABLES and a sum per code (half the CPU of translating the bytes to
    alphabet indices and a float32 weighted sum: a nation procurement file's 2.8 M supplier codes 300 → 156 ms);
    anything else is invalid.
    """
    out = np.zeros(len(codes), dtype=bool)
    is18 = (codes.str.len_bytes() == 18).fill_null(False).to_numpy()
    cand = codes.filter(pl.Series(is18)).to_arrow()
    if len(cand):
        if isinstance(cand, pa.ChunkedArray):
            cand = cand.combine_chunks()
        offsets = np.frombuffer(cand.buffers()[1], dtype=np.int64 if pa.types.is_large_string(cand.type)
                                else np.int32)[cand.offset: cand.offset + len(cand) + 1]
        pairs = np.frombuffer(cand.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].view("<u2").reshape(-1, 9)
        total = _PAIR_TABLES[0][pairs[:, 0]]
        for j in range(1, 9):
            total += _PAIR_TABLES[j][pairs[:, j]]
        out[is18] = (total % 31 == 0) & (total < _NOT_IN_ALPHABET)
    return pl.select(pl.when(codes.is_null()).then(None).otherwise(pl.Series(out))).to_series()


class CheckCannotRun(RuntimeError):
    """A registry or history rule cannot run because the table it reads is missing: the file fails with this
    message (never a rule quietly not checked)."""


def _table_missing(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` (schema.name) is absent from the warehouse the checks read (a table, or a view of the
    night's reference snapshot, flows.support.staging)."""
    schema, _, name = table.partition(".")
    return not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = $s AND table_name = $t",
                           {"s": schema, "t": name}).fetchone()[0]


@contextmanager
def _reading(con: duckdb.DuckDBPyConnection, table: str, needed_by: str) -> Iterator[None]:
    """Raise CheckCannotRun when a read of `table` inside fails because the table is missing.

    The read itself finds out (a catalog error, confirmed against the catalog), not a catalog query before every
    read: that query cost ≈ 1.1 ms, paid per history measure and registry rule of every file.
    """
    try:
        yield
    except duckdb.CatalogException:
        if _table_missing(con, table):
            raise CheckCannotRun(f"{table} is missing from the warehouse, so {needed_by} cannot run; a warehouse "
                                 "written by an older release is upgraded by the next night") from None
        raise


class RegistryKeys:
    """The distinct keys of registry tables, read once per night from the building warehouse at `path`.

    Every fact file of a night checks the same registries: until a file of a kind writing a table is loaded
    (`forget_registry_keys`, called by the load), its keys cannot change. Only connections to the warehouse
    file itself use them: a reference snapshot (in memory, flows.support.staging) reads its own tables.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.keys: dict[tuple[str, str], pl.Series] = {}


_REGISTRY: RegistryKeys | None = None    # the night's, while registry_keys_once's block runs


@contextmanager
def registry_keys_once(con: duckdb.DuckDBPyConnection) -> Iterator[RegistryKeys]:
    """Within the block, the registry keys of the warehouse file `con` is connected to are read once and kept
    until the load of a file writing their table forgets them. (A block left unclosed by an earlier night
    that died is replaced: its keys belong to another warehouse or another night.)"""
    global _REGISTRY
    path = _database_path(con)
    if path is None:
        raise ValueError("registry_keys_once needs a connection to a warehouse file")
    mine = _REGISTRY = RegistryKeys(path)
    try:
        yield mine
    finally:
        if _REGISTRY is mine:
            _REGISTRY = None


def forget_registry_keys(tables: frozenset[str]) -> None:
    """A file writing `tables` has been loaded (or failed to load): their keys are read again when next asked."""
    if _REGISTRY is not None:
        _REGISTRY.keys = {k: v for k, v in _REGISTRY.keys.items() if k[0] not in tables}


def _database_path(con: duckdb.DuckDBPyConnection) -> str | None:
    return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]


def _registry_keys(con: duckdb.DuckDBPyConnection, table: str, key: str) -> pl.Series:
    cached = _REGISTRY if _REGISTRY is not None and _database_path(con) == _REGISTRY.path else None
    if cached is not None and (table, key) in cached.keys:
        return cached.keys[(table, key)]
    with _reading(con, table, f"the registry check on {table}.{key}"):
        keys = con.sql(f"SELECT DISTINCT {identifier(key)} AS k FROM {identifier(table)}").pl()["k"]
    if cached is not None:
        cached.keys[(table, key)] = keys
    return keys


def _history_medians(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, specs: list[dict]
                     ) -> dict[tuple[str, int], pl.DataFrame]:
    """Per table and window (months) of the history_ratio specs: each firm's recent level of the measures the
    specs check there, one row per firm of the file with history and one struct column {recent_median, months}
    per measure (the caller applies each spec's min_months).

    The measures a table is read for with the same window come from one query: on a table of at most
    HISTORY_ONE_READ_ROWS rows validation_history_one_read.sql; on a larger one validation_history.sql, or
    while the table holds no more distinct periods than the window validation_history_whole.sql (or, for a file
    naming HISTORY_ALL_FIRMS_SHARE of the table's firms, validation_history_whole_all_firms.sql), and none while
    it holds fewer than min_months (no row: no firm can qualify). The same answer from each.
    """
    if not specs:
        return {}
    firms = frame.select(pl.col("uscc").drop_nulls().unique())
    groups: dict[tuple[str, int], list[dict]] = {}
    for spec in specs:
        groups.setdefault((spec["table"], _window(spec)), []).append(spec)
    out: dict[tuple[str, int], pl.DataFrame] = {}
    con.register("_validate_firms", firms.to_arrow())
    try:
        for (table, months), group in groups.items():
            measures = sorted({spec["column"] for spec in group})
            ids = {"table": table, "columns": measures}
            with _reading(con, table, f"the history check (unit_suspect) on {', '.join(measures)}"):
                rows = run_sql(con, "validation_history_rows", None, {"table": table}).fetchone()[0]
            if rows <= settings.HISTORY_ONE_READ_ROWS:
                out[(table, months)] = run_sql(con, "validation_history_one_read", {"months": months}, ids).pl()
                continue
            periods, window_start = run_sql(con, "validation_history_periods", {"months": months},
                                            {"table": table}).fetchone()
            if periods < min(_min_months(spec) for spec in group):    # no firm can qualify: the query's columns
                out[(table, months)] = pl.DataFrame(schema={"uscc": pl.String} | {m: _HISTORY_LEVEL for m in measures})
            elif periods <= months:    # every stored month is within the window: no top-n needed
                nearly_all = firms.height * periods >= settings.HISTORY_ALL_FIRMS_SHARE * rows
                out[(table, months)] = run_sql(con, "validation_history_whole_all_firms" if nearly_all
                                               else "validation_history_whole", None, ids).pl()
            else:
                out[(table, months)] = run_sql(con, "validation_history", {"months": months,
                                                                           "window_start": window_start}, ids).pl()
    finally:
        con.unregister("_validate_firms")
    return out


# A measure's column in _history_medians' answer (validation_history*.sql).
_HISTORY_LEVEL = pl.Struct({"recent_median": pl.Float64, "months": pl.Int64})


def _window(spec: dict) -> int:
    """The months of history the unit check of `spec` looks back over (its suite's months, else 12): with its table,
    the key of _history_medians' answer."""
    return int(spec.get("months", 12))


def _min_months(spec: dict) -> int:
    """The months of history a firm needs for the unit check of `spec` (its suite's min_months, else 6)."""
    return int(spec.get("min_months", 6))


OLD_ID_COLUMNS = {"monthly": "uscc", "tax": "uscc", "digital": "uscc", "procurement": "buyer_uscc"}
# 组织机构代码 (GB 11714): 8 characters and a check character, often written with a hyphen before it; the
# 15-digit 税务登记号 is the division code followed by it. Both are looked up in the registry, never trusted alone.
_ORG_CODE = re.compile(r"^[0-9A-Z]{8}-?[0-9A-Z]$")
_TAX_ID_15 = re.compile(r"^\d{6}[0-9A-Z]{9}$")


def resolve_identifiers(kind: str, frame: pl.DataFrame, file_name: str, con: duckdb.DuckDBPyConnection,
                        extra_keys: dict[str, set[str]] | None = None, headers: dict[str, str] | None = None
                        ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Fact rows identified by an old code: a 9-character 组织机构代码 (characters 9–17 of the USCC) or a
    15-digit 税务登记号 (the registry's old_tax_id, or division code + organisation code) load under the one
    registered firm it names, with an `old_identifier` warning; no firm gives `unknown_firm`, two firms
    `ambiguous_identifier` (both critical). Returns (frame, issues, warnings)."""
    empty = pl.DataFrame(schema=ISSUE_SCHEMA)
    column = OLD_ID_COLUMNS.get(kind)
    if column is None or column not in frame.columns:
        return frame, empty, empty
    codes = frame[column]
    old = codes.filter(codes.str.len_chars().is_in([9, 10, 15])).unique().drop_nulls().to_list()
    old = [c for c in old if _ORG_CODE.match(c) or _TAX_ID_15.match(c)]
    if not old:
        return frame, empty, empty
    usccs = _registry_keys(con, "core.firms", "uscc").cast(pl.Utf8).to_list()
    usccs += sorted((extra_keys or {}).get("core.firms", set()))
    by_org: dict[str, set[str]] = {}
    for u in usccs:
        if u and len(u) == 18:
            by_org.setdefault(u[8:17], set()).add(u)
    by_tax: dict[str, set[str]] = {}
    for u, ident in run_sql(con, "firm_tax_identifiers").fetchall():
        by_tax.setdefault(ident, set()).add(u)
    mapped: dict[str, str] = {}
    verdict: dict[str, str] = {}
    for code in old:
        org = code.replace("-", "") if len(code) in (9, 10) else code[6:]
        found = by_tax.get(code, set()) | by_org.get(org, set())
        if len(found) == 1:
            mapped[code] = next(iter(found))
        verdict[code] = "old_identifier" if len(found) == 1 else (
            "unknown_firm" if not found else "ambiguous_identifier")
    rows = frame.select("_row", pl.col(column).alias("value")).filter(pl.col("value").is_in(old))
    rows = rows.with_columns(pl.col("value").replace_strict(verdict, return_dtype=pl.Utf8).alias("rule"),
                             pl.col("value").replace_strict(mapped, default=None, return_dtype=pl.Utf8)
                             .alias("uscc_found"))
    label = {"old_identifier": ("旧代码（组织机构代码/税务登记号）已按企业名录对应到统一社会信用代码",
                                "old identifier (organisation code / tax registration number) matched to the "
                                "registered firm's USCC"),
             "unknown_firm": ("旧代码（组织机构代码/税务登记号）在企业名录中找不到对应企业",
                              "old identifier (organisation code / tax registration number) matches no "
                              "registered firm"),
             "ambiguous_identifier": ("旧代码对应名录中的多家企业，无法确定", "old identifier matches several "
                                      "registered firms")}
    header = (headers or {}).get(column, column)

    def message(lang: int, row: str, mid: str, colon: str, brackets: tuple[str, str]) -> pl.Expr:
        found = pl.concat_str([pl.lit(brackets[0]), pl.col("uscc_found"), pl.lit(brackets[1])])
        return pl.concat_str([pl.lit(file_name + row), pl.col("_row").cast(pl.Utf8), pl.lit(f"{mid}{header}="),
                              pl.col("value"), pl.lit(colon),
                              pl.col("rule").replace_strict({k: v[lang] for k, v in label.items()}),
                              pl.when(pl.col("uscc_found").is_not_null()).then(found).otherwise(pl.lit("")),
                              pl.lit(" ["), pl.col("rule"), pl.lit("]")])

    messages = rows.select(
        "_row", pl.lit(column).alias("column_name"), "value", "rule",
        pl.when(pl.col("rule") == "old_identifier").then(pl.lit("warning")).otherwise(pl.lit("critical"))
        .alias("severity"),
        message(0, " 第", "行 ", "：", ("（", "）")).alias("message"),
        message(1, " row ", ", ", ": ", (" (", ")")).alias("message_en"),
    ).cast(ISSUE_SCHEMA)
    if mapped:
        frame = frame.with_columns(pl.col(column).replace(mapped))
    return (frame, messages.filter(pl.col("severity") == "critical"),
            messages.filter(pl.col("severity") == "warning"))


IN_FILE_MIN_MONTHS = 3  # months of a firm in one file that let the file's own median judge a unit slip


def _file_medians(rows: pl.DataFrame, column: str) -> pl.DataFrame:
    """Each firm's median monthly level of a measure within this file, for firms without enough history (`rows`:
    the file's rows of those firms).

    A first-ever file cannot be compared with the warehouse; a firm's other months in the same file can
    (one month in 元 under a 万元 header is ≈10⁴× the file's median of that firm). Year-to-date values are
    spread over their months so a 累计 file compares like with like.
    """
    if "period" not in rows.columns:
        return pl.DataFrame(schema={"uscc": pl.Utf8, "recent_median": pl.Float64})
    months = pl.when(pl.col("basis") == "ytd").then(pl.col("period").dt.month()).otherwise(1) \
        if "basis" in rows.columns else pl.lit(1)
    return (rows.filter(pl.col(column) > 0)
            .group_by("uscc").agg((pl.col(column) / months).median().alias("recent_median"),
                                  pl.len().alias("n"))
            .filter(pl.col("n") >= IN_FILE_MIN_MONTHS).select("uscc", "recent_median"))


def _recent_levels(frame: pl.DataFrame, levels: pl.Series, column: str, min_months: int) -> pl.Series:
    """Per row of `frame`, the recent level of `column` its unit check compares with: its firm's median over the
    stored months (`levels`: the firm's {recent_median, months} in _history_medians' answer, aligned with the rows)
    where the firm has min_months of them, else its median within this file (_file_medians), else null."""
    stored = levels.struct.field("recent_median")
    known = levels.struct.field("months") >= min_months      # null: the firm has no history
    without = frame.select(c for c in ("uscc", column, "period", "basis") if c in frame.columns).filter(
        ~known.fill_null(False) & pl.col("uscc").is_not_null())
    in_file = _file_medians(without, column)
    if in_file.is_empty():       # the usual night: every firm has its history
        return pl.select(pl.when(known).then(stored)).to_series()
    own = frame.select("uscc").join(in_file, on="uscc", how="left", maintain_order="left")["recent_median"]
    return pl.select(pl.when(known).then(stored).otherwise(own)).to_series()


@dataclass(frozen=True)
class Distinct:
    """A column's values to check once each — its distinct values, or one per run of equal neighbours (a value
    may then appear in several runs) — and, for every row, the position of the row's value among them."""

    values: pl.Series
    index: pl.Series    # UInt32, one per row

    def spread(self, per_value: pl.Series) -> pl.Series:
        """Per-value results (aligned with values) as per-row results."""
        return per_value.gather(self.index)


def distinct(s: pl.Series) -> Distinct | None:
    """s's distinct values, or None when a column has too many of them for per-value checks to pay.

    Files exported grouped by firm repeat each code in runs: runs of equal neighbours are exact and
    cheaper to find than hashes (tried when the first RUN_PROBE rows show such runs). Otherwise values
    are grouped by their 64-bit hash, after a HyperLogLog estimate of their number says grouping can pay;
    every row is then compared with the value of its group, so a hash collision never merges two values
    (None).
    """
    probe = s.head(RUN_PROBE)
    if len(probe.rle()) <= len(probe) * RUN_SHARE:
        runs = s.rle()
        if len(runs) <= len(s) * RUN_SHARE:
            lengths = runs.struct.field("len").to_numpy()
            index = np.repeat(np.arange(len(runs), dtype=np.uint32), lengths)
            return Distinct(runs.struct.field("value"), pl.Series(index))
    hashes = s.hash()
    if hashes.approx_n_unique() > len(s) * DISTINCT_SHARE * 1.1:   # HLL error is ≈1 %
        return None
    first = hashes.arg_unique()
    if len(first) > len(s) * DISTINCT_SHARE:
        return None
    index = hashes.replace_strict(hashes.gather(first), pl.int_range(len(first), dtype=pl.UInt32, eager=True))
    values = s.gather(first)
    return Distinct(values, index) if values.gather(index).eq_missing(s).all() else None


def per_value(s: pl.Series, enc: Distinct | None, check: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """check(s), computed once per distinct value when s is encoded."""
    return check(s) if enc is None else enc.spread(check(enc.values))


def _encode(frame: pl.DataFrame, rules: tuple[Rule, ...], derived: dict) -> dict[str, Distinct]:
    """Distinct values of the string columns that carry per-value work (regex, check character, registry)."""
    wanted = {spec["column"] for spec in derived.values() if spec["fn"] in ("uscc_check", "in_registry")}
    wanted |= {r.kwargs["column"] for r in rules if r.type == "expect_column_values_to_match_regex"}
    out = {}
    for c in sorted(wanted):
        if c in frame.columns and frame.schema[c] == pl.Utf8 and (enc := distinct(frame[c])) is not None:
            out[c] = enc
    return out


def derive(frame: pl.DataFrame, derived: dict, con: duckdb.DuckDBPyConnection,
           extra_keys: dict[str, set[str]] | None = None,
           encoded: dict[str, Distinct] | None = None) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    """Add the suite's derived columns; returns the frame and, per derived column that could not be computed,
    (column, why in Chinese, why in English): the rules reading it are reported as not checked.

    Per-value derivations (check character, registry membership) of an encoded column run once per
    distinct value.
    """
    encoded = encoded or {}
    notes: list[tuple[str, str, str]] = []
    cols: list[pl.Series] = []
    history = _history_medians(con, frame, [spec for spec in derived.values()
                                            if spec["fn"] == "history_ratio" and spec["column"] in frame.columns])
    # the file's rows with their firm's history, per table and window: one join for all of its measures
    rows_history = {key: frame.select("uscc").join(levels, on="uscc", how="left", maintain_order="left")
                    for key, levels in history.items()}
    for name, spec in derived.items():
        src = spec["column"]
        if src not in frame.columns:
            cols.append(pl.Series(name, [None] * frame.height, dtype=pl.Float64 if spec["fn"] == "history_ratio"
                                  else pl.Boolean))
            continue
        s = frame[src]
        fn = spec["fn"]
        if fn == "uscc_check":
            out = per_value(s, encoded.get(src), uscc_ok)
        elif fn == "whole_number":
            whole = (s == s.round(0)) if s.dtype.is_float() else pl.Series([True] * len(s))
            out = pl.select(pl.when(s.is_null()).then(None).otherwise(whole)).to_series()
        elif fn == "in_registry":
            keys = _registry_keys(con, spec["table"], spec["key"])
            extra = (extra_keys or {}).get(spec["table"], set())
            if extra:
                keys = pl.concat([keys.cast(pl.Utf8), pl.Series("k", sorted(extra), dtype=pl.Utf8)])
            if len(keys) == 0:
                notes.append((name, f"{spec['table']} 为空（名录尚未入库），本规则未校验",
                              f"{spec['table']} is empty (no registry loaded yet), so the rule was not checked"))
                out = pl.Series([None] * frame.height, dtype=pl.Boolean)
            else:
                keys = keys.cast(pl.Utf8).implode()
                out = per_value(s, encoded.get(src), lambda v, keys=keys: pl.select(
                    pl.when(v.is_null()).then(None).otherwise(v.is_in(keys))).to_series())
        elif fn == "history_ratio":
            levels = rows_history[(spec["table"], _window(spec))][src]
            med = _recent_levels(frame, levels, src, _min_months(spec))
            out = pl.select(pl.when((s > 0) & (med > 0)).then(s / med).otherwise(None)).to_series()
        else:
            raise ValueError(f"unknown derived column function {fn!r} for {name}")
        cols.append(out.cast(pl.Float64 if fn == "history_ratio" else pl.Boolean).alias(name))
    return (frame.with_columns(cols) if cols else frame), notes


# ---------------------------------------------------------------- the polars side of each rule

def _param(value: Any, params: dict[str, date]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return params[value["$PARAMETER"]]
    return value


def _bound(value: Any, dtype: pl.DataType) -> Any:
    if isinstance(value, str) and dtype in (pl.Date, pl.Datetime):
        return date.fromisoformat(value[:10])
    return value


def fail_expr(rule: Rule, frame: pl.DataFrame, params: dict[str, date]) -> pl.Expr | None:
    """Polars expression: True where a row fails the expectation (nulls pass, as in GX); None if table-level."""
    t, kw = rule.type, rule.kwargs
    if t in _TABLE_LEVEL:
        return None
    if t == "expect_compound_columns_to_be_unique":
        cols = kw["column_list"]
        if any(c not in frame.columns for c in cols):
            return None
        return pl.struct(cols).is_duplicated() & ~pl.all_horizontal([pl.col(c).is_null() for c in cols])
    c = kw["column"]
    if c not in frame.columns:
        return None
    col, dtype = pl.col(c), frame.schema[c]
    if t == "expect_column_values_to_not_be_null":
        return col.is_null()
    if t == "expect_column_values_to_be_unique":
        return col.is_not_null() & col.is_duplicated()
    if t == "expect_column_values_to_match_regex":
        return col.is_not_null() & ~col.cast(pl.Utf8).str.contains(kw["regex"])
    if t == "expect_column_values_to_be_in_set":
        return col.is_not_null() & ~col.is_in(pl.Series(kw["value_set"]).cast(dtype, strict=False).implode())
    if t == "expect_column_values_to_be_between":
        lo = _bound(_param(kw.get("min_value"), params), dtype)
        hi = _bound(_param(kw.get("max_value"), params), dtype)
        bad = pl.lit(False)
        if lo is not None:
            bad = bad | ((col <= lo) if kw.get("strict_min") else (col < lo))
        if hi is not None:
            bad = bad | ((col >= hi) if kw.get("strict_max") else (col > hi))
        return col.is_not_null() & bad
    raise ValueError(f"expectation type {t} has no polars evaluation; add it to fail_expr")


# ---------------------------------------------------------------- GX side

@cache
def _gx_runner(kind: str) -> Any:
    """An ephemeral GX context with a pandas datasource and a validation definition for the kind's suite."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = _scoped_suite_dict(kind)
    suite = ctx.suites.add(gx.ExpectationSuite(**source))
    # adding to a context may re-key expectations; map back to the ids in the suite file (same order)
    ids = {str(e.id): str(src["id"]) for e, src in zip(suite.expectations, source["expectations"], strict=True)}
    asset = ctx.data_sources.add_pandas("clusterwatch").add_dataframe_asset(kind)
    batch = asset.add_batch_definition_whole_dataframe("file")
    return ctx.validation_definitions.add(gx.ValidationDefinition(name=kind, data=batch, suite=suite)), ids


def _suite_dict(kind: str) -> dict:
    d = load_suite(kind).to_json_dict()
    d.pop("notes", None)
    return d


def _scoped_suite_dict(kind: str) -> dict:
    """The suite as GX runs it on a batch that may hold several files: uniqueness stays per file.

    A night's GX batch holds rows of every file of the kind, so a key repeated in two files (a revision)
    must not count as a duplicate, exactly as the per-file polars verdict has it. Compound keys get the
    file tag `_gx_file` as one more column (null where the whole key is null, so GX still skips rows whose
    key is all missing); a single-column key is checked on `_gx_key__<col>`, the file tag joined to the
    value (null where the value is null). Everything else is the suite file as it is.
    """
    d = _suite_dict(kind)
    for e in d["expectations"]:
        kw = e["kwargs"]
        if e["type"] == "expect_compound_columns_to_be_unique":
            kw["column_list"] = [*kw["column_list"], "_gx_file"]
        elif e["type"] == "expect_column_values_to_be_unique":
            kw["column"] = f"_gx_key__{kw['column']}"
    return d


def _scope_columns(rules: tuple[Rule, ...], batch: pl.DataFrame) -> pl.DataFrame:
    """Add the per-file uniqueness columns _scoped_suite_dict refers to; batch carries the file tag _gx_seq."""
    tag = pl.col("_gx_seq").cast(pl.Utf8)
    cols = []
    for r in rules:
        if r.type == "expect_compound_columns_to_be_unique":
            present = [c for c in r.kwargs["column_list"] if c in batch.columns]
            key_seen = pl.any_horizontal([pl.col(c).is_not_null() for c in present]) if present else pl.lit(False)
            cols.append(pl.when(key_seen).then(tag).otherwise(None).alias("_gx_file"))
        elif r.type == "expect_column_values_to_be_unique" and r.kwargs["column"] in batch.columns:
            c = r.kwargs["column"]
            cols.append(pl.when(pl.col(c).is_not_null())
                        .then(pl.concat_str([tag, pl.lit("\x1f"), pl.col(c).cast(pl.Utf8)]))
                        .otherwise(None).alias(f"_gx_key__{c}"))
    return batch.with_columns(cols) if cols else batch


def _to_pandas(frame: pl.DataFrame, index: str = "_row") -> Any:
    """The pandas copy GX reads, in dtypes that keep GX on its vectorised paths.

    Strings become pandas StringDtype (GX's type check is then one dtype check, not a per-value
    isinstance), dates datetime64[ns], integers float64 (nullable), the index is `index` (_row).
    """
    import pandas as pd
    import pyarrow as pa

    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            casts.append(pl.col(name).clip(date(1700, 1, 1), date(2200, 1, 1)).cast(pl.Datetime("ns")))
        elif dtype.is_integer() and name not in ("_row", index):
            casts.append(pl.col(name).cast(pl.Float64))
    strings = {pa.string(): pd.StringDtype("python"), pa.large_string(): pd.StringDtype("python")}
    pdf = frame.with_columns(casts).to_arrow().to_pandas(types_mapper=strings.get)
    pdf.index = pdf[index].to_numpy()
    return pdf


def _gx_params(params: dict[str, date]) -> dict:
    import pandas as pd

    return {k: pd.Timestamp(v) for k, v in params.items()}


# _pandas_dtypes' answers by the columns' polars dtypes and whether each holds a null: the pandas dtype
# _to_pandas gives a column depends on nothing else, and most files of a kind share one of a few such signatures.
_DTYPES_SEEN: dict[tuple[tuple[str, pl.DataType, bool], ...], dict[str, Any]] = {}


def _pandas_dtypes(work: pl.DataFrame, columns: list[str]) -> dict[str, Any]:
    """The pandas dtype _to_pandas gives each column, from one probe of a few rows: the first row and each
    column's first null row (a null can make a column object). One conversion per file, not one per type rule,
    and none for a file whose columns' dtypes and nulls were seen before (≈ 1 ms a file; _DTYPES_SEEN)."""
    columns = [c for c in dict.fromkeys(columns) if c in work.columns]
    if not columns:
        return {}
    cols = work.select(columns)
    signature = tuple(zip(columns, cols.dtypes, (n > 0 for n in cols.null_count().row(0)), strict=True))
    seen = _DTYPES_SEEN.get(signature)
    if seen is None:
        probe = pl.concat([cols.head(1), *(cols.filter(pl.col(c).is_null()).head(1) for c in columns)])
        pdf = _to_pandas(probe.with_row_index("_row"))
        seen = _DTYPES_SEEN[signature] = {c: pdf[c].dtype for c in columns}
    return dict(seen)


def _type_ok(rule: Rule, work: pl.DataFrame, dtypes: dict[str, Any]) -> bool:
    """expect_column_values_to_be_in_type_list for one file, judged on the pandas dtype GX would see.

    The dtype is the one _to_pandas gives the column (`dtypes`, from _pandas_dtypes); it passes when it is one
    of the listed types (a numpy dtype name or a pandas dtype class), and an object column passes when every
    value is an instance of a listed type, as GX's pandas engine reads type names. GX itself re-checks the
    verdict every night (agreement()).
    """
    c, types = rule.kwargs["column"], rule.kwargs.get("type_list")
    if c not in work.columns:
        return False
    if types is None:
        return True
    col = work.select(c)
    dtype = dtypes[c]
    accepted = [_type_name(t) for t in types]
    if dtype.type.__name__ != "object_":
        return any(dtype == d or (isinstance(d, type) and isinstance(dtype, d)) for ds, _ in accepted for d in ds)
    scalars = tuple(t for _, ts in accepted for t in ts)
    values = _to_pandas(col.drop_nulls().unique().with_row_index("_row"))[c]
    return bool(values.map(lambda x: isinstance(x, scalars)).all())


def _type_name(name: str) -> tuple[list[Any], tuple[type, ...]]:
    """The pandas dtypes and the value types a type name of a suite stands for: a numpy dtype name (float64,
    datetime64[ns], object), a pandas dtype class (StringDtype), a Python type (str, bool, int, float)."""
    import pandas as pd

    native = {"bool": (bool,), "str": (str,), "int": (int,), "float": (float,)}.get(name.lower(), ())
    try:
        dt = np.dtype(name)
        return [dt], (dt.type, *native)
    except TypeError:
        cls = getattr(pd, name, None)
        return ([cls], (cls, *native)) if isinstance(cls, type) else ([], native)


@dataclass
class GxCounts:
    """What one GX run found, per expectation id: totals, and per file tag (evaluated, unexpected)."""

    stats: dict[str, tuple[int, int, bool]]
    per_file: dict[str, tuple[np.ndarray, np.ndarray]]
    counted: set[str]            # expectations whose result carries element/unexpected counts (map rules)
    unexpected: dict[str, list[np.ndarray]] = field(default_factory=dict)   # batch positions GX failed, per chunk
    errors: dict[str, str] = field(default_factory=dict)   # expectations GX could not evaluate: its exception


def run_gx(kind: str, frame: pl.DataFrame, params: dict[str, date],
           files: np.ndarray | None = None, n_files: int = 1) -> tuple[dict, GxCounts]:
    """Run the suite with GX over frame in chunks; merged result dict and what GX counted.

    frame's pandas index is `_gx_pos` (0..n-1) when present, else _row; files gives the file tag of each
    position, and GX's unexpected_index_list is mapped back through it to counts per file.
    """
    vd, ids = _gx_runner(kind)
    if files is None:
        files = np.zeros(frame.height, dtype=np.int64)
    if "_gx_pos" not in frame.columns:
        frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_gx_pos"))
    merged: dict | None = None
    stats: dict[str, tuple[int, int, bool]] = {}
    per_file: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    counted: set[str] = set()
    unexpected: dict[str, list[np.ndarray]] = {}
    errors: dict[str, str] = {}
    fmt = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
    for start in range(0, max(frame.height, 1), GX_CHUNK):
        chunk = frame.slice(start, GX_CHUNK)
        in_chunk = np.bincount(files[start: start + chunk.height], minlength=n_files)
        res = vd.run(batch_parameters={"dataframe": _to_pandas(chunk, index="_gx_pos")},
                     expectation_parameters=_gx_params(params), result_format=fmt)
        d = res.to_json_dict()
        for er in d["results"]:
            eid = ids.get(str(er["expectation_config"]["id"]), str(er["expectation_config"]["id"]))
            er["expectation_config"]["id"] = eid
            r = er.get("result") or {}
            n0, f0, ok0 = stats.get(eid, (0, 0, True))
            stats[eid] = (n0 + int(r.get("element_count") or 0), f0 + int(r.get("unexpected_count") or 0),
                          ok0 and bool(er["success"]))
            ev, bad = per_file.get(eid, (np.zeros(n_files, np.int64), np.zeros(n_files, np.int64)))
            if "element_count" in r:
                ev = ev + in_chunk
            if "unexpected_count" in r:
                counted.add(eid)
                pos = np.asarray(r.get("unexpected_index_list") or [], dtype=np.int64)
                if len(pos) != int(r.get("unexpected_count") or 0):
                    raise RuntimeError(f"GX {er['expectation_config']['type']}: {len(pos)} unexpected indices "
                                       f"for {r.get('unexpected_count')} unexpected rows")
                bad = bad + np.bincount(files[pos], minlength=n_files)
                unexpected.setdefault(eid, []).append(pos)
            if (raised := _raised(er.get("exception_info"))) is not None:
                errors[eid] = raised
            per_file[eid] = (ev, bad)
            for k in ("unexpected_list", "unexpected_index_list", "unexpected_index_query"):
                r.pop(k, None)        # full lists: counted above, too big for the spooled Data Docs result
        merged = d if merged is None else _merge_result(merged, d)
    assert merged is not None
    return merged, GxCounts(stats, per_file, counted, unexpected, errors)


def _raised(info: dict | None) -> str | None:
    """The message of an exception GX caught while evaluating an expectation (flat, or keyed by metric)."""
    infos = [info] if info and "raised_exception" in info else list((info or {}).values())
    for i in infos:
        if isinstance(i, dict) and i.get("raised_exception"):
            return str(i.get("exception_message") or "exception")[:300]
    return None


def _merge_result(a: dict, b: dict) -> dict:
    """Add chunk b's counts into chunk a's GX result (for Data Docs of the whole file)."""
    by_id = {str(er["expectation_config"]["id"]): er for er in b["results"]}
    for er in a["results"]:
        other = by_id.get(str(er["expectation_config"]["id"]))
        if other is None:
            continue
        er["success"] = er["success"] and other["success"]
        ra, rb = er.get("result") or {}, other.get("result") or {}
        for k in ("element_count", "unexpected_count", "missing_count"):
            if k in ra or k in rb:
                ra[k] = int(ra.get(k) or 0) + int(rb.get(k) or 0)
        if ra.get("element_count"):
            ra["unexpected_percent"] = 100.0 * ra.get("unexpected_count", 0) / ra["element_count"]
        pl_a = ra.get("partial_unexpected_list")
        if isinstance(pl_a, list):
            ra["partial_unexpected_list"] = (pl_a + list(rb.get("partial_unexpected_list") or []))[:20]
        er["result"] = ra
    a["success"] = all(er["success"] for er in a["results"])
    st = a.get("statistics") or {}
    st["successful_expectations"] = sum(1 for er in a["results"] if er["success"])
    st["unsuccessful_expectations"] = len(a["results"]) - st["successful_expectations"]
    st["success_percent"] = 100.0 * st["successful_expectations"] / max(len(a["results"]), 1)
    a["statistics"] = st
    return a


# ---------------------------------------------------------------- messages

def _factor_text(exp: int) -> tuple[str, str]:
    """10^exp written for the zh and en messages: 10000 / 10,000, 0.0001."""
    f = 10.0 ** exp
    return (f"{int(f)}", f"{int(f):,}") if exp >= 0 else (f"{f:g}", f"{f:g}")


def _messages(kind: str, file_name: str, rule: Rule, rows: pl.DataFrame,
              headers: dict[str, str] | None = None) -> pl.DataFrame:
    """ISSUE_SCHEMA rows for rows failing rule (vectorised); rows has _row, _value and maybe _ratio."""
    col = rule.column or ""
    kdef = KINDS.get(kind)
    zh_col = next((c.zh for c in kdef.columns if c.name == col), col) if kdef else col
    zh_col = (headers or {}).get(col, zh_col)
    zh, en = pl.lit(rule.message_zh), pl.lit(rule.message_en)
    if "{factor}" in rule.message_zh and "_ratio" in rows.columns:
        rows = rows.with_columns(pl.col("_ratio").log10().round(0).cast(pl.Int64).alias("_exp"))
        exps = [e for e in rows["_exp"].unique().to_list() if e is not None]
        zh_map = {e: rule.message_zh.replace("{factor}", _factor_text(e)[0]) for e in exps}
        en_map = {e: rule.message_en.replace("{factor}", _factor_text(e)[1]) for e in exps}
        zh = pl.col("_exp").replace_strict(zh_map, default=rule.message_zh, return_dtype=pl.Utf8)
        en = pl.col("_exp").replace_strict(en_map, default=rule.message_en, return_dtype=pl.Utf8)
    row = pl.col("_row").cast(pl.Utf8)
    return rows.select(
        pl.col("_row").cast(pl.Int64),
        pl.lit(col, pl.Utf8).alias("column_name"),
        pl.col("_value").cast(pl.Utf8).alias("value"),
        pl.lit(rule.rule, pl.Utf8).alias("rule"),
        pl.lit(rule.severity, pl.Utf8).alias("severity"),
        pl.concat_str([pl.lit(f"{file_name} 第"), row, pl.lit(f"行 {zh_col}="),
                       pl.col("_value").cast(pl.Utf8).fill_null("（空）"), pl.lit("："), zh,
                       pl.lit(f" [{rule.rule}]")]).alias("message"),
        pl.concat_str([pl.lit(f"{file_name} row "), row, pl.lit(f", {col}="),
                       pl.col("_value").cast(pl.Utf8).fill_null("(empty)"), pl.lit(": "), en,
                       pl.lit(f" [{rule.rule}]")]).alias("message_en"),
    )


def _value_expr(rule: Rule, frame: pl.DataFrame) -> pl.Expr:
    cols = [c for c in (rule.column or "").split(",") if c in frame.columns]
    if not cols:
        return pl.lit(None, pl.Utf8)
    if len(cols) == 1:
        return pl.col(cols[0]).cast(pl.Utf8)
    return pl.concat_str([pl.col(c).cast(pl.Utf8) for c in cols], separator="|", ignore_nulls=True)


# ---------------------------------------------------------------- validate

def window_params(today: date | None = None) -> dict[str, date]:
    """Suite parameters: the plausible window for periods (2000-01 to this month) and dates (to today).

    Date bounds are parameters, never literals in a suite: GX compares a literal '1900-01-01' as a date with
    its Timestamp column and cannot evaluate the rule (the nightly engine comparison found that)."""
    today = today or date.today()
    return {"min_date": MIN_DATE, "min_established": MIN_ESTABLISHED, "this_month": today.replace(day=1),
            "today": today}


def validate(kind: str, frame: pl.DataFrame, file_name: str, con: duckdb.DuckDBPyConnection, *,
             today: date | None = None, gx_rows: int | None = None,
             extra_keys: dict[str, set[str]] | None = None, where: str | None = None,
             headers: dict[str, str] | None = None) -> Validated:
    """Run kind's suite on a standardised frame: critical failures → issues, warnings → flags on loaded rows.

    GX runs on this file alone (one GX run per call); a night validates through ValidationSession, which
    runs GX once per kind. extra_keys adds registry keys not yet in con (clusterwatch check validates a
    firms file and the facts that use it together); gx_rows overrides GX_ROWS.
    """
    v = _verdicts(kind, frame, file_name, con, today=today, gx_rows=gx_rows, extra_keys=extra_keys,
                  where=where, headers=headers)
    t = time.perf_counter()
    inp = v.gx_input
    assert inp is not None
    [v.gx_result], disagreements = _gx_check(kind, [inp], window_params(today),
                                             GX_ROWS if gx_rows is None else gx_rows)
    v.results, v.gx_input = inp.results, None
    v.problems += disagreements
    v.timings["gx"] = time.perf_counter() - t
    return v


def _verdicts(kind: str, frame: pl.DataFrame, file_name: str, con: duckdb.DuckDBPyConnection, *,
              today: date | None = None, gx_rows: int | None = None,
              extra_keys: dict[str, set[str]] | None = None, where: str | None = None,
              headers: dict[str, str] | None = None) -> Validated:
    """The polars half of validate: every verdict, and the file's GX rows (gx_evaluated/gx_failed still null).

    Messages name the file as `where` (file and sheet) and each column by its header as written (`headers`,
    canonical → source header) when given.
    """
    clock = [time.perf_counter()]
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        clock.append(time.perf_counter())
        timings[step] = clock[-1] - clock[-2]

    rules, derived = suite_rules(kind)
    params = window_params(today)
    if "_row" not in frame.columns:
        frame = frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
    frame, id_issues, id_warnings = resolve_identifiers(kind, frame, where or file_name, con, extra_keys, headers)
    base = frame.with_columns(pl.col(c).fill_nan(None) for c, t in frame.schema.items() if t.is_float())
    encoded = _encode(base, rules, derived)
    lap("encode")
    work, notes = derive(base, derived, con, extra_keys, encoded)
    problems = [problem(file_name, kind, r, "not_checked", detail_zh=zh, detail_en=en)
                for name, zh, en in notes for r in rules if r.kwargs.get("column") == name]
    lap("derive")

    # 1. every rule on every row (polars); table-level rules (column exists, dtype; any rule whose
    #    column is missing) are judged once for the file
    exprs = {r.id: fail_expr(r, work, params) for r in rules}
    row_rules = [r for r in rules if exprs[r.id] is not None]
    masks = _masks(row_rules, exprs, work, encoded) if row_rules else pl.DataFrame()
    any_fail = masks.select(pl.any_horizontal(pl.all())).to_series() if row_rules \
        else pl.Series([False] * work.height, dtype=pl.Boolean)
    table_rules = [r for r in rules if exprs[r.id] is None]
    dtypes = _pandas_dtypes(work, [r.kwargs["column"] for r in table_rules if r.kwargs.get("type_list")
                                   and r.type == "expect_column_values_to_be_in_type_list"])
    table_ok = {r.id: _table_ok(r, work, dtypes) for r in table_rules}
    lap("rules")

    # 2. the file's GX rows: all of them, or every flagged row plus a systematic sample
    limit = GX_ROWS if gx_rows is None else gx_rows
    gx_cols = [c for c in work.columns if c not in ("_flags",)]
    fail_bit = {r.id: k for k, r in enumerate(row_rules)}
    sampled = work.height > limit
    gx_work, gx_masks, gx_flagged = work, masks, any_fail
    if sampled:    # the sample first: the rules' bits of its rows only (a nation procurement file: 100 k of 4.1 M)
        sel = any_fail.to_numpy().copy()
        sel[::max(work.height // max(limit, 1), 1)] = True
        keep = pl.Series(sel)
        gx_work, gx_flagged = work.filter(keep), any_fail.filter(keep)
        gx_masks = masks.filter(keep) if row_rules else masks
    gx_batch = gx_work.select(gx_cols).with_columns(gx_flagged.alias("_gx_flagged"),
                                                    *_fail_words(gx_masks, row_rules))
    if sampled:
        gx_batch = own_buffers(gx_batch)

    # 3. results per expectation (GX's counts are filled in by the GX run, _gx_check)
    results = []
    for r in rules:
        failed = (0 if table_ok[r.id] else work.height) if r.id in table_ok else int(masks[r.id].sum())
        results.append({"expectation_id": r.id, "expectation_type": r.type, "rule": r.rule,
                        "column_name": r.column, "severity": r.severity, "evaluated": work.height,
                        "passed": failed == 0, "failed_rows": failed, "gx_evaluated": None, "gx_failed": None})
    results_df = pl.DataFrame(results, schema=RESULT_SCHEMA)

    # 4. issues (first failing critical rule per row), warnings, loaded rows with flags
    crit_parts, warn_parts = [], []
    for order, r in enumerate(rules):
        if r.id in table_ok:
            if table_ok[r.id]:
                continue
            hit = work.select("_row", _value_expr(r, work).alias("_value"))
        else:
            sel_r = masks[r.id]
            if not sel_r.any():
                continue
            extra = [pl.col(f"_ratio__{r.column}").alias("_ratio")] if f"_ratio__{r.column}" in work.columns \
                and r.rule == "unit_suspect" else []
            hit = work.lazy().filter(sel_r).select("_row", _value_expr(r, work).alias("_value"), *extra).collect()
        part = _messages(kind, where or file_name, r, hit, headers).with_columns(pl.lit(order).alias("_order"))
        (crit_parts if r.severity == "critical" else warn_parts).append(part)
    if id_issues.height:
        crit_parts.append(id_issues.with_columns(pl.lit(-1).alias("_order")))
    if id_warnings.height:
        warn_parts.append(id_warnings.with_columns(pl.lit(-1).alias("_order")))
    issues = _first_issue(crit_parts)
    warnings = (pl.concat(warn_parts).sort("_row", "_order").drop("_order") if warn_parts
                else pl.DataFrame(schema=ISSUE_SCHEMA))
    quarantined = _quarantined(rules, table_ok, masks, work.height)
    loaded = base.filter(~quarantined) if quarantined.any() else base
    if warnings.height:
        warnings = warnings.filter(~pl.col("_row").is_in(issues["_row"].implode()))
        flags = warnings.group_by("_row").agg(pl.col("rule").unique(maintain_order=True).alias("_flags"))
        loaded = loaded.with_columns(_flag_column(loaded["_row"], flags))
    else:
        loaded = loaded.with_columns(pl.lit([], pl.List(pl.Utf8)).alias("_flags"))
    lap("issues")
    return Validated(frame=loaded, issues=issues, warnings=warnings, results=results_df, kind=kind,
                     file_name=file_name, timings=timings, problems=problems,
                     gx_input=GxInput(file_name, work.height, gx_batch, table_ok, results_df, fail_bit))


def _fail_words(masks: pl.DataFrame, rules: list[Rule]) -> list[pl.Series]:
    """polars' verdict per row and row-level rule as bits (rule k → bit k % 64 of `_gx_fail_<k // 64>`).

    The bits travel with the rows into GX's batch (sampled, thinned, sorted), so after the GX run the two
    engines can be compared row by row on exactly the rows GX saw.
    """
    words = [np.zeros(masks.height, dtype=np.uint64) for _ in range(-(-len(rules) // 64))]
    for k, r in enumerate(rules):
        words[k // 64] |= masks[r.id].to_numpy().astype(np.uint64) << np.uint64(k % 64)
    return [pl.Series(f"_gx_fail_{w}", word, dtype=pl.UInt64) for w, word in enumerate(words)]


def _flag_column(rows: pl.Series, flags: pl.DataFrame) -> pl.Series:
    """The `_flags` list of every loaded row (empty for most), given the flagged rows' lists.

    Built from list offsets: a join onto millions of loaded rows to attach a few thousand lists would
    copy every row.
    """
    pos = rows.is_in(flags["_row"].implode()).arg_true()
    lists = pl.DataFrame({"_row": rows.gather(pos)}).join(flags, on="_row", how="left", maintain_order="left")
    lengths = np.zeros(len(rows) + 1, dtype=np.int64)
    lengths[pos.to_numpy() + 1] = lists["_flags"].list.len().to_numpy()
    values = lists["_flags"].to_arrow().flatten()
    return pl.Series("_flags", pa.LargeListArray.from_arrays(pa.array(np.cumsum(lengths)), values))


_PER_VALUE = {"expect_column_values_to_match_regex", "expect_column_values_to_be_in_set",
              "expect_column_values_to_be_between"}


def _masks(rules: list[Rule], exprs: dict[str, pl.Expr], work: pl.DataFrame,
           encoded: dict[str, Distinct]) -> pl.DataFrame:
    """One column per row-level rule, True where the row fails it.

    A rule that judges each value on its own (regex, set, range) over an encoded column is evaluated on
    the column's distinct values and spread back to the rows; every other rule on every row.
    """
    def on_values(r: Rule) -> bool:
        return r.type in _PER_VALUE and r.kwargs["column"] in encoded

    by_row = work.select([exprs[r.id].fill_null(False).alias(r.id) for r in rules if not on_values(r)])
    cols = []
    for r in rules:
        if on_values(r):
            enc = encoded[r.kwargs["column"]]
            fails = pl.DataFrame({r.kwargs["column"]: enc.values}).select(exprs[r.id].fill_null(False))
            cols.append(enc.spread(fails.to_series()).alias(r.id))
        else:
            cols.append(by_row[r.id])
    return pl.DataFrame(cols)


def _quarantined(rules: tuple[Rule, ...], table_ok: dict[str, bool], masks: pl.DataFrame, height: int) -> pl.Series:
    """True for every row that fails a critical rule (a failing table-level critical rule fails them all)."""
    if any(not table_ok[r.id] for r in rules if r.id in table_ok and r.severity == "critical"):
        return pl.repeat(True, height, eager=True)
    critical = [r.id for r in rules if r.id not in table_ok and r.severity == "critical"]
    if not critical:
        return pl.repeat(False, height, eager=True)
    return masks.select(pl.any_horizontal(critical)).to_series()


def _table_ok(rule: Rule, work: pl.DataFrame, dtypes: dict[str, Any]) -> bool:
    """Verdict of a rule polars cannot judge row by row: column existence, dtype, or a missing column."""
    if rule.type == "expect_column_values_to_be_in_type_list":
        return _type_ok(rule, work, dtypes)
    cols = rule.kwargs.get("column_list") or [rule.kwargs.get("column")]
    return all(c in work.columns for c in cols)


def _thin(batch: pl.DataFrame, step: int) -> pl.DataFrame:
    """Keep every flagged row and every step-th unflagged one (a systematic sample)."""
    if step <= 1:
        return batch
    plain = (~pl.col("_gx_flagged")).cast(pl.Int64)
    return batch.filter(pl.col("_gx_flagged") | (((plain.cum_sum() - 1) % step == 0) & (plain == 1)))


def _gx_check(kind: str, files: list[GxInput], params: dict[str, date], limit: int
              ) -> tuple[list[dict], list[dict]]:
    """Run GX once over the GX rows of several files of a kind; fill in each file's GX counts.

    Files are concatenated (one GX run per distinct column layout, normally one per kind), the unflagged
    rows thinned to a systematic sample of about `limit` rows, every flagged row kept. GX's
    unexpected_index_list is mapped back to files, so gx_evaluated/gx_failed are per file, and the
    engines are compared per file and rule on the rows GX saw (agreement()). Returns the GX results (for
    Data Docs) and the disagreements (problem rows, `engines_disagree`).
    """
    rules, _ = suite_rules(kind)
    groups: dict[tuple, list[GxInput]] = {}
    for f in files:
        groups.setdefault(tuple(f.batch.schema.items()), []).append(f)
    out, problems = [], []
    for members in groups.values():
        batch = pl.concat([f.batch.with_columns(pl.lit(j, pl.Int64).alias("_gx_seq"))
                           for j, f in enumerate(members)], how="vertical")
        plain = batch.height - int(batch["_gx_flagged"].sum())
        batch = _thin(batch, -(-plain // max(limit, 1)))
        batch = _scope_columns(rules, batch)
        key = [c for c in _unique_key(rules) if c in batch.columns]
        batch = batch.sort(["_gx_seq", *key], nulls_last=True).with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_gx_pos"))
        seqs = batch["_gx_seq"].to_numpy()
        words = [c for c in batch.columns if c.startswith("_gx_fail_")]
        gx_result, counts = run_gx(kind, batch.drop("_gx_flagged", "_gx_seq", *words), params, seqs, len(members))
        for j, f in enumerate(members):
            problems += agreement(kind, f, rules, counts, batch, j)
            g_ev = [int(counts.per_file[r.id][0][j]) if r.id in counts.per_file else 0 for r in rules]
            g_bad = [int(counts.per_file[r.id][1][j]) if r.id in counts.per_file else 0 for r in rules]
            by_id = pl.DataFrame({"expectation_id": [r.id for r in rules], "_ev": g_ev, "_bad": g_bad},
                                 schema={"expectation_id": pl.Utf8, "_ev": pl.Int64, "_bad": pl.Int64})
            f.results = (f.results.drop("gx_evaluated", "gx_failed")
                         .join(by_id, on="expectation_id", how="left", maintain_order="left")
                         .rename({"_ev": "gx_evaluated", "_bad": "gx_failed"}).select(list(RESULT_SCHEMA)))
        names = [f.file_name for f in members]
        gx_result.setdefault("meta", {}).update({
            "file_name": names[0] if len(names) == 1 else f"{kind}: {len(names)} files",
            "files": names, "kind": kind, "rows": sum(f.rows for f in members), "gx_rows": batch.height})
        out.append(gx_result)
    return out, problems


def gx_check_job(kind: str, files: list[GxInput], params: dict[str, date], limit: int
                 ) -> tuple[list[dict], list[dict], list[pl.DataFrame]]:
    """_gx_check in another process: its results and disagreements, and each file's results with the GX counts
    (_gx_check fills them into the files it is given, which here are pickled copies of the caller's)."""
    results, problems = _gx_check(kind, files, params, limit)
    return results, problems, [f.results for f in files]


def prepare_gx() -> None:
    """Import Great Expectations and build every kind's runner (≈3 CPU-s), as a job of the process the night's GX
    checks run in (flows.nightly.night_worker), started while the ingest leaves a core to spare."""
    for kind in KIND_ORDER:
        _gx_runner(kind)


def problem(file_name: str, kind: str, rule: Rule, code: str, *, detail_zh: str, detail_en: str,
            polars_failed: int | None = None, gx_failed: int | None = None, only_polars: int | None = None,
            only_gx: int | None = None, example_rows: str | None = None, file_id: int = 0) -> dict:
    """One row of meta.validation_problems: a rule not checked on a file, or the two engines disagreeing."""
    return {"file_id": file_id, "file_name": file_name, "kind": kind, "expectation_id": rule.id,
            "expectation_type": rule.type, "rule": rule.rule, "column_name": rule.column, "problem": code,
            "severity": PROBLEM_SEVERITY[code], "polars_failed": polars_failed, "gx_failed": gx_failed,
            "only_polars": only_polars, "only_gx": only_gx, "example_rows": example_rows,
            "detail_zh": detail_zh, "detail_en": detail_en}


# engines_disagree: a verdict (quarantine, flag) is not confirmed by Great Expectations — an error of the night;
# not_checked: a rule that had nothing to check against (an empty registry) — said, not hidden.
PROBLEM_SEVERITY = {"engines_disagree": "error", "not_checked": "warning"}
EXAMPLE_ROWS = 5


def agreement(kind: str, f: GxInput, rules: tuple[Rule, ...], counts: GxCounts, batch: pl.DataFrame,
              j: int) -> list[dict]:
    """Where polars and GX disagree on file j of a GX batch, rule by rule, on the rows GX saw.

    Row-level rules: the batch rows polars failed (its `_gx_fail_*` bits) against the rows GX reported
    unexpected, as sets; also every row polars failed in the whole file must be in the batch. Table-level
    rules (column exists, dtype): the file's verdicts. A rule GX could not evaluate is a disagreement too.
    """
    seqs = batch["_gx_seq"].to_numpy()
    mine = seqs == j
    rows = batch["_row"].to_numpy()
    out = []

    def disagree(r: Rule, zh: str, en: str, **counts_: Any) -> None:
        out.append(problem(f.file_name, kind, r, "engines_disagree", detail_zh=zh, detail_en=en,
                           file_id=f.file_id, **counts_))

    for r in rules:
        if r.id in f.table_ok:      # (a missing column: GX raises, its verdict is then a failure)
            _, bad = counts.per_file.get(r.id, (None, np.zeros(j + 1, np.int64)))
            gx_ok = bool(bad[j] == 0) if r.id in counts.counted else counts.stats.get(r.id, (0, 0, True))[2]
            if gx_ok != f.table_ok[r.id]:
                word = {True: ("通过", "passes"), False: ("不通过", "fails")}
                mine_zh, mine_en = word[f.table_ok[r.id]]
                disagree(r, f"整表规则：polars 判定{mine_zh}，Great Expectations 判定{word[gx_ok][0]}",
                         f"table-level rule: polars says the file {mine_en}, Great Expectations says it "
                         f"{word[gx_ok][1]}")
            continue
        if r.id in counts.errors:
            disagree(r, f"Great Expectations 无法校验：{counts.errors[r.id]}",
                     f"Great Expectations could not evaluate the rule: {counts.errors[r.id]}")
            continue
        bit = f.fail_bit[r.id]
        polars_pos = np.flatnonzero(mine & ((batch[f"_gx_fail_{bit // 64}"].to_numpy() >> np.uint64(bit % 64))
                                            & np.uint64(1)).astype(bool))
        gx_pos = np.concatenate(counts.unexpected.get(r.id, [np.zeros(0, np.int64)]))
        gx_pos = gx_pos[seqs[gx_pos] == j] if len(gx_pos) else gx_pos
        only_polars = np.setdiff1d(polars_pos, gx_pos)
        only_gx = np.setdiff1d(gx_pos, polars_pos)
        whole_file = int(f.results.filter(pl.col("expectation_id") == r.id)["failed_rows"][0])
        if len(only_polars) or len(only_gx) or whole_file != len(polars_pos):
            examples = ", ".join(str(int(rows[p])) for p in np.concatenate([only_polars, only_gx])[:EXAMPLE_ROWS])
            disagree(r, f"Great Expectations 校验的 {int(mine.sum())} 行中：polars 判定不合格 {len(polars_pos)} 行"
                        f"（全文件 {whole_file} 行），Great Expectations 判定 {len(gx_pos)} 行；"
                        f"仅 polars 判定 {len(only_polars)} 行，仅 Great Expectations 判定 {len(only_gx)} 行",
                     f"of the {int(mine.sum())} rows Great Expectations checked, polars fails {len(polars_pos)} "
                     f"({whole_file} in the whole file) and Great Expectations {len(gx_pos)}; "
                     f"{len(only_polars)} only by polars, {len(only_gx)} only by Great Expectations",
                     polars_failed=len(polars_pos), gx_failed=len(gx_pos), only_polars=len(only_polars),
                     only_gx=len(only_gx), example_rows=examples or None)
    return out


class ValidationSession:
    """One night's validation: polars verdicts per file as it comes, Great Expectations once per kind.

    session.validate(kind, frame, file_name, con) gives the file's verdicts (quarantine, warnings, results)
    at once, as validate() does; session.record(con, file_id, run_id, validated) writes its results and
    hands its GX rows to the kind's batch; session.finish(con, run_id) runs GX once per kind over the
    batch (all flagged rows + a systematic sample of ≈GX_ROWS rows), fills gx_evaluated/gx_failed of
    every file from it, logs any disagreement and spools one GX result per kind for the Data Docs.
    """

    def __init__(self, spool: Path | None = None, *, today: date | None = None, gx_rows: int | None = None):
        self.spool = spool
        self.today = today
        self.limit = GX_ROWS if gx_rows is None else gx_rows
        self.pending: dict[str, list[GxInput]] = {}
        self.timings: dict[str, float] = {}
        self.gx_runs = 0
        self.problems: list[dict] = []     # every file's not_checked rules and the night's engine disagreements

    def validate(self, kind: str, frame: pl.DataFrame, file_name: str, con: duckdb.DuckDBPyConnection, *,
                 extra_keys: dict[str, set[str]] | None = None, where: str | None = None,
                 headers: dict[str, str] | None = None) -> Validated:
        v = _verdicts(kind, frame, file_name, con, today=self.today, gx_rows=self.limit, extra_keys=extra_keys,
                      where=where, headers=headers)
        for k, s in v.timings.items():
            self.timings[k] = self.timings.get(k, 0.0) + s
        return v

    def record(self, con: duckdb.DuckDBPyConnection, file_id: int, run_id: int, validated: Validated) -> None:
        """Write the file's results (GX counts follow in finish) and queue its GX rows."""
        record_results(con, file_id, run_id, validated, spool=self.spool)
        self.problems += [dict(p, file_id=file_id) for p in validated.problems]
        inp, validated.gx_input = validated.gx_input, None
        if inp is None:
            return
        inp.file_id, inp.results = file_id, validated.results
        self.queue(validated.kind, inp)

    def queue(self, kind: str, inp: GxInput) -> None:
        """Queue one file's GX rows for the kind's GX run (a staged file's results are already recorded)."""
        file_id = inp.file_id
        queue = [f for f in self.pending.get(kind, []) if f.file_id != file_id] + [inp]
        plain = sum(f.batch.height - int(f.batch["_gx_flagged"].sum()) for f in queue)
        if plain > 4 * self.limit:      # bound memory on big nights: halve every file's sample
            for f in queue:
                f.batch = _thin(f.batch, 2)
        self.pending[kind] = queue

    def finish(self, con: duckdb.DuckDBPyConnection, run_id: int, pool: Executor | None = None) -> list[Path]:
        """Run GX once per kind over the queued rows; update meta.validation_results; spool for Data Docs.

        With `pool` (the night's worker process, flows.nightly.night_worker) GX runs there (gx_check_job) and only
        the writes happen here: GX's import, contexts and pandas work (≈2.6 CPU-s for a nation night's 3 files)
        stay out of the process that runs the indicator and alert stages meanwhile."""
        t = time.perf_counter()
        order = {k: i for i, k in enumerate(KIND_ORDER)}
        spooled: list[Path] = []
        out = (self.spool or RESULTS_SPOOL) / f"run-{run_id}"
        kinds = sorted(self.pending, key=lambda k: (order.get(k, 99), k))
        params = window_params(self.today)
        jobs = {kind: pool.submit(gx_check_job, kind, self.pending[kind], params, self.limit)
                for kind in kinds} if pool is not None else {}
        for kind in kinds:
            files = self.pending.pop(kind)
            if pool is None:
                results, disagreements = _gx_check(kind, files, params, self.limit)
            else:
                results, disagreements, checked = jobs[kind].result()
                for f, counted in zip(files, checked, strict=True):
                    f.results = counted
            self.gx_runs += len(results)
            record_problems(con, run_id, disagreements)
            self.problems += disagreements
            for d in disagreements:
                log.error("%s: rule %s (%s on %s): the engines disagree: %s", d["file_name"], d["rule"],
                          d["expectation_type"], d["column_name"], d["detail_en"])
            counts = pl.concat([f.results.select("expectation_id", "gx_evaluated", "gx_failed")
                                .with_columns(pl.lit(f.file_id, pl.Int32).alias("file_id")) for f in files])
            con.register("_gx_counts", counts.to_arrow())
            try:
                run_sql(con, "validation_gx_counts", {"run_id": run_id})
            finally:
                con.unregister("_gx_counts")
            out.mkdir(parents=True, exist_ok=True)
            for i, res in enumerate(results):
                path = out / f"kind-{kind}-{i}.json"
                path.write_text(json.dumps(res, ensure_ascii=False, default=str), encoding="utf-8")
                spooled.append(path)
        self.timings["gx"] = self.timings.get("gx", 0.0) + time.perf_counter() - t
        return spooled


def _unique_key(rules: tuple[Rule, ...]) -> list[str]:
    for r in rules:
        if r.type == "expect_compound_columns_to_be_unique":
            return list(r.kwargs["column_list"])
        if r.type == "expect_column_values_to_be_unique":
            return [r.kwargs["column"]]
    return []


def _first_issue(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One issue per row: the first failing critical rule in suite order; the others named in the message."""
    if not parts:
        return pl.DataFrame(schema=ISSUE_SCHEMA)
    allp = pl.concat(parts).sort("_row", "_order")
    first = allp.group_by("_row", maintain_order=True).agg(
        pl.all().exclude("_order").first(), pl.col("rule").unique(maintain_order=True).alias("_all"))
    more = pl.col("_all").list.slice(1)
    return first.with_columns(
        pl.when(more.list.len() > 0)
        .then(pl.concat_str([pl.col("message"), pl.lit("；另有："), more.list.join(", ")]))
        .otherwise(pl.col("message")).alias("message"),
        pl.when(more.list.len() > 0)
        .then(pl.concat_str([pl.col("message_en"), pl.lit("; also: "), more.list.join(", ")]))
        .otherwise(pl.col("message_en")).alias("message_en"),
    ).select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA)


# ---------------------------------------------------------------- recording and Data Docs

def record_results(con: duckdb.DuckDBPyConnection, file_id: int, run_id: int, validated: Validated,
                   spool: Path | None = None) -> None:
    """Write per-rule results to meta.validation_results and spool the GX result (if any) for the Data Docs."""
    res = validated.results.with_columns(
        pl.lit(run_id, pl.Int32).alias("run_id"), pl.lit(file_id, pl.Int32).alias("file_id"),
        pl.lit(validated.file_name).alias("file_name"), pl.lit(validated.kind).alias("kind"),
        pl.lit(validated.kind).alias("suite"))
    con.register("_validation_rows", res.to_arrow())
    try:
        run_sql(con, "validation_record", {"run_id": run_id, "file_id": file_id})
    finally:
        con.unregister("_validation_rows")
    record_problems(con, run_id, [dict(p, file_id=file_id) for p in validated.problems])
    if validated.gx_result is not None:
        out = (spool or RESULTS_SPOOL) / f"run-{run_id}"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"file-{file_id}.json").write_text(json.dumps(validated.gx_result, ensure_ascii=False, default=str),
                                                  encoding="utf-8")


PROBLEM_SCHEMA: dict[str, pl.DataType] = {
    "file_id": pl.Int32, "file_name": pl.Utf8, "kind": pl.Utf8, "expectation_id": pl.Utf8,
    "expectation_type": pl.Utf8, "rule": pl.Utf8, "column_name": pl.Utf8, "problem": pl.Utf8, "severity": pl.Utf8,
    "polars_failed": pl.Int64, "gx_failed": pl.Int64, "only_polars": pl.Int64, "only_gx": pl.Int64,
    "example_rows": pl.Utf8, "detail_zh": pl.Utf8, "detail_en": pl.Utf8,
}


def record_problems(con: duckdb.DuckDBPyConnection, run_id: int, problems: list[dict]) -> None:
    """Write rules not checked and engine disagreements to meta.validation_problems (replacing the same
    file's and problem's rows of this run, so a retried stage records them once)."""
    if not problems:
        return
    con.register("_validation_problems", pl.DataFrame(problems, schema=PROBLEM_SCHEMA).to_arrow())
    try:
        run_sql(con, "validation_problems_record", {"run_id": run_id})
    finally:
        con.unregister("_validation_problems")


def _escaped_for_docs(result: dict) -> dict:
    """A spooled GX result with every value that came from the data HTML-escaped.

    GX's Data Docs insert observed values (unexpected values, counts, the file name in meta) into the page as
    markup; rejected input is hostile by definition, so it is escaped before GX sees it. The expectation
    configurations are the suites' own and stay as they are.
    """
    out = dict(result, meta=safe_text.html_escaped(result.get("meta") or {}))
    out["results"] = [dict(r, result=safe_text.html_escaped(r.get("result") or {}),
                           exception_info=safe_text.html_escaped(r.get("exception_info")))
                      for r in result.get("results") or []]
    return out


def render_data_docs(run_id: int, out_dir: Path | None = None, spool: Path | None = None) -> Path:
    """Build GX Data Docs (suites + this run's validation results) under out_dir; returns index.html.

    A night (ValidationSession) spools one GX validation result per kind, covering every file of the kind
    (meta.files names them); validate() + record_results spool one per file.
    """
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out_dir = Path(out_dir or REPORTS_OUT / "data_docs" / f"run-{run_id}")
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="ephemeral")
    site = f"run_{run_id}"
    ctx.add_data_docs_site(site_name=site, site_config={
        "class_name": "SiteBuilder", "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    for kind in KIND_ORDER:
        ctx.suites.add(gx.ExpectationSuite(**_suite_dict(kind)))
    src = (spool or RESULTS_SPOOL) / f"run-{run_id}"
    for path in sorted(src.glob("*.json")) if src.exists() else []:   # kind-*.json per night, file-*.json
        d = _escaped_for_docs(json.loads(path.read_text(encoding="utf-8")))
        result = ExpectationSuiteValidationResult(**{k: v for k, v in d.items() if k in (
            "success", "results", "suite_name", "statistics", "meta", "batch_id", "result_url", "id")})
        file_name = (d.get("meta") or {}).get("file_name", path.stem)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=d["suite_name"]),
            run_id=RunIdentifier(run_name=f"run-{run_id}"),
            # a file name may be 255 bytes of UTF-8: shortened, the Data Docs page name stays a legal file name
            batch_identifier=re.sub(r"[^\w.-]", "_", f"{path.stem}_{file_name}")[:60])
        ctx.validation_results_store.set(key, result)
    ctx.build_data_docs(site_names=[site])
    offline_docs.localise(out_dir)       # bundled assets: the docs render on an intranet without CDNs
    return out_dir / "index.html"


# ---------------------------------------------------------------- clusterwatch check
