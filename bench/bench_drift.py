"""Drift stage at scale: wall time and peak RSS of flows.drift over a generated warehouse.

Usage: .venv/bin/python bench/bench_drift.py WAREHOUSE.duckdb [--months N]
WAREHOUSE is a warehouse built by the nightly flow (e.g. from `clusterwatch sample --scale province`);
it is copied, never written. --months limits the evaluation to the last N months (a nightly increment).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from flows import drift
from flows.alerts import config
from flows.warehouse import run_sql


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--months", type=int, default=0, help="only the last N months (0 = every month)")
    args = ap.parse_args()
    cfg = config()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        shutil.copyfile(args.warehouse, db)
        con = duckdb.connect(str(db))
        run_sql(con, "alerts")
        months = [r[0] for r in con.execute("SELECT DISTINCT period FROM mart.cluster_indicators ORDER BY 1")
                  .fetchall()]
        months = months[-args.months:] if args.months else months
        t0 = time.perf_counter()
        out = drift.run(con, months, months[-1], cfg["rules"]["data_drift"], cfg["drift"]["kinds"], Path(tmp))
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"drift: {len(months)} months, {out.rows:,} result rows, {wall:.1f} s wall, peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
