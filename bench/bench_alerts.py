"""The alert stage of a night again, on a copy of a published warehouse: wall and CPU per step, full vs incremental.

Usage: .venv/bin/python bench/bench_alerts.py WAREHOUSE.duckdb [--full] [--as-current] [--tmp DIR]
WAREHOUSE is a warehouse a night published (e.g. bench_ingest's after night 2); it is copied, never written:
the copy goes in a fresh folder under --tmp (default: the system's temporary folder) and is deleted at the end.
The copy is opened with the night's DuckDB memory limit (CLUSTERWATCH_DUCKDB_MEMORY_LIMIT) and the stage runs in
one transaction, as the nightly flow runs it, so the peak RSS printed is the stage's as a night sees it.
The stage runs as that night ran it: the drift months from the last run's changes and, unless --full, only
the conditions that the night's recomputed indicator months reach (s07 affected_periods of the last run's
changes, what the nightly flow passes). --full evaluates every month, as before alerts were incremental.
--as-current takes the stored conditions as evaluated by this checkout's rules (restamps their fingerprint), so a
change to the rules' SQL that keeps their results (a faster query) is timed on the incremental path; never use it
for a change of what the rules say.
To time another checkout's code (a baseline), put it first on the path:
    PYTHONPATH=/path/to/checkout .venv/bin/python bench/bench_alerts.py WAREHOUSE --full
The Evidently HTML renders in a process of its own, as in the night (where the report stage hides it); how long
after the stage it was done is printed apart. The load average is printed beside the figures: the machine may
be shared.
"""

from __future__ import annotations

import argparse
import inspect
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from rusage import cpu_seconds

from flows.stages import s07_indicators as indicators
from flows.stages import s10_alerts as alerts
from flows.stages.s12_deliver import DeliverySettings
from flows.support import warehouse
from flows.support.processes import spawned_pool
from flows.support.settings import DUCKDB_MEMORY_LIMIT


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--full", action="store_true", help="evaluate every month's conditions")
    ap.add_argument("--as-current", action="store_true",
                    help="take the stored conditions as evaluated under this code's rules (see above)")
    ap.add_argument("--tmp", type=Path, default=None, help="where the copy is made (a folder with room for it)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        db = Path(tmp) / "w.duckdb"
        shutil.copyfile(args.warehouse, db)
        con = duckdb.connect(str(db), config={"memory_limit": DUCKDB_MEMORY_LIMIT})
        if hasattr(warehouse, "apply_schema"):   # a warehouse of an earlier schema version, as a night migrates it
            warehouse.apply_schema(con)
        if args.as_current:
            con.execute("UPDATE mart.alert_conditions SET fingerprint = $stamp",
                        {"stamp": alerts.fingerprint(alerts.config())})
        run_id = con.execute("SELECT max(run_id) FROM meta.runs").fetchone()[0]
        changed = indicators.changed_periods(con, run_id)
        first, last = indicators.data_range(con)
        recomputed = None if changed is None else indicators.affected_periods(
            {c.replace(day=1) for c in changed}, first, last)
        options: dict = {}
        accepts = inspect.signature(alerts.evaluate_alerts).parameters
        if "recomputed" in accepts and not args.full:
            options["recomputed"] = recomputed
        pool = spawned_pool(1)
        if "html_pool" in accepts:     # as the night runs it: the Evidently HTML in a process of its own
            options["html_pool"] = pool
        load0, cpu0, t0 = os.getloadavg()[0], cpu_seconds(), time.perf_counter()
        con.begin()
        summary = alerts.evaluate_alerts(con, reports_dir=Path(tmp) / "reports",
                                         settings=DeliverySettings(), **options)
        con.commit()
        wall, cpu, load1 = time.perf_counter() - t0, cpu_seconds() - cpu0, os.getloadavg()[0]
        if summary.drift is not None and hasattr(summary.drift, "wait_html"):
            summary.drift.wait_html()
        html_after = time.perf_counter() - t0 - wall
        pool.shutdown()
        con.close()
    d = summary.drift
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in d.steps.items()) if d else ""
    mode = "incremental" if "recomputed" in options else "every month"
    print(f"alerts ({mode}; run {run_id} changed "
          f"{f'{len(changed)} months' if changed is not None else 'a registry'}, recomputed "
          f"{f'{len(recomputed)} months' if recomputed is not None else 'every month'}): {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU; drift {d.seconds if d else 0:.1f} s ({len(d.periods) if d else 0} months; {steps}); "
          f"rest {wall - (d.seconds if d else 0):.1f} s; {len(summary.alerts)} episodes; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"[load {load0:.1f}→{load1:.1f}, {os.cpu_count()} cores]")
    if "html_pool" in options:
        print(f"  Evidently HTML in its own process: done {html_after:.1f} s after the stage "
              f"({cpu_seconds(resource.RUSAGE_CHILDREN):.1f} s CPU there)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
