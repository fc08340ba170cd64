"""Drift stage at scale: wall time, CPU time and peak RSS of flows.stages.s09_drift over a generated warehouse.

Usage: .venv/bin/python bench/bench_drift.py WAREHOUSE.duckdb [--months N] [--tmp DIR]
WAREHOUSE is a warehouse built by the nightly flow (e.g. from `clusterwatch sample --scale province`);
it is copied, never written: the copy goes in a fresh folder under --tmp (default: the system's temporary
folder), is opened with the night's DuckDB memory limit, and is deleted at the end. --months limits the
evaluation to the last N months (a nightly increment); without it every month is scored, as on a first night.

Timed: drift.run (scores for the months → mart.drift_results, the rule over all stored scores, then the
latest month's Evidently HTML) and alerts.conditions, the rest of the alert stage's drift work (unit-jump
evidence; also the threshold rules' SQL). CPU seconds and the load average are printed because other jobs
may share the 2 cores: wall time alone does not say whether a change helped.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from rusage import cpu_seconds

from flows.stages import s09_drift as drift
from flows.stages import s10_alerts as alerts
from flows.support.settings import DUCKDB_MEMORY_LIMIT


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--months", type=int, default=0, help="only the last N months (0 = every month)")
    ap.add_argument("--tmp", type=Path, default=None, help="where the copy is made (a folder with room for it)")
    args = ap.parse_args()
    cfg = alerts.config()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        db = Path(tmp) / "w.duckdb"
        shutil.copyfile(args.warehouse, db)
        con = duckdb.connect(str(db), config={"memory_limit": DUCKDB_MEMORY_LIMIT})
        months = [r[0] for r in con.execute("SELECT DISTINCT period FROM mart.cluster_indicators ORDER BY 1")
                  .fetchall()]
        months = months[-args.months:] if args.months else months
        load_before, cpu0, t0 = os.getloadavg()[0], cpu_seconds(), time.perf_counter()
        out = drift.run(con, months, months[-1], cfg["rules"]["data_drift"], cfg["drift"]["kinds"], Path(tmp))
        t1 = time.perf_counter()
        alerts.conditions(con, cfg, months[-1], out.flags)
        t2, cpu, load_after = time.perf_counter(), cpu_seconds() - cpu0, os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in out.steps.items())
    print(f"drift: {len(months)} months, {out.rows:,} result rows, {len(out.html)} HTML reports; drift.run "
          f"{t1 - t0:.1f} s ({steps}); conditions {t2 - t1:.1f} s")
    print(f"total {t2 - t0:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:.0f} MB, "
          f"load average {load_before:.1f} → {load_after:.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
