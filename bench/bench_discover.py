"""What a night does before its first stage, in CPU seconds: discover the inbox, hash the files the inbox's hash
record does not know (flows.support.file_hashes), tell the new ones (flows.nightly.new_files, which opens
WAREHOUSE read-only), write the record. The night times all this as its "discover" stage.

The record is RECORD (never the one beside WAREHOUSE's landing store: the warehouse may be read-only, e.g. the
nation's). Each run starts from the record the first run left, with the entries of the files matching --arriving
dropped: those files are hashed as a night hashes the month that just arrived. Without --arriving every run reuses
the whole record (a night with nothing new); with --no-record every file is hashed, as before the record.

    .venv/bin/python bench/bench_discover.py INBOX WAREHOUSE RECORD --arriving '*_2025-12.*'
    .venv/bin/python bench/bench_discover.py INBOX WAREHOUSE RECORD --no-record
"""

from __future__ import annotations

import argparse
import sys
import time
from fnmatch import fnmatch
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))   # after PYTHONPATH: another clone's code wins

from rusage import cpu_seconds  # noqa: E402

from flows.nightly import new_files  # noqa: E402
from flows.stages.s01_discover import discover  # noqa: E402
from flows.support.file_hashes import load_record, save_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inbox", type=Path)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("record", type=Path)
    parser.add_argument("--arriving", help="glob of the file names a night hashes as newly arrived")
    parser.add_argument("--no-record", action="store_true", help="hash every file (the night before the record)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.no_record:
        first = load_record(args.record)
        files = discover(args.inbox, first)
        save_record(args.record, [f.hashed for f in files], first)
        recorded = load_record(args.record)
        unsettled = [f.name for f in files if f.hashed.identity is None]
        if unsettled:
            print(f"{len(unsettled)} files changed in the last minute are not recorded: {', '.join(unsettled)}")
        names = {f.hashed.identity[:2]: f.name for f in files if f.hashed.identity is not None}
        base = {key: h for key, h in recorded.items() if not (args.arriving and fnmatch(names[key], args.arriving))}
    for _ in range(args.repeat):
        if not args.no_record:
            args.record.unlink()        # written anew below, or absent when every entry is dropped
            save_record(args.record, base.values(), {})
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        record = {} if args.no_record else load_record(args.record)
        files = [f for f in discover(args.inbox, record) if f.refused is None]
        new, _ = new_files(files, args.warehouse)
        if not args.no_record:
            save_record(args.record, [f.hashed for f in files], record)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        hashed = sum(f.known is None for f in files)
        mb = sum(f.path.stat().st_size for f in files if f.known is None) / 1e6
        print(f"{len(files)} files, {hashed} hashed ({mb:,.0f} MB), {len(new)} new: "
              f"{cpu:.3f} CPU-s, {wall:.3f} s wall")


if __name__ == "__main__":
    main()
