"""The report stage of a night again, on a published warehouse: wall and CPU of the stage and of its parts.

Usage: .venv/bin/python bench/bench_report.py WAREHOUSE.duckdb [--editions] [--out DIR]
WAREHOUSE is a warehouse a night published (e.g. `clusterwatch run --warehouse …` on the sample); it is opened
read-only. Without --editions the stage runs as the nightly flow runs it (report_stage: the latest month, zh,
internal; nothing queued); with --editions the four editions (zh/en × internal/public) are rendered one after the
other. matplotlib and WeasyPrint are imported before the clock starts, as a night has imported them by then.
With --begun the stage runs as a night now runs it: the edition begun and its trend charts drawn in a worker process
first and its supply-chain section prepared (s11_report.begin_reports, before and beside the night's alert stage),
then the stage timed from there.
To time another checkout's code (a baseline), put it first on the path:
    PYTHONPATH=/path/to/checkout .venv/bin/python bench/bench_report.py WAREHOUSE
The parts (PDF, trend charts, the supply-chain section's drawing, the wait for the standalone pages drawn by worker
processes) are timed where this checkout has them; the stage's CPU includes the worker processes', a part's CPU is
this process's only. The load average is printed beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401  (imported before the clock, as in a night)
import weasyprint  # noqa: E402,F401  (a night imports it while its Prefect server boots: flows/cli.py NIGHT_IMPORTS)
from rusage import cpu_seconds  # noqa: E402

from flows.render import chain, report  # noqa: E402
from flows.stages import s11_chain, s11_report  # noqa: E402
from flows.stages.s08_snapshot import prepare_drawing  # noqa: E402
from flows.support.processes import spawned_pool  # noqa: E402
from flows.support.warehouse import connect_readonly  # noqa: E402

# this process and the worker processes it has waited for (the standalone pages' workers)
TREE = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)

PARTS = {"edition (disclosure control)": (s11_report, "_edition"), "supply-chain content": (s11_chain, "prepare"),
         "trend charts": (report, "trend_charts"), "map": (s11_report, "_map"),
         "chain section drawing": (chain, "finish_section"), "html": (report, "report_html"),
         "pdf (WeasyPrint)": (report, "write_pdf"), "waiting for the pages' workers": (chain, "wait_pages")}


def timed(spent: dict[str, list[float]], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), cpu_seconds()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label][0] += time.perf_counter() - wall
            spent[label][1] += cpu_seconds() - cpu
    return run


def _begun(con: Any, side: Executor, out: Path, spent: dict[str, list[float]]) -> list[s11_report.Begun]:
    """The night's editions begun, their trend charts drawn in `side` (the night's worker, its drawing imports done),
    before the clock starts; the parts timed meanwhile are dropped from `spent`."""
    side.submit(prepare_drawing).result()
    begun = s11_report.begin_reports(con, side, out_root=out / "reports", maps_dir=out / "maps")
    for b in begun:
        if b.ahead is not None:
            b.ahead.result()
        if b.chain is not None:
            b.chain.result()
    print(f"begun ahead: {len(begun)} editions, their trend charts drawn in a worker process, their supply-chain "
          "sections prepared")
    spent.clear()
    return begun


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--editions", action="store_true", help="render zh/en × internal/public")
    ap.add_argument("--out", type=Path, help="where the report goes (default: a temporary folder, removed)")
    ap.add_argument("--begun", action="store_true", help="begin the edition and draw its trend charts in a worker "
                    "process before the clock starts, as the night does beside its alert stage")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_report_"))
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for label, (module, name) in PARTS.items():
        if hasattr(module, name):
            setattr(module, name, timed(spent, label, getattr(module, name)))
    try:
        with connect_readonly(args.warehouse) as con, spawned_pool(1) as side:
            begun = _begun(con, side, out, spent) if args.begun else []
            wall, cpu, own = time.perf_counter(), cpu_seconds(*TREE), cpu_seconds()
            if args.editions:
                period = s11_report.latest_period(con)
                for lang in ("zh", "en"):
                    for audience in ("internal", "public"):
                        s11_report.render_report(con, period, lang=lang, audience=audience,
                                                 out_dir=out / "reports" / f"{period:%Y-%m}", maps_dir=out / "maps")
            else:
                s11_report.report_stage(con, recipients=[], out_root=out / "reports", maps_dir=out / "maps",
                                        begun=begun)
            wall, cpu, own = time.perf_counter() - wall, cpu_seconds(*TREE) - cpu, cpu_seconds() - own
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    print(f"report stage{' (4 editions)' if args.editions else ''}: wall {wall:.2f} s, CPU {cpu:.2f} s "
          f"(load average {os.getloadavg()[0]:.2f}); this process CPU {own:.2f} s, worker processes {cpu - own:.2f} s")
    for label, (part_wall, part_cpu) in spent.items():
        print(f"  {label:24s} wall {part_wall:6.2f} s, CPU {part_cpu:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
