"""The unit check's history read (flows.stages.s05_validate._history_medians) for one file, on each of its paths.

Opens WAREHOUSE read-only (many processes may: a published nation warehouse needs no copy), standardises FILE to
get the firms it names, and times _history_medians for its kind's history specs: the path the settings pick for
this table and file, then each path forced — the one read (validation_history_one_read.sql), the window read
(validation_history.sql beyond the window, validation_history_whole.sql within it) and, within the window, the
all-firms read (validation_history_whole_all_firms.sql). CPU milliseconds per call after an untimed one
(getrusage: every thread) are the figure to compare on a shared machine; the load average is printed beside
them. Every path's answers must equal the first's (exit 1 otherwise): the thresholds in
flows/support/settings.py pick by cost, never by answer.

    .venv/bin/python bench/bench_history.py WAREHOUSE FILE [--runs 3]
    e.g. /work/scale/nation/wh_v6_after_night2.duckdb /work/scale/nation/inbox/monthly_2025-12.parquet
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb
import polars as pl

sys.path.append(str(Path(__file__).resolve().parent.parent))   # after PYTHONPATH: another clone's code wins

from rusage import cpu_seconds  # noqa: E402

from flows.stages import s05_validate  # noqa: E402
from flows.stages.s04_standardise import standardise  # noqa: E402
from flows.support import settings  # noqa: E402
from flows.support.contract import kind_of  # noqa: E402

PATHS = {   # label → (HISTORY_ONE_READ_ROWS, HISTORY_ALL_FIRMS_SHARE)
    "configured": (settings.HISTORY_ONE_READ_ROWS, settings.HISTORY_ALL_FIRMS_SHARE),
    "one read": (float("inf"), settings.HISTORY_ALL_FIRMS_SHARE),
    "window read": (0, float("inf")),
    "window read, all firms first (within the window)": (0, 0.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    kind = kind_of(args.file.name)
    if kind is None:
        sys.exit(f"{args.file.name}: not a file name of a known kind")
    std = standardise(args.file, kind, file_name=args.file.name)
    _, derived = s05_validate.suite_rules(kind)
    specs = [s for s in derived.values() if s["fn"] == "history_ratio" and s["column"] in std.frame.columns]
    if not specs:
        sys.exit(f"{args.file.name}: its kind ({kind}) has no history check")
    con = duckdb.connect(str(args.warehouse), read_only=True)
    con.execute("SET memory_limit = $m", {"m": settings.DUCKDB_MEMORY_LIMIT})
    measures = ", ".join(f"{s['table']}.{s['column']}" for s in specs)
    print(f"{args.file.name}: {std.frame['uscc'].n_unique():,} firms; {measures}")
    first = None
    for label, (rows, share) in PATHS.items():
        settings.HISTORY_ONE_READ_ROWS, settings.HISTORY_ALL_FIRMS_SHARE = rows, share
        spent = []
        with con.cursor() as cur:     # untimed: the first call of a path warms DuckDB's cache
            s05_validate._history_medians(cur, std.frame, specs)
        for _ in range(args.runs):
            c = cpu_seconds()
            with con.cursor() as cur:
                got = s05_validate._history_medians(cur, std.frame, specs)
            spent.append(cpu_seconds() - c)
        answers = {(s["table"], s["column"]): got[(s["table"], int(s.get("months", 12)))].select(  # what derive uses
            "uscc", pl.col(s["column"]).struct.unnest()).filter(pl.col("months") >= s05_validate._min_months(s))
            .sort("uscc") for s in specs}
        first = first or answers
        same = all(answers[k].equals(first[k]) for k in first)
        print(f"  {label:52s} {' / '.join(f'{1000 * s:.1f}' for s in spent)} ms CPU  [load {os.getloadavg()[0]:.1f}]"
              f"{'' if same else '  ANSWERS DIFFER'}", flush=True)
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
