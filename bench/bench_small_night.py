"""The stages of an ordinary night after the copy, on a copy of a published warehouse: CPU and wall per phase.

Usage: .venv/bin/python bench/bench_small_night.py INBOX WAREHOUSE [--shift YYYY-MM]
Runs on WAREHOUSE IN PLACE (a copy: it is written; never a published file) what flows.nightly._night runs once the
building copy is open, in one process and as the night orders it: the night's worker process started first
(flows.nightly.night_worker), land + the per-file ingest and its load, Building.reopen's checkpoint, the GX checks
(in that worker, from the indicators on, a thread waiting to write their counts), the indicators, the snapshot (its
map drawn in that worker), the alerts, the checks, the map and the HTML waited for, delivery + run_finish, the final
CHECKPOINT. No report (bench/bench_report.py) and no Prefect. Printed per phase: CPU seconds of this process (every
thread: DuckDB's, the checks' thread) and wall seconds, with the load average; then the night worker's CPU (GX, map
and drift HTML). On 2 shared cores compare CPU seconds; wall seconds follow the load.

--shift YYYY-MM: the INBOX's files re-dated to that month (their `period` column set to it, the month in their
names replaced) and written beside WAREHOUSE first — a month the warehouse has not seen, e.g. the nation's
*_2025-12 files as 2026-01 on a copy of /work/scale/nation/wh_v6_after_night2.duckdb:

    cp /work/scale/nation/wh_v6_after_night2.duckdb /work/tmp-hN/w/w.duckdb
    .venv/bin/python bench/bench_small_night.py /work/scale/nation/inbox /work/tmp-hN/w/w.duckdb --shift 2026-01

Only the INBOX's files of its latest month are shifted. A warehouse whose indicator state was computed by other
indicator SQL or registries is refused: its indicator stage would recompute every month (≈250 CPU-s at nation),
as the first night of a release with changed indicator SQL does; run one such night on it first with
--allow-full, then the next month is an ordinary night. Each run adds a month: shift the next one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))   # after PYTHONPATH: another clone's code wins

import polars as pl  # noqa: E402
from rusage import cpu_seconds  # noqa: E402

from flows.nightly import in_transaction, night_worker  # noqa: E402
from flows.stages import s07_indicators as indicators  # noqa: E402
from flows.stages.ingest import apply_staged, ingest_file  # noqa: E402
from flows.stages.s01_discover import discover  # noqa: E402
from flows.stages.s02_land import land  # noqa: E402
from flows.stages.s05_validate import ValidationSession  # noqa: E402
from flows.stages.s08_snapshot import snapshot_stage  # noqa: E402
from flows.stages.s10_alerts import evaluate_alerts  # noqa: E402
from flows.stages.s12_deliver import DeliverySettings, SentLog, flush  # noqa: E402
from flows.support.settings import DUCKDB_STAGE_MEMORY_LIMIT  # noqa: E402
from flows.support.staging import staging_for  # noqa: E402
from flows.support.warehouse import Building, apply_schema, query_one, release_cache, run_sql  # noqa: E402

MONTH = re.compile(r"\d{4}-\d{2}")


def shifted(inbox: Path, month: str, out: Path) -> Path:
    """The inbox's files of its latest month, re-dated to `month`, in `out` (which is returned)."""
    latest = max(m.group() for f in inbox.glob("*.parquet") if (m := MONTH.search(f.name)))
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(inbox.glob(f"*_{latest}.parquet")):
        frame = pl.read_parquet(path)
        if "period" not in frame.columns:
            raise SystemExit(f"{path}: no column named period to re-date (--shift knows the nation's layout)")
        frame.with_columns(pl.lit(month).alias("period")).write_parquet(out / path.name.replace(latest, month))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inbox", type=Path)
    ap.add_argument("warehouse", type=Path, help="a copy: written in place")
    ap.add_argument("--shift", metavar="YYYY-MM", help="re-date the inbox's latest month's files to this month")
    ap.add_argument("--allow-full", action="store_true", help="run even if the indicator stage recomputes all")
    args = ap.parse_args()
    spent: dict[str, list[float]] = {}

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        c, w, load = cpu_seconds(), time.perf_counter(), os.getloadavg()[0]
        yield
        spent[name] = [round(cpu_seconds() - c, 2), round(time.perf_counter() - w, 2), round(load, 1)]
        print(f"{name}: {spent[name][0]} CPU-s, {spent[name][1]} s [load {load:.1f}]", file=sys.stderr, flush=True)

    inbox = shifted(args.inbox, args.shift, args.warehouse.parent / f"inbox-{args.shift}") if args.shift \
        else args.inbox
    started = time.perf_counter()
    with night_worker() as side:
        work = Building(args.warehouse)
        with phase("migrations"):
            apply_schema(work.con)
        con = work.con
        if not indicators._state(con)[1] and not args.allow_full:
            raise SystemExit("the warehouse's indicator state is not this checkout's: its indicator stage would "
                             "recompute every month (see --allow-full)")
        run_id = query_one(con, "run_start", {"inbox": str(inbox), "release": "bench"})
        store, reports = args.warehouse.parent / "landing", args.warehouse.parent / "reports"
        session = ValidationSession(spool=reports / "gx_results", today=date.today())
        with phase("ingest"):
            landed = land([f for f in discover(inbox) if f.refused is None], store, con, run_id)
            staging = staging_for(store) / f"run-{run_id}"
            shutil.rmtree(staging, ignore_errors=True)     # as the night: an earlier run on this copy had this run id
            run_sql(con, "load_begin")
            for item in landed:
                release_cache(con)
                staged = ingest_file(item, run_id, con, staging, session.today or date.today(), session.limit,
                                     hold=True)
                apply_staged(con, run_id, staged, session)
        with phase("reopen (checkpoint)"):
            con = work.reopen(DUCKDB_STAGE_MEMORY_LIMIT)
            run_sql(con, "load_begin")
        checking = ThreadPoolExecutor(max_workers=1)     # as the night: GX beside indicators, snapshot, alerts
        checks = checking.submit(session.finish, con.cursor(), run_id, side)
        with phase("indicators"):
            periods = indicators.update_indicators(con, indicators.changed_periods(con, run_id))
        with phase("snapshot"):
            snapshots = snapshot_stage(con, periods, reports / "maps", draw=side)
        with phase("alerts"), in_transaction(con):
            summary = evaluate_alerts(con, reports_dir=reports, recomputed=periods, html_pool=side,
                                      settings=DeliverySettings())
        with phase("checks (GX) waited for"):
            checks.result()
            checking.shutdown()
        with phase("map files waited for"):
            for snapshot in snapshots:
                snapshot.wait()
        with phase("drift HTML waited for"):
            if summary.drift is not None:
                summary.drift.wait_html()
        with phase("deliver + run_finish"):
            flush(con, DeliverySettings(), log=SentLog.beside(args.warehouse))
            run_sql(con, "run_finish", {"run_id": run_id, "files_seen": len(landed)})
        with phase("final checkpoint"):
            con.execute("CHECKPOINT")
            work.close()
        side.shutdown(wait=True)       # its CPU is counted once it has exited
    print(json.dumps({"periods recomputed": len(periods), "alerts": str(summary),
                      "wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(cpu_seconds(), 1),
                      "night worker cpu_s": round(cpu_seconds(resource.RUSAGE_CHILDREN), 1),
                      "phases": {k: f"{c} CPU-s, {w} s [load {load}]" for k, (c, w, load) in spent.items()}},
                     indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
