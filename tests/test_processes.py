"""A night's worker processes (flows.support.processes) end when the night's process is killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A process that starts a worker, prints its pid and dies by SIGKILL, as a night killed mid-way does.
KILLED_WITH_A_WORKER = """
import os, signal, sys
from flows.support.processes import spawned_pool
if __name__ == "__main__":
    pool = spawned_pool(1)
    print(pool.submit(os.getpid).result(), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_worker_ends_when_the_process_that_started_it_is_killed(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED_WITH_A_WORKER)
    # capture_output: before exit_with_parent, the orphaned worker held these pipes open and this call timed out
    killed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert killed.returncode == -9, killed.stderr
    worker = int(killed.stdout.split()[0])
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


def test_workers_given_a_niceness_run_that_much_nicer_than_the_process_that_started_them() -> None:
    """The report's page workers, drawing beside the night's alerts, yield the cores to the night's own process."""
    from flows.support.processes import spawned_pool

    with spawned_pool(1, niceness=4) as nicer, spawned_pool(1) as plain:
        assert nicer.submit(os.nice, 0).result() == os.nice(0) + 4
        assert plain.submit(os.nice, 0).result() == os.nice(0)


# What a worker keeps until it exits: a heap of container objects, as the night's worker keeps the libraries its
# jobs imported (Evidently, Great Expectations, pandas, plotly, matplotlib).
_KEPT: list = []


def _keep_a_heap(n: int) -> int:
    _KEPT.append([{"n": [i]} for i in range(n)])
    return os.getpid()


def _exit_cpu(pool) -> float:
    """CPU seconds the pool's one worker spends exiting once it has built its heap."""
    import resource

    import psutil

    def children() -> float:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime

    worker = psutil.Process(pool.submit(_keep_a_heap, 2_000_000).result())
    before, spent = children(), sum(worker.cpu_times()[:2])
    pool.shutdown(wait=True)
    return children() - before - spent


def test_a_worker_exits_without_collecting_the_heap_its_jobs_kept() -> None:
    """The night's worker ends beside the delivery and the publish: its exit must not walk everything it imported
    (1.35 CPU-s of the night worker's exit before its heap was frozen at exit, 0.07 after)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from flows.support.processes import spawned_pool

    frozen = _exit_cpu(spawned_pool(1))
    unfrozen = _exit_cpu(ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")))
    assert unfrozen > 0.1, unfrozen     # the heap is big enough for its collection to show
    assert frozen < unfrozen / 4, (frozen, unfrozen)


def test_a_page_worker_imports_no_warehouse_or_geometry_library():
    """The report's page workers draw with flows/render/chain.py: its imports are each worker's start (DuckDB,
    pyarrow and shapely are the maps module's, ≈ 0.12 CPU-s of it)."""
    heavy = ("duckdb", "pyarrow", "shapely", "flows.render.maps")
    probe = f"import sys\nimport flows.render.chain\nprint(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert loaded.stdout.split() == []


def _collector_state() -> tuple[int, int, int, bool]:
    """A worker's youngest-generation threshold, the objects frozen and those the collector still walks, and whether
    GX and Evidently are imported."""
    import gc

    return (gc.get_threshold()[0], gc.get_freeze_count(), len(gc.get_objects()),
            {"great_expectations", "evidently"} <= set(sys.modules))


def test_the_night_worker_collects_its_young_objects_less_often_and_freezes_what_its_imports_made() -> None:
    """Great Expectations' and Evidently's imports make millions of objects: at CPython's threshold of 700 their
    allocations started ten full collections walking all that was imported so far (1.5 CPU-s of the night worker's
    1.8 in collections on nation night 2), and every later full collection walked it again."""
    from flows.nightly import night_worker
    from flows.support.processes import GC_YOUNG_THRESHOLD

    with night_worker() as pool:
        threshold, frozen, walked, imported = pool.submit(_collector_state).result()
    assert imported      # the state is read after the worker's imports, which it froze
    assert threshold == GC_YOUNG_THRESHOLD
    assert frozen > 100_000 and walked < frozen / 10, (frozen, walked)
