"""The local Dask cluster of `clusterwatch run --workers N`, started while the night does its serial first steps.

A worker process costs seconds before its first task: Python, distributed, then — when the first task arrives and
is unpickled — the pipeline itself (Prefect, polars, DuckDB, flows.nightly: ≈ 2–4 CPU-s each). Started at the
first submit, as DaskTaskRunner does with cluster_kwargs, all of it lay on the ingest's path after the landing.
Here the cluster starts in a thread of its own as soon as the night knows it has files to load, and its workers
import the pipeline at start-up (Dask's `preload`: this module's `dask_setup`), while this process copies the
warehouse, migrates it and lands the files; the ingest then hands the running cluster to DaskTaskRunner
(`cluster=`). The workers run at a lower priority than this process (`WORKER_NICE`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flows.support.memory import configure_polars_allocator
from flows.support.processes import freeze_imports, young_collections_less_often

if TYPE_CHECKING:
    from distributed import LocalCluster, Worker

# What a worker imports at start-up: the module whose tasks the ingest sends (its functions are unpickled there).
TASKS_MODULE = "flows.nightly"
# How much nicer the local workers run than this process (CLUSTERWATCH_WORKER_NICE, default 10). They share this
# machine's cores with the process that holds the warehouse, whose load of file i is the night's critical path
# while they parse files i+1, …: at +10 (a tenth of the CPU share under contention) they take what the single
# writer leaves, and all of a core it does not use. On a machine other work shares, 0 keeps them its equals.
WORKER_NICE = int(os.environ.get("CLUSTERWATCH_WORKER_NICE", "10"))
# How long a local worker's polars allocator keeps the pages of a file's frames once they are freed
# (CLUSTERWATCH_WORKER_DIRTY_DECAY_MS, default -1: never handed back; flows.support.memory). A worker lives for one
# ingest and does nothing but read and check files one after another, so each file's frames reuse the last one's pages
# instead of being faulted in and zeroed again; its RSS stays at its largest file's. Nation night 1 on 2 workers
# (bench/bench_scaleout.py, load 6-9): the workers' system CPU 23.7 -> 10.0 s, their CPU 69.4 -> 55.5 s, their peak
# RSS 2.4-2.6 -> 2.8-3.0 GB (with the night's own 10 s: its page faults 3.3-3.6 M -> 1.0 M each).
WORKER_DIRTY_DECAY_MS = int(os.environ.get("CLUSTERWATCH_WORKER_DIRTY_DECAY_MS", "-1"))
# The least a night must hand the local cluster to start one (CLUSTERWATCH_CLUSTER_MIN_MB, default 256): the
# bytes of the files its workers would read (each wave's files but the first, which the night reads itself). A
# local cluster costs the same whatever it takes — its workers' start (≈ 3.7 CPU-s each with the pipeline's
# imports) on the cores the night's copy and migrations use, a reference snapshot per wave, the round trips —
# and gains in proportion to what it reads. Measured on 2 cores (bench/bench_scaleout.py and bench_ingest.py,
# 2 workers vs one process, nation warehouse): night 2 hands it 65 MB (tax + procurement) and loses 1.3 s of 9.9;
# night 1 hands it ≈ 880 MB and gains 3.9 s of 90.7. A line through the two: gain ≈ 6.4 ms a MB − 1.7 s, zero
# at ≈ 270 MB. Below it the night runs in one process, as without --workers, and says so (nightly.cluster_mb).
CLUSTER_MIN_MB = int(os.environ.get("CLUSTERWATCH_CLUSTER_MIN_MB", "256"))
# Dask's monitoring on the local cluster, which costs CPU for every second the cluster runs, busy or idle, on the
# cores its workers share with the single writer: the event loop's tick (every 20 ms in the scheduler, each nanny and
# each worker: a warning when a loop was blocked), the system monitor (every 500 ms: psutil's CPU and memory figures
# for the dashboard) and each worker's statistical profiler (every 10 ms a walk of the task thread's stack, for the
# dashboard's profile page). Nobody looks at a night's dashboard. An idle cluster of 2 workers for 30 s (load 12):
# this process 1.07–1.21 → 0.17–0.19 CPU-s, the workers 1.61–1.68 → 0.15. The memory monitor that pauses, spills or
# restarts a worker (distributed.worker.memory.monitor-interval) keeps its interval.
QUIET_MONITORING = {"distributed.admin.tick.interval": "1s", "distributed.admin.system-monitor.interval": "5s",
                    "distributed.worker.profile.enabled": False}


def dask_setup(worker: Worker) -> None:
    """Dask's preload hook, run in each local worker process before it joins the cluster: lower the priority of
    its threads (those it starts later — the task thread, DuckDB's and polars' pools — inherit it), set its polars
    allocator's page decay (before the pipeline imports polars) and import the pipeline, with the collector's
    youngest generation collected less often and what the import made frozen after it, as in the night's own
    worker processes (flows.support.processes.young_collections_less_often)."""
    for thread in os.listdir("/proc/self/task"):
        os.setpriority(os.PRIO_PROCESS, int(thread), min(os.getpriority(os.PRIO_PROCESS, int(thread)) + WORKER_NICE,
                                                         19))
    configure_polars_allocator(WORKER_DIRTY_DECAY_MS)
    young_collections_less_often()
    importlib.import_module(TASKS_MODULE)
    freeze_imports()


def _start(workers: int) -> LocalCluster:
    import dask
    from distributed import LocalCluster

    # The scheduler's HTTP endpoint (dashboard, health) on a free port: two nights on one machine never collide.
    # The scheduler and nannies read QUIET_MONITORING as they are made; each nanny hands its workers its own copy.
    with dask.config.set(QUIET_MONITORING):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address="127.0.0.1:0", preload=[__name__])


class LocalWorkers:
    """A local cluster of `workers` processes, starting in a background thread from construction on."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dask-start")
        self._starting: Future[LocalCluster] = self._pool.submit(_start, workers)
        self._closed = False

    def cluster(self) -> LocalCluster:
        """The running cluster (waits for its start; raises what the start raised)."""
        return self._starting.result()

    def close(self) -> None:
        """Stop the workers (their memory back before the stages after the ingest); idempotent. A start that
        failed has nothing to stop: its error is raised by `cluster()`, where the night uses the cluster."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True)
        if self._starting.exception() is None:
            self._starting.result().close()


@contextmanager
def local_workers(workers: int) -> Iterator[LocalWorkers | None]:
    """Start a local cluster of `workers` processes now (None: no cluster, nothing of Dask imported); stopped on
    exit at the latest."""
    if not workers:
        yield None
        return
    started = LocalWorkers(workers)
    try:
        yield started
    finally:
        started.close()
