"""Ingest benchmark: land + standardise + validate + load at province or nation scale.

Night 1 loads everything but the last month; night 2 adds that month. Each night runs the real Prefect
flow in a fresh process, so its peak RSS is its own (the whole night's: ingest and the stages after it).
Prints, per night, the ingest stage's wall seconds and rows per second, the other stages' seconds, the
night's wall seconds and peak RSS.

    .venv/bin/python bench/bench_ingest.py --scale province      # make bench-ingest
    .venv/bin/python bench/bench_ingest.py --scale nation --last-month 2025-12
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NIGHT = """
import json, resource, sys, time
from pathlib import Path
from flows.nightly import nightly
t = time.perf_counter()
s = nightly(inbox=Path(sys.argv[1]), warehouse=Path(sys.argv[2]), reports=Path(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - t, "stages": s.seconds, "files": len(s.outcomes),
                  "rows_loaded": s.rows_loaded,
                  "rows_quarantined": s.rows_quarantined,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def month_tokens(month: str) -> tuple[str, ...]:
    year, mo = month.split("-")
    return (month, f"{year}{mo}", f"{year}年{int(mo)}月")


def split_inbox(inbox: Path, work: Path, month: str) -> tuple[Path, Path]:
    """Night 1: every file except the last month's; night 2: the whole inbox (hard links, no copies)."""
    first, second = work / "night1", work / "night2"
    for folder in (first, second):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for path in sorted(inbox.iterdir()):
        os.link(path, second / path.name)
        if not any(token in path.name for token in month_tokens(month)):
            os.link(path, first / path.name)
    return first, second


def run_night(inbox: Path, warehouse: Path) -> dict:
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    out = subprocess.run([sys.executable, "-c", NIGHT, str(inbox), str(warehouse), str(warehouse.parent / "reports")],
                         check=True, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=("province", "nation"), default="province")
    parser.add_argument("--data", type=Path, help="generated scale folder (default data/scale/<scale>)")
    parser.add_argument("--last-month", default="2025-12")
    args = parser.parse_args()
    data = args.data or ROOT / "data" / "scale" / args.scale
    if not (data / "inbox").is_dir():
        from flows.sample.generate import generate

        started = time.perf_counter()
        generate(data, scale=args.scale)
        print(f"generated {args.scale} scale in {time.perf_counter() - started:.0f} s → {data}")
    work = data / "bench"
    first, second = split_inbox(data / "inbox", work, args.last_month)
    warehouse = work / "warehouse" / "clusterwatch.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    for label, inbox in (("night 1 (history)", first), (f"night 2 (+{args.last_month})", second)):
        r = run_night(inbox, warehouse)
        rows, ingest = r["rows_loaded"] + r["rows_quarantined"], r["stages"]["ingest"]
        print(f"{label:<22} files {r['files']:>4}  rows {rows:>12,}  ingest {ingest:8.1f} s "
              f"{rows / ingest:>11,.0f} rows/s  night {r['seconds']:8.1f} s  peak RSS {r['peak_rss_mb']:8,.0f} MB")
        print(" " * 23 + " · ".join(f"{stage} {sec:.1f} s" for stage, sec in r["stages"].items()))
    print(f"warehouse {warehouse} ({warehouse.stat().st_size / 2**20:,.0f} MB)")


if __name__ == "__main__":
    main()
