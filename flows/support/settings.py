"""Where things live. Defaults point at the bundled sample; every path can be overridden per run."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
# Every registry (indicators, maps, alerts, classification, chain index, disclosure, report terms, header
# vocabulary): one TOML file per concept, read by every stage that needs it.
REGISTRY_DIR = PACKAGE / "registry"
# What the runtime reads besides code, found in one place: flows/resources/. In a checkout its entries are
# links to the top-level folders (sql/, expectations/, reports/templates, reports/vendor, config/,
# data/reference); a wheel carries the files themselves there (pyproject.toml package-data), so an installed
# package and a checkout resolve every resource the same way.
RESOURCES = PACKAGE / "resources"
SQL_DIR = RESOURCES / "sql"
EXPECTATIONS_DIR = RESOURCES / "expectations"
TEMPLATES_DIR = RESOURCES / "templates"
VENDOR_DIR = RESOURCES / "vendor"
CONFIG_DIR = RESOURCES / "config"
REFERENCE_DIR = RESOURCES / "reference"
SAMPLE_DIR = ROOT / "data" / "sample"
DEFAULT_INBOX = SAMPLE_DIR / "inbox"
DEFAULT_WAREHOUSE = ROOT / "data" / "warehouse" / "clusterwatch.duckdb"
DEFAULT_LANDING = ROOT / "data" / "landing"
# Derived files that are slow to build and safe to rebuild (the simplified base maps); never committed.
CACHE_DIR = Path(os.environ.get("CLUSTERWATCH_CACHE", ROOT / "data" / "cache"))
REPORTS_OUT = Path(os.environ.get("CLUSTERWATCH_REPORTS", ROOT / "reports" / "out"))
# DuckDB's share of the nightly run's memory (its buffer pool spills to <warehouse>.building.tmp beyond
# it). DuckDB's own default is 80% of RAM, which leaves no room for the polars frames of a large file.
DUCKDB_MEMORY_LIMIT = os.environ.get("CLUSTERWATCH_DUCKDB_MEMORY_LIMIT", "3GB")
# What DuckDB's buffer pool keeps of its cache when a file is read and checked in the night's own process (an
# in-process ingest task, flows.support.warehouse.release_cache): the file's polars frames take the memory then
# (≈2.7 GB for a nation procurement file of 4.1 M rows) and would come on top of a full pool. The blocks evicted
# stay on disk and in the OS page cache; the pool grows back to DUCKDB_MEMORY_LIMIT as queries need it.
DUCKDB_TASK_MEMORY_LIMIT = os.environ.get("CLUSTERWATCH_DUCKDB_TASK_MEMORY_LIMIT", "512MB")
# DuckDB's limit for the stages after the ingest (indicators to publish), which run on a connection opened again
# after the load (flows.support.warehouse.Building.reopen). The indicator stage is the night's peak: at nation
# scale it runs as fast at 2.5 GB as at 3 GB and peaks 0.56 GB lower (docs/scaling.md); the load keeps 3 GB.
DUCKDB_STAGE_MEMORY_LIMIT = os.environ.get("CLUSTERWATCH_DUCKDB_STAGE_MEMORY_LIMIT", "2500MB")
# The unit check's history read (flows.stages.s05_validate._history_medians) takes a fact table of at most this
# many rows in one pass (validation_history_one_read.sql: every row, each firm's latest months by a top-n); a
# larger one first has its periods counted, then is read from the window's start (validation_history.sql, or
# validation_history_whole.sql within the window), which skips the older row groups but costs a second query
# and a second pass over the window. CPU per call, the sample's firm_monthly replicated k times with a third of
# a month's firms asked for (load 10-13): 36 stored months, 89 k rows one read 8.5 ms against 12.0, 356 k 26.4
# against 29.4, 1.42 M 95.5 against 84.4, 5.69 M 393 against 317; 12 stored months, 119 k 17.9 against 15.5,
# 477 k 45.6 against 57.8, 1.91 M 171 against 166. The sample's tables (≈ 90 k rows) are read once; a nation
# month's (5.8 M) as before.
HISTORY_ONE_READ_ROWS = int(os.environ.get("CLUSTERWATCH_HISTORY_ONE_READ_ROWS", "500000"))
# Above HISTORY_ONE_READ_ROWS and within the window, a file naming at least this share of the table's firms (its
# firms against the table's rows per stored period) has every firm's history gathered before its own are picked
# (validation_history_whole_all_firms.sql): cheaper once the file names nearly all of them (a nation 2025-12
# monthly file, 12 stored months: 1.07-1.17 CPU-s against 1.32-1.48), dearer below ≈ 70 % (57 %: 0.96-0.99
# against 0.84-0.93).
HISTORY_ALL_FIRMS_SHARE = float(os.environ.get("CLUSTERWATCH_HISTORY_ALL_FIRMS_SHARE", "0.8"))
# After a night publishes, the next night's building copy of the warehouse is made in the background
# (flows.support.warehouse.make_spare), so the next night starts by a rename instead of copying the whole file
# (nation: 2.8 GB, 0.8-5.5 s of a night 2). It takes the disk of one more warehouse; "0" turns it off.
SPARE_COPY = {"1": True, "0": False}.get(os.environ.get("CLUSTERWATCH_SPARE_COPY", "1"))
if SPARE_COPY is None:
    raise ValueError(f"CLUSTERWATCH_SPARE_COPY must be 1 or 0, not {os.environ['CLUSTERWATCH_SPARE_COPY']!r}")
# A warehouse smaller than this is copied by the night that needs it, as before: its copy costs that night well
# under 0.1 s, and the spare would make the process that published it wait for its flush to disk before it exits
# (the sample's: ≈ 0.1-0.3 s of a 26-30 s night).
SPARE_MIN_MB = float(os.environ.get("CLUSTERWATCH_SPARE_MIN_MB", "256"))
# In one process, the next file is read (standardised) in a thread while the current one is checked and loaded
# (flows.stages.ingest.ReadAhead) when the two files hold at most this many MB on disk together: the next file's
# frames then sit beside the current one's. A nation night's monthly file (15 MB Parquet) and procurement file
# (60 MB) qualify, two procurement files (120 MB: ≈ 0.75 GB of frames each, 1.9 GB while one is read) do not.
READ_AHEAD_MB = float(os.environ.get("CLUSTERWATCH_READ_AHEAD_MB", "100"))
# How long polars' allocator (jemalloc) keeps pages a frame freed before it hands them back to the system, in the
# night's process: jemalloc's own default instead of polars' 500 ms (flows.support.memory says why, with the figures).
POLARS_DIRTY_DECAY_MS = int(os.environ.get("CLUSTERWATCH_POLARS_DIRTY_DECAY_MS", "10000"))
TIMEZONE = "Asia/Shanghai"
DEFAULT_CRON = "0 2 * * *"


def landing_for(warehouse: Path) -> Path:
    """The landing store goes with its warehouse, so two warehouses never share a file registry."""
    if warehouse.resolve() == DEFAULT_WAREHOUSE.resolve():
        return DEFAULT_LANDING
    return warehouse.resolve().parent / "landing"


def release() -> str:
    """The installed clusterwatch release (recorded with each night in meta.runs.release)."""
    try:
        return version("clusterwatch")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"
