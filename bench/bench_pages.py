"""The standalone cluster pages of a report's chain section, drawn in one process: CPU per page.

Usage:
    .venv/bin/python bench/bench_pages.py capture WAREHOUSE.duckdb SECTION.pickle
    .venv/bin/python bench/bench_pages.py draw SECTION.pickle OUT_DIR [--repeat N]

`capture` runs the report stage up to its chain section's drawing, as a night does (bench_report's default: the
latest month, zh, internal), on a published warehouse (opened read-only) and keeps the chain section it decided
(s11_chain.chain_content's result, the input of flows/render/chain.py draw_section). `draw` draws every cluster's
standalone page of that section (what the page workers draw at nation scale, _standalone_pages) in this process
into OUT_DIR/<n>/, emptied first so nothing is kept by hash, and prints the CPU seconds per run and per page. The
section is the same bytes whichever checkout draws it, so two checkouts' pages can be timed and compared (diff -r)
on the same input:
    PYTHONPATH=/path/to/checkout .venv/bin/python bench/bench_pages.py draw SECTION.pickle OUT_DIR
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401  (imported before the clock, as in a page worker's first job)
from rusage import cpu_seconds  # noqa: E402

from flows.render import chain  # noqa: E402


def capture(warehouse: Path, target: Path) -> None:
    """Run the report stage on `warehouse` and pickle the chain section it decides into `target`."""
    from flows.stages import s11_report
    from flows.support.warehouse import connect_readonly

    def keep(section: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        target.write_bytes(pickle.dumps(section))
        raise Captured

    chain.start_section = keep
    out = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    try:
        with connect_readonly(warehouse) as con:
            s11_report.report_stage(con, recipients=[], out_root=out / "reports", maps_dir=out / "maps")
    except Captured:
        return
    finally:
        shutil.rmtree(out, ignore_errors=True)
    raise SystemExit(f"{warehouse}: the report decided no chain section")


class Captured(Exception):
    """The section is kept: the rest of the report is not needed."""


def page_jobs(section: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The arguments draw_section gives _standalone_pages for every cluster of the internal edition."""
    if section["audience"] != "internal":
        raise SystemExit("the section is a public edition's: it has no standalone pages")
    scores, names = section["scores"], {b["id"]: b["name"] for b in section["blocks"]}
    tiled = [x["id"] for x in section["ranking"]]
    radar = {"scores": {cid: scores[cid] for cid in tiled}, "median": section["median"],
             "labels": section["dim_labels"], "widest": chain.widest_title(names[cid] for cid in tiled)}
    job = {k: section[k] for k in ("t", "lang", "audience", "weak_note")}
    return section["blocks"], radar, job


def draw(source: Path, out: Path, repeat: int) -> None:
    """Draw every page of the pickled section `repeat` times into out/<n>/; print CPU per run and per page."""
    blocks, radar, job = page_jobs(pickle.loads(source.read_bytes()))
    for n in range(1, repeat + 1):
        chain_dir = out / str(n)
        shutil.rmtree(chain_dir, ignore_errors=True)
        wall, cpu = time.perf_counter(), cpu_seconds()
        chain._standalone_pages(blocks, radar, job, chain_dir)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        print(f"run {n}: {len(blocks)} pages, CPU {cpu:.2f} s = {cpu / len(blocks) * 1e3:.1f} ms a page, "
              f"wall {wall:.2f} s (load average {os.getloadavg()[0]:.2f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture", help="keep the chain section a report decides")
    cap.add_argument("warehouse", type=Path)
    cap.add_argument("section", type=Path)
    drw = sub.add_parser("draw", help="draw every standalone page of a kept section")
    drw.add_argument("section", type=Path)
    drw.add_argument("out", type=Path)
    drw.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if args.command == "capture":
        capture(args.warehouse, args.section)
    else:
        draw(args.section, args.out, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
