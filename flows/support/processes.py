"""Worker processes of a night (the drift HTML's worker, the report's page workers) that end with the night.

Why: a ProcessPoolExecutor's worker waits on its call queue, whose writing end it holds itself, so a night killed
with SIGKILL (or by the OOM killer) left its workers behind for good — each with ≈ 300 MB and the night's stdout and
stderr, so whatever waited for the night's output (a supervisor, a test) waited for them too. multiprocessing gives
a spawned child its parent's sentinel (`multiprocessing.parent_process().sentinel`), ready once the parent is gone:
a thread in each worker waits on it and ends the worker.

A worker's ordinary exit freezes its heap first (freeze_at_exit): the night's worker holds Evidently, Great
Expectations, pandas, plotly and matplotlib, and the collections of the interpreter's finalization walked all of
it — 1.35 CPU-s of its exit, 0.07 with the heap frozen (the same as flows.cli.frozen_heap does for the night's own
process).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import wait

# The exit status of a worker whose night died (nothing reads it: its parent is gone).
ORPHANED = 70


def spawned_pool(max_workers: int, niceness: int = 0) -> ProcessPoolExecutor:
    """Worker processes started by spawn (the night holds DuckDB and Prefect threads, which a fork would copy
    mid-state) that exit when the process that made them dies; `niceness` is added to theirs (os.nice): work that
    may wait yields the cores to the night's own process."""
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(niceness,))


def _start_worker(niceness: int) -> None:
    exit_with_parent()
    freeze_at_exit()
    young_collections_less_often()
    if niceness:
        os.nice(niceness)


def freeze_at_exit() -> None:
    """In a worker: gc.freeze() as the interpreter starts to exit, so the collections of its finalization walk
    none of what the worker's jobs imported and kept (≈1.3 CPU-s of the night worker's exit, on the cores the
    night's delivery and publish run on). Registered before any job runs, it is the last exit handler: every
    library's own handlers (logging's flush, temporary files) still run, and so does the finalization."""
    atexit.register(gc.freeze)


# Allocations between two collections of the youngest generation (CPython's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def young_collections_less_often() -> None:
    """Collect the youngest generation every GC_YOUNG_THRESHOLD allocations instead of every 700.

    Why: a night's Python work makes millions of short-lived objects (WeasyPrint's boxes, matplotlib's artists,
    the report's rows), and each 700 of them started a collection, every tenth of those the next generation's: the
    nation report's process spent 2.1 of its 12.3 CPU-s in collections (3,945 of them), 1.4 with its heap frozen
    (flows.cli.frozen_heap, the night's process), 0.4 with this threshold too (10.5 CPU-s in all). Only reference
    cycles wait for the collector, and they wait for a few thousand allocations more; every other object is still
    freed by its reference count at once. (The page workers measured no gain: 10.8–11.3 CPU-s either way.)

    Every spawned worker (spawned_pool) sets it as it starts. In the night's worker the imports are what it pays for:
    Great Expectations' and Evidently's make millions of objects, and at 700 their allocations started ten full
    collections, each walking all that was imported so far — 1.5 of the 1.8 CPU-s that worker spent in collections on
    nation night 2 (of its ≈ 15; a gc.callbacks probe), 0.8 in all with this threshold (no full collection)."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def freeze_imports() -> None:
    """A worker's job after its imports: what they made goes to the collector's permanent generation (gc.freeze),
    so no collection of the worker's later jobs walks it again, as flows.cli.frozen_heap does in the night's
    process."""
    gc.freeze()


def exit_with_parent() -> None:
    """In a worker: end this process as soon as its parent's sentinel says the parent is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        raise RuntimeError("exit_with_parent runs in a worker process, not in the process that starts them")
    threading.Thread(target=_exit_when_ready, args=(parent.sentinel,), name="exit-with-parent", daemon=True).start()


def _exit_when_ready(sentinel: int) -> None:
    wait([sentinel])
    os._exit(ORPHANED)      # no cleanup to run: the pool's queues and its parent are gone
