"""The ingest stage alone, in one process, with CPU seconds per phase: what to compare when the load changes.

Runs what flows.nightly runs for the ingest stage without Prefect and without the later stages — land, then per
file the in-process task (standardise → validate, its rows to load held in memory as the night holds them:
flows.stages.ingest.ingest_file's hold) and its load (apply_staged), then Building.reopen's CHECKPOINT — on
WAREHOUSE in place (no building copy, nothing published).
Prints CPU and wall seconds of each phase by kind. CPU seconds (getrusage, every thread of the process) are the
figure to compare on a shared machine; run it under `nice` and on a copy. Night 2 is the same command on the
warehouse night 1 left, with the new month's files as the inbox.

    .venv/bin/python bench/bench_ingest_stage.py INBOX WAREHOUSE
    PYTHONPATH=/path/to/other/clone .venv/bin/python bench/bench_ingest_stage.py …   # another version's code
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))   # after PYTHONPATH: another clone's code wins

from rusage import cpu_seconds  # noqa: E402

import flows  # noqa: E402
from flows.stages.ingest import apply_staged, ingest_file  # noqa: E402
from flows.stages.s01_discover import discover  # noqa: E402
from flows.stages.s02_land import land  # noqa: E402
from flows.stages.s05_validate import ValidationSession, registry_keys_once  # noqa: E402
from flows.support.settings import DUCKDB_STAGE_MEMORY_LIMIT  # noqa: E402
from flows.support.staging import staging_for  # noqa: E402
from flows.support.warehouse import Building, apply_schema, query_one, release_cache, run_sql  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inbox", type=Path)
    parser.add_argument("warehouse", type=Path, help="written in place (a copy, or a new file)")
    args = parser.parse_args()
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        c, w = cpu_seconds(), time.perf_counter()
        yield
        spent[name][0] += cpu_seconds() - c
        spent[name][1] += time.perf_counter() - w

    print(f"code: {Path(flows.__file__).parent}", file=sys.stderr)
    c0, w0 = cpu_seconds(), time.perf_counter()
    args.warehouse.parent.mkdir(parents=True, exist_ok=True)
    work = Building(args.warehouse)
    apply_schema(work.con)
    con = work.con
    run_id = query_one(con, "run_start", {"inbox": str(args.inbox), "release": "bench"})
    store = args.warehouse.parent / "landing"
    with phase("land"):
        landed = land([f for f in discover(args.inbox) if f.refused is None], store, con, run_id)
    session = ValidationSession(spool=args.warehouse.parent / "gx_results", today=date.today())
    staging = staging_for(store) / f"run-{run_id}"
    shutil.rmtree(staging, ignore_errors=True)     # as the night: an earlier run on this copy had this run id
    run_sql(con, "load_begin")
    with registry_keys_once(con):      # as flows.nightly.ingest
        for item in landed:
            release_cache(con)
            with phase(f"task {item.kind}"):
                staged = ingest_file(item, run_id, con, staging, session.today or date.today(), session.limit,
                                     hold=True)
            with phase(f"load {item.kind}"):
                outcome = apply_staged(con, run_id, staged, session)
            print(f"{item.name}: {outcome.status}, {outcome.rows_loaded} loaded, {outcome.rows_quarantined} "
                  f"quarantined {outcome.reason or ''}", file=sys.stderr)
    with phase("reopen (checkpoint)"):
        work.reopen(DUCKDB_STAGE_MEMORY_LIMIT)
    work.close()
    print(json.dumps({"cpu_s": round(cpu_seconds() - c0, 1), "wall_s": round(time.perf_counter() - w0, 1),
                      "phases [cpu_s, wall_s]": {k: [round(v, 1) for v in s] for k, s in sorted(spent.items())}},
                     indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
