"""The ingest stage alone, in one process or on a local Dask cluster: where `--workers N` gains or loses.

Runs what `flows.nightly._night` runs from the moment it knows the night has files (the local cluster starts
then, beside the copy of the warehouse) to the end of the ingest stage (land, the per-file tasks, the single
writer's load in file order, the checkpoint of `Building.reopen`), on a copy of --base (or a fresh warehouse), in
a fresh process with its own temporary Prefect server. Printed, with the 1-minute load average before → after:
  - wall seconds of each part: copy, migrations + checkpoint (apart: a published warehouse of this release
    has none), land, loaded (the last file), the checkpoint;
  - CPU seconds of this night's process (the coordinator: the single writer, the reference snapshots, the files
    it checks itself) and of the Dask workers (reaped when the cluster stops), from the landing on;
  - the seconds the coordinator waited for a worker's result (time the single writer stood idle).
On 2 shared cores wall seconds follow the load average; the CPU seconds and the wait are the figures to compare.

    # night 2 of the nation: the *_2025-12 files shifted to a month the warehouse has not seen
    .venv/bin/python bench/bench_scaleout.py INBOX --base /work/scale/nation/wh_v6_after_night2.duckdb \
        --work /tmp/scaleout --workers 2
    .venv/bin/python bench/bench_scaleout.py INBOX --work /tmp/scaleout --workers 0   # a fresh warehouse

The copy of --base is deleted afterwards (a nation warehouse is 3.5 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import json, resource, shutil, sys, time
from datetime import date
from pathlib import Path
import prefect_dask.task_runners as runners
from prefect import flow
import flows.nightly as nightly
from flows.stages.s01_discover import discover
from flows.stages.s05_validate import ValidationSession
from flows.support.cluster import local_workers
from flows.support.settings import landing_for, release
from flows.support.staging import staging_for
from flows.support.warehouse import Building, apply_schema, query_one

waited = [0.0]
plain_result = runners.PrefectDaskFuture.result

def timed_result(self, *args, **kwargs):
    started = time.perf_counter()
    try:
        return plain_result(self, *args, **kwargs)
    finally:
        waited[0] += time.perf_counter() - started

runners.PrefectDaskFuture.result = timed_result

def cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime

@flow(name="bench-scaleout")
def ingest_only(inbox: Path, warehouse: Path, workers: int, base: str) -> dict:
    t = {"start": time.perf_counter()}
    with local_workers(workers) as local:
        if base:
            shutil.copyfile(base, warehouse)
        t["copied"] = time.perf_counter()
        work = Building(warehouse)
        apply_schema(work.con)
        work.con.execute("CHECKPOINT")
        t["migrated"] = time.perf_counter()
        self0, children0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
        con = work.con
        files = [f for f in discover(inbox) if f.refused is None]
        run_id = query_one(con, "run_start", {"inbox": str(inbox), "release": release()})
        landed = nightly.land_task(files, landing_for(warehouse), con, run_id)
        t["landed"] = time.perf_counter()
        session = ValidationSession(spool=warehouse.parent / "reports" / "gx_results", today=date.today())
        staging = staging_for(landing_for(warehouse)) / f"run-{run_id}"
        loaded = []
        with nightly.ingest_runner(local, None) as runner:
            for outcome in nightly.ingest(con, run_id, landed, session, staging, runner):
                loaded.append((outcome.name, round(time.perf_counter() - t["start"], 2)))
        t["loaded"] = time.perf_counter()
        if local is not None:
            local.close()
        shutil.rmtree(staging, ignore_errors=True)
        work.reopen()
        t["checkpointed"] = time.perf_counter()
    result = {"parts": {k: round(v - t["start"], 2) for k, v in t.items()}, "files": loaded,
              "ingest": round(t["checkpointed"] - t["migrated"], 2),
              "cpu_coordinator": round(cpu(resource.RUSAGE_SELF) - self0, 1),
              "cpu_workers": round(cpu(resource.RUSAGE_CHILDREN) - children0, 1), "waited": round(waited[0], 1)}
    work.close()
    return result

print("RESULT " + json.dumps(ingest_only(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--work", type=Path, required=True, help="a folder of its own (emptied first)")
    parser.add_argument("--base", type=Path, help="a published warehouse the night starts from (copied)")
    parser.add_argument("--workers", type=int, default=0, help="local Dask worker processes (0: one process)")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    load0 = os.getloadavg()[0]
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.inbox), str(args.work / "cw.duckdb"),
                              str(args.workers), str(args.base or "")], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode or not line:
        raise SystemExit(f"the ingest failed (exit {out.returncode})")
    r = json.loads(line[0].removeprefix("RESULT "))
    p = r["parts"]
    print(f"{'one process' if not args.workers else f'{args.workers} Dask workers'}, {len(r['files'])} files, "
          f"{os.cpu_count()} cores [load {load0:.1f}→{os.getloadavg()[0]:.1f}]")
    print(f"  ingest {r['ingest']:.1f} s: land {p['landed'] - p['migrated']:.1f} · tasks + load "
          f"{p['loaded'] - p['landed']:.1f} · checkpoint {p['checkpointed'] - p['loaded']:.1f} s "
          f"(before it: copy {p['copied']:.1f} s, migrations + checkpoint {p['migrated'] - p['copied']:.1f} s)")
    print(f"  CPU: coordinator {r['cpu_coordinator']:.1f} s, workers {r['cpu_workers']:.1f} s; "
          f"the coordinator waited {r['waited']:.1f} s for the cluster")
    shown = r["files"] if len(r["files"]) <= 12 else [*r["files"][:6], ("…", float("nan")), *r["files"][-3:]]
    print("  loaded at " + ", ".join(name if name == "…" else f"{name} {at:.1f}" for name, at in shown))


if __name__ == "__main__":
    main()
