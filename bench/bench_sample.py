"""The sample night's wall and CPU split into start-up, the stages, and the ingest's per-file and per-row cost.

Runs one night over the bundled sample inbox into a fresh warehouse, in a fresh process started the way
`clusterwatch run` starts (Prefect's temporary server booted beside the imports), and prints:
  - start-up: process start → the flow ready to run (interpreter, imports, server boot), and shutdown;
  - each stage's wall seconds (NightSummary.seconds), the night's CPU seconds (the process and its children:
    the Prefect server);
  - the ingest's cost model from the Prefect task runs of the night: one `ingest <file>` task per file, its
    duration fitted as a + b·rows (least squares, per file format and overall), so a is the per-file fixed
    cost and b the per-row cost; the residual says how well a line describes it.
The 1-minute load average is printed beside the figures (the machine is shared: at load 10 on 2 cores a
night takes twice as long as on a quiet machine).

    .venv/bin/python bench/bench_sample.py [--inbox data/sample/inbox]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

NIGHT = """
import json, resource, sys, time
import psutil
born = psutil.Process().create_time()
from pathlib import Path
from flows import cli
cli._quiet_prefect()
server = cli.boot_prefect_server()
from flows.nightly import nightly
with cli.prefect_api(server, cli.NIGHT_IMPORTS), cli.frozen_heap():
    ready = time.time()
    state = nightly(inbox=Path(sys.argv[1]), warehouse=Path(sys.argv[2]), reports=Path(sys.argv[3]),
                    return_state=True)
    summary = state.result()
    done = time.time()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    this_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=this_run, limit=200)
    queried = time.time()
rows = {o.name: o.rows_in for o in summary.outcomes}
tasks = [(r.name.split(" ", 1)[1], r.total_run_time.total_seconds()) for r in runs if r.name.startswith("ingest ")]
self = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"born": born, "ready": ready, "done": done, "queried": queried, "stages": summary.seconds,
                  "files": [(name, rows.get(name, 0), sec) for name, sec in tasks],
                  "rows": summary.rows_loaded + summary.rows_quarantined,
                  "cpu_self": self.ru_utime + self.ru_stime}))
"""


def fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """seconds = a + b·rows by least squares: (a, b, root-mean-square residual)."""
    rows = np.array([p[0] for p in points], float)
    secs = np.array([p[1] for p in points], float)
    design = np.column_stack([np.ones_like(rows), rows])
    (a, b), *_ = np.linalg.lstsq(design, secs, rcond=None)
    return float(a), float(b), float(np.sqrt(np.mean((design @ [a, b] - secs) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inbox", type=Path, default=ROOT / "data" / "sample" / "inbox")
    args = parser.parse_args()
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        load0, started = os.getloadavg()[0], time.time()
        before = os.times()
        out = subprocess.run([sys.executable, "-c", NIGHT, str(args.inbox), str(Path(tmp) / "w.duckdb"),
                              str(Path(tmp) / "reports")], check=True, stdout=subprocess.PIPE, text=True,
                             env=env, cwd=ROOT)
        ended, after, load1 = time.time(), os.times(), os.getloadavg()[0]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    cpu_tree = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    wall = ended - started
    print(f"sample night: {wall:.1f} s wall, {cpu_tree:.1f} s CPU (night process {r['cpu_self']:.1f} s, the "
          f"rest its Prefect server) [load {load0:.1f}→{load1:.1f}, {os.cpu_count()} cores]")
    print(f"  start-up {r['ready'] - r['born']:.1f} s (interpreter, imports, Prefect server boot), "
          f"flow {r['done'] - r['ready']:.1f} s, shutdown {ended - r['done']:.1f} s (of which this benchmark's "
          f"query of the task runs {r['queried'] - r['done']:.1f} s)")
    print("  stages: " + " · ".join(f"{stage} {sec:.1f} s" for stage, sec in r["stages"].items()))
    files = r["files"]
    total = sum(sec for *_, sec in files)
    print(f"  ingest tasks: {len(files)} files, {r['rows']:,} rows, {total:.1f} s in the tasks "
          f"(stage {r['stages'].get('ingest', 0):.1f} s)")
    by_format: dict[str, list[tuple[int, float]]] = {}
    for name, rows, sec in files:
        by_format.setdefault(Path(name).suffix.lower() or "?", []).append((rows, sec))
    for label, points in [("all", [(rows, sec) for _, rows, sec in files]), *sorted(by_format.items())]:
        if len(points) < 3:
            print(f"  {label:<9} {len(points):>3} files: too few to fit")
            continue
        a, b, rms = fit(points)
        print(f"  {label:<9} {len(points):>3} files: per file {a * 1000:7.0f} ms + per row {b * 1e6:6.2f} µs "
              f"(rms residual {rms * 1000:.0f} ms; {sum(p[0] for p in points):,} rows)")


if __name__ == "__main__":
    main()
