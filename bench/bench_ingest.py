"""Ingest benchmark: night 1 (history) and night 2 (+1 month) at province or nation scale, with the raw-load
reference, CPU and peak RSS of every process of the night, and the published warehouse's size and copy cost.

Night 1 loads everything but the last month; night 2 adds that month. Each night runs the real Prefect flow
in a fresh process (the coordinator); with --workers N (once `nightly` takes `workers`) the ingest runs on a
local Dask cluster of N worker processes. Printed per night:
  - wall seconds of the night and of each stage, rows per second of the ingest;
  - CPU seconds of the coordinator and of the whole process tree (Prefect server, Dask workers included);
  - peak RSS of the coordinator, the Prefect server and each other process of the tree (psutil, sampled
    every 0.2 s over the tree; the coordinator's own figure is its exact ru_maxrss);
  - the raw-load reference: the same night's files loaded into a fresh DuckDB file as they are
    (`CREATE TABLE … AS SELECT * FROM read_parquet(…)` per kind; GBK CSV and XLSX through polars), wall and
    CPU, and ingest / raw; for GBK CSV and XLSX also the Parquet files of the same rows;
  - the published warehouse's size and the seconds one copy of it takes (what every night pays before it
    writes, DESIGN's publish-by-copy), and the growth night 2 added.
The 1-minute load average is printed before and after every figure: the machine is shared, and a figure
taken at load 10 on 2 cores is not the machine's speed.

    .venv/bin/python bench/bench_ingest.py --scale province                 # make bench-ingest
    .venv/bin/python bench/bench_ingest.py --scale nation --workers 2
    .venv/bin/python bench/bench_ingest.py --scale nation --format gbk-csv  # inbox_gbk-csv (see --formats
                                                                              of `clusterwatch sample`)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

import duckdb
import psutil
from rusage import cpu_seconds

from flows.support.file_hashes import RECENT_NS

ROOT = Path(__file__).resolve().parent.parent

# The night starts as `clusterwatch run` starts it: Prefect's temporary server boots beside the imports (without
# it, Prefect boots one inside the flow call, and its 3-5 s on a quiet machine counted in the night's seconds).
NIGHT = """
import inspect, json, resource, sys, time
started = time.perf_counter()
from pathlib import Path
from flows import cli
cli._quiet_prefect()
server = cli.boot_prefect_server()
from flows.nightly import nightly
workers = int(sys.argv[4])
options = {}
if workers:
    if "workers" not in inspect.signature(nightly.fn).parameters:
        sys.exit("this nightly flow has no `workers` option (issue 17's Dask runner): run without --workers")
    options["workers"] = workers
with cli.prefect_api(server, cli.NIGHT_IMPORTS), cli.frozen_heap():
    t = time.perf_counter()
    s = nightly(inbox=Path(sys.argv[1]), warehouse=Path(sys.argv[2]), reports=Path(sys.argv[3]), **options)
    seconds = time.perf_counter() - t
from flows.support import warehouse
spare = warehouse.wait_for_spares()
self = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "startup": t - started, "spare": spare, "stages": s.seconds,
                  "files": len(s.outcomes), "rows_loaded": s.rows_loaded, "rows_quarantined": s.rows_quarantined,
                  "cpu_self": self.ru_utime + self.ru_stime, "peak_rss_mb": self.ru_maxrss / 1024}))
"""

# The hand-written reference: every file of a kind loaded as it is, one table per kind. Parquet goes straight
# into DuckDB (`CREATE TABLE … AS SELECT * FROM read_parquet`); GBK CSV and XLSX, which DuckDB here cannot read
# (its encodings and excel extensions cannot be downloaded), are read with polars (GBK decoded by Python,
# XLSX by calamine below the title row) and inserted frame by frame — what a hand-written script would do.
RAW = """
import json, resource, sys, time
from collections import defaultdict
from pathlib import Path
import duckdb, polars as pl
kinds = defaultdict(list)
for path in sorted(Path(sys.argv[1]).iterdir()):
    if path.suffix in (".parquet", ".csv", ".xlsx"):
        kinds[path.name.split("_")[0].split(".")[0]].append(path)
con = duckdb.connect(sys.argv[2])
t = time.perf_counter()
rows = 0
for kind, files in sorted(kinds.items()):
    if files[0].suffix == ".parquet":
        con.execute(f"CREATE TABLE {kind} AS SELECT * FROM read_parquet(?, union_by_name = true)",
                    [[str(f) for f in files]])
    else:
        for n, path in enumerate(files):
            frame = (pl.read_csv(path, encoding="gbk", infer_schema_length=10000) if path.suffix == ".csv"
                     else pl.read_excel(path, engine="calamine", read_options={"header_row": 1}))
            con.execute(f"CREATE TABLE {kind} AS FROM frame" if n == 0 else f"INSERT INTO {kind} BY NAME FROM frame")
    rows += con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]
con.execute("CHECKPOINT")
con.close()
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": u.ru_utime + u.ru_stime, "rows": rows}))
"""


def load() -> float:
    return os.getloadavg()[0]


# The kernel's memory reclaim (/proc/vmstat): a night that allocates while the page cache fills memory reclaims pages
# in its own threads (direct reclaim, counted in its system CPU) and wakes kswapd (CPU on the night's cores that no
# process of the night is charged). Each night prints what the machine reclaimed during it, so a slow figure says
# whether that was why (identical nation nights have spent 49-56 CPU-s in the night's process; in session 21's run C
# nothing was reclaimed, so that spread has another cause).
RECLAIM_COUNTERS = ("pgsteal_direct", "pgsteal_kswapd", "allocstall_normal", "allocstall_movable", "pgmajfault")


@cache
def kswapd_stats() -> list[Path]:
    """The /proc stat files of the kernel's kswapd threads (one per memory node; they live as long as the machine)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().startswith("kswapd"):
                found.append(proc / "stat")
        except FileNotFoundError:   # a process that exited while the list was read: no kernel thread
            continue
    return found


def reclaim() -> dict[str, float]:
    """The reclaim counters (pages, stalls, faults) and kswapd's CPU seconds so far (Linux)."""
    counters = dict(line.split() for line in Path("/proc/vmstat").read_text().splitlines())
    out = {name: float(counters[name]) for name in RECLAIM_COUNTERS}   # absent (a kernel before 4.8): KeyError
    ticks = os.sysconf("SC_CLK_TCK")   # utime and stime: the 14th and 15th fields, the 12th and 13th after comm
    out["kswapd_cpu"] = sum(sum(int(v) for v in stat.read_text().rsplit(")", 1)[1].split()[11:13]) / ticks
                            for stat in kswapd_stats())
    return out


def reclaimed(before: dict[str, float], after: dict[str, float]) -> str:
    """What was reclaimed between two reclaim() readings, as the bench prints it."""
    d = {k: after[k] - before[k] for k in before}
    page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
    stalls = d["allocstall_normal"] + d["allocstall_movable"]
    return (f"memory reclaim during the night: direct {d['pgsteal_direct'] * page_mb:,.0f} MB in {stalls:,.0f} "
            f"stalls, kswapd {d['pgsteal_kswapd'] * page_mb:,.0f} MB ({d['kswapd_cpu']:.1f} CPU-s beside the "
            f"night's); major page faults {d['pgmajfault']:,.0f}")


def month_tokens(month: str) -> tuple[str, ...]:
    year, mo = month.split("-")
    return (month, f"{year}{mo}", f"{year}年{int(mo)}月")


def split_inbox(inbox: Path, work: Path, month: str) -> tuple[Path, Path, Path]:
    """Night 1: every file except the last month's; night 2: the whole inbox; new: the last month's files
    alone (what night 2 loads, for its raw reference). Hard links, no copies."""
    first, second, new = work / "night1", work / "night2", work / "night2_new"
    for folder in (first, second, new):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for path in sorted(inbox.iterdir()):
        os.link(path, second / path.name)
        latest = any(token in path.name for token in month_tokens(month))
        os.link(path, (new if latest else first) / path.name)
    return first, second, new


class TreeWatch:
    """Peak RSS per process of a process tree, sampled every `every` seconds in a thread, and when the coordinator's
    was reached (seconds after the process started: with the night's stage times, which stage held it)."""

    def __init__(self, root: int, every: float = 0.2) -> None:
        self.root, self.every, self.started = root, every, time.perf_counter()
        self.peak: dict[int, tuple[str, int]] = {}
        self.coordinator_peak_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.root)
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss, cmd = proc.memory_info().rss, " ".join(proc.cmdline())
                    if proc.pid != self.root and cmd == " ".join(root.cmdline()):
                        # a child between vfork() and its exec (subprocess: ctypes.util.find_library's ldconfig,
                        # gcc and ld, ≈50 a night as WeasyPrint looks its libraries up) runs in the coordinator's
                        # address space: its RSS is the coordinator's memory, not a process of its own
                        continue
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                role = ("coordinator" if proc.pid == self.root else "prefect server" if "uvicorn" in cmd
                        else "dask worker" if "dask" in cmd or "multiprocessing" in cmd else "other")
                if rss > self.peak.get(proc.pid, ("", 0))[1]:
                    self.peak[proc.pid] = (role, rss)
                    if proc.pid == self.root:
                        self.coordinator_peak_at = time.perf_counter() - self.started
            self._stop.wait(self.every)

    def summary(self) -> str:
        rows = sorted(self.peak.values(), key=lambda r: (r[0] != "coordinator", r[0], -r[1]))
        return ", ".join(f"{role} {rss / 2**20:,.0f} MB" for role, rss in rows if rss > 50 * 2**20)


def settle(inbox: Path) -> None:
    """Wait until the inbox's files count as settled for the night's hash record (flows.support.file_hashes): a
    bureau's files lie in its drop folder long before a night reads them, but these links were made just now (a
    link changes the inode's ctime), so night 1 would record no hash and night 2 would hash the whole inbox again,
    which a bureau's night 2 does not."""
    settled_ns = max(path.stat().st_ctime_ns for path in inbox.iterdir()) + RECENT_NS
    time.sleep(max(0.0, (settled_ns - time.time_ns()) / 1e9))


def run_night(inbox: Path, warehouse: Path, workers: int) -> dict:
    """One night in a process of its own, its figures. What the nights before it wrote is flushed to disk first
    (os.sync): a bureau's next night comes a day or a month after the last, not while the kernel still writes the
    2.5 GB file the last one published (and the raw reference's), which took CPU and disk from night 2."""
    os.sync()
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    cpu0, load0, reclaim0 = cpu_seconds(resource.RUSAGE_CHILDREN), load(), reclaim()
    proc = subprocess.Popen([sys.executable, "-c", NIGHT, str(inbox), str(warehouse),
                             str(warehouse.parent / "reports"), str(workers)],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    with TreeWatch(proc.pid) as watch:
        out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"the night failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(cpu_tree=cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0, load=(load0, load()), rss=watch.summary(),
                  coordinator_peak_at=watch.coordinator_peak_at, reclaim=reclaimed(reclaim0, reclaim()))
    return result


def raw_load(inbox: Path) -> dict:
    with tempfile.TemporaryDirectory(dir=inbox.parent) as tmp:
        load0 = load()
        out = subprocess.run([sys.executable, "-c", RAW, str(inbox), str(Path(tmp) / "raw.duckdb")],
                             check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load": (load0, load())}


def copy_cost(warehouse: Path) -> tuple[float, float, float, tuple[float, float]]:
    """Size (MB) of the published warehouse file, the MB its blocks in use hold (the file keeps freed blocks
    for reuse, so its size does not show one night's growth), and the seconds one copy of it takes."""
    load0 = load()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        used = con.execute("SELECT sum(used_blocks * block_size) FROM pragma_database_size()").fetchone()[0]
    with tempfile.TemporaryDirectory(dir=warehouse.parent) as tmp:
        started = time.perf_counter()
        shutil.copyfile(warehouse, Path(tmp) / "copy.duckdb")
        seconds = time.perf_counter() - started
    return warehouse.stat().st_size / 2**20, used / 2**20, seconds, (load0, load())


def loads(pair: tuple[float, float]) -> str:
    return f"[load {pair[0]:.1f}→{pair[1]:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("province", "nation"), default="province")
    parser.add_argument("--data", type=Path, help="generated scale folder (default data/scale/<scale>)")
    parser.add_argument("--format", default="parquet", choices=("parquet", "gbk-csv", "xlsx"),
                        help="which inbox of the scale folder: inbox (Parquet) or inbox_<format>")
    parser.add_argument("--workers", type=int, default=0, help="Dask worker processes (0: one process)")
    parser.add_argument("--last-month", default="2025-12")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw-load reference")
    args = parser.parse_args()
    data = args.data or ROOT / "data" / "scale" / args.scale
    inbox = data / ("inbox" if args.format == "parquet" else f"inbox_{args.format}")
    if not inbox.is_dir():
        raise SystemExit(f"no inbox at {inbox}: clusterwatch sample --scale {args.scale} --out {data}"
                         + ("" if args.format == "parquet" else f" --formats {args.format}"))
    work = data / f"bench_{args.format}_w{args.workers}"
    first, second, new = split_inbox(inbox, work, args.last_month)
    # the raw reference reads the night's own files; for another format than Parquet it is also given for the
    # Parquet files of the same rows (the cost of the format itself)
    raw_first, _, raw_new = split_inbox(data / "inbox", work / "raw", args.last_month)
    settle(second)
    warehouse = work / "warehouse" / "clusterwatch.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    print(f"{args.scale} scale, {args.format} inbox, "
          f"{'one process' if not args.workers else f'{args.workers} Dask workers'}, {os.cpu_count()} cores; "
          "figures are wall seconds unless marked CPU; [load a→b] = 1-minute load average before → after")
    sizes = []
    for label, night_inbox, own_new, raw_inbox in (("night 1 (history)", first, first, raw_first),
                                                   (f"night 2 (+{args.last_month})", second, new, raw_new)):
        r = run_night(night_inbox, warehouse, args.workers)
        rows, ingest = r["rows_loaded"] + r["rows_quarantined"], r["stages"]["ingest"]
        print(f"{label:<22} files {r['files']:>4}  rows {rows:>12,}  ingest {ingest:8.1f} s "
              f"{rows / ingest:>11,.0f} rows/s  night {r['seconds']:8.1f} s {loads(r['load'])}")
        print(" " * 23 + " · ".join(f"{stage} {sec:.1f} s" for stage, sec in r["stages"].items())
              + f"; before the night: start-up {r['startup']:.1f} s (imports beside the Prefect server's boot)"
              + f"; after it: the next night's spare copy {r['spare']:.1f} s (before the process exits)")
        print(" " * 23 + f"CPU: coordinator {r['cpu_self']:.1f} s, whole tree {r['cpu_tree']:.1f} s; "
              f"peak RSS: coordinator {r['peak_rss_mb']:,.0f} MB (ru_maxrss; MB = 2**20 bytes); sampled: {r['rss']}; "
              f"the coordinator's sampled peak at {r['coordinator_peak_at']:.0f} s of the process "
              f"(start-up {r['startup']:.0f} s, then the stages as above)")
        print(" " * 23 + r["reclaim"])
        if not args.no_raw:
            sources = {args.format: own_new} | ({"parquet": raw_inbox} if args.format != "parquet" else {})
            for fmt, folder in sources.items():
                raw = raw_load(folder)
                print(" " * 23 + f"raw load ({fmt}, {raw['rows']:,} rows): {raw['seconds']:.1f} s, {raw['cpu']:.1f} s "
                      f"CPU {loads(raw['load'])}; ingest / raw = {ingest / raw['seconds']:.1f}× wall")
        size, used, seconds, load_pair = copy_cost(warehouse)
        sizes.append(used)
        print(" " * 23 + f"published warehouse {size:,.0f} MB ({used:,.0f} MB in use); one copy {seconds:.1f} s "
              f"({size / max(seconds, 1e-3):,.0f} MB/s) {loads(load_pair)}")
    print(f"night 2 added {sizes[1] - sizes[0]:,.0f} MB in use to the warehouse ({warehouse})")


if __name__ == "__main__":
    main()
