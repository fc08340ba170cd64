"""The same night in one process, on a local Dask cluster, and on a real `dask scheduler` with `dask worker`
processes started apart (one of them killed mid-night): the published warehouses are the same."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_UNDER_TEST, free_port

pytestmark = pytest.mark.night

# What a night publishes that must not depend on where its files were read. Columns that name the run or the
# moment (run ids, timestamps) or a path of this test's folders are left out.
COMPARED = ("mart", "core", "quarantine")
COMPARED_META = ("files", "row_flags", "file_columns", "validation_results")
IGNORED_COLUMNS = {"run_id", "landed_path"}
DASK = Path(sys.executable).with_name("dask")


def published(warehouse: Path) -> dict[str, tuple[set[int], list[tuple]]]:
    """Every compared table as (positions of floating-point columns, rows in a canonical order)."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN (SELECT unnest($s)) "
            "OR (schema_name = 'meta' AND table_name IN (SELECT unnest($m))) ORDER BY 1, 2",
            {"s": list(COMPARED), "m": list(COMPARED_META)}).fetchall()
        for schema, table in tables:
            cols = [(c, t) for c, t in con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [schema, table]).fetchall()
                    if not t.startswith("TIMESTAMP") and c not in IGNORED_COLUMNS]
            floats = {i for i, (_, t) in enumerate(cols) if t in ("DOUBLE", "FLOAT")}
            rows = con.execute(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c, _ in cols)} "
                               f"FROM {schema}.{table}").fetchall()

            def order(row: tuple, floats: set[int] = floats) -> tuple:
                exact = tuple(repr(v) for i, v in enumerate(row) if i not in floats)
                return exact, tuple(repr(None if row[i] is None else round(row[i], 6)) for i in sorted(floats))

            out[f"{schema}.{table}"] = (floats, sorted(rows, key=order))
    return out


def _close(u: object, v: object) -> bool:
    return isinstance(u, float) and isinstance(v, float) and math.isclose(u, v, rel_tol=0.0, abs_tol=0.0)


def _same_json(u: object, v: object) -> bool:
    """Evidence written as JSON text quotes the same doubles (to 12 digits): equal when its numbers are close."""
    if not (isinstance(u, str) and isinstance(v, str) and u[:1] in "{[" and v[:1] in "{["):
        return False
    try:
        a, b = json.loads(u), json.loads(v)
    except ValueError:
        return False

    def same(x: object, y: object) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(same(p, q) for p, q in zip(x, y, strict=True))
        return x == y or _close(x, y)

    return same(a, b)


def differences(a: Path, b: Path) -> list[str]:
    """Tables whose rows differ; sums of doubles may differ in the last bits (DuckDB adds in parallel)."""
    left, right = published(a), published(b)
    out = [f"{t}: only in one warehouse" for t in sorted(set(left) ^ set(right))]
    for table in sorted(set(left) & set(right)):
        floats, rows_a = left[table]
        rows_b = right[table][1]
        if len(rows_a) != len(rows_b):
            out.append(f"{table}: {len(rows_a)} rows against {len(rows_b)}")
            continue
        for x, y in zip(rows_a, rows_b, strict=True):
            if any(not (u == v or (i in floats and _close(u, v)) or _same_json(u, v))
                   for i, (u, v) in enumerate(zip(x, y, strict=True))):
                out.append(f"{table}: {x} against {y}")
                break
    return out


@pytest.fixture(scope="module")
def one_process(sample_warehouse) -> Path:
    """The sample night in one process (the session's shared sample night)."""
    assert sample_warehouse.outcomes and not sample_warehouse.error
    return sample_warehouse.warehouse


def test_a_local_dask_cluster_of_two_workers_publishes_the_same_warehouse(one_process, tmp_path, prefect_harness,
                                                                          monkeypatch):
    from flows.nightly import nightly

    monkeypatch.setattr("flows.support.cluster.CLUSTER_MIN_MB", 0)     # the sample is below the threshold
    summary = nightly(inbox=SAMPLE_UNDER_TEST / "inbox", warehouse=tmp_path / "wh" / "cw.duckdb",
                      reports=tmp_path / "reports", workers=2)
    assert summary.files_seen == len(summary.outcomes) > 80
    assert differences(one_process, summary.warehouse) == []
    assert list((tmp_path / "wh" / "staging").iterdir()) == []      # the night's staging folder is gone


def test_a_night_whose_files_would_give_the_cluster_little_to_read_starts_none(tmp_path):
    from flows.nightly import cluster_mb
    from flows.stages.s01_discover import discover
    from flows.support.cluster import CLUSTER_MIN_MB

    files = [f for f in discover(SAMPLE_UNDER_TEST / "inbox") if f.refused is None]
    total = sum(f.path.stat().st_size for f in files) / 1e6
    # each wave's first file is read by the night itself: the cluster would read less than the whole inbox
    assert 0 < cluster_mb(files) < total
    assert cluster_mb(files) < CLUSTER_MIN_MB     # the sample night stays in one process on --workers 2
    # a night of one file reads it itself: nothing for a cluster
    assert cluster_mb(files[-1:]) == 0


@contextmanager
def dask_cluster(workers: int) -> Iterator[tuple[str, dict[str, subprocess.Popen]]]:
    """`dask scheduler` and `dask worker` processes on loopback (free ports), as an operator starts them; the
    workers without a nanny, so each process is the worker itself. Torn down after."""
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--dashboard-address", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    named = {}
    try:
        for i in range(workers):
            named[f"w{i}"] = subprocess.Popen(
                [DASK, "worker", address, "--name", f"w{i}", "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                 "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(named[f"w{i}"])
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, named
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_scheduler_and_workers_started_apart_give_the_same_answer_when_a_worker_dies_mid_night(
        one_process, tmp_path, prefect_harness):
    """The killed worker's task is rescheduled by Dask on the other worker; every file is loaded once."""
    from distributed import Client

    from flows.nightly import nightly

    warehouse = tmp_path / "wh" / "cw.duckdb"
    with dask_cluster(2) as (address, workers):
        result: dict = {}

        def night() -> None:
            try:
                result["summary"] = nightly(inbox=SAMPLE_UNDER_TEST / "inbox", warehouse=warehouse,
                                            reports=tmp_path / "reports", dask_address=address)
            except BaseException as exc:  # noqa: BLE001 — handed to the test thread
                result["error"] = exc

        runner = threading.Thread(target=night)
        runner.start()
        killed: tuple[str, tuple] | None = None
        with Client(address, timeout=60) as client:
            deadline = time.monotonic() + 600
            while killed is None and runner.is_alive() and time.monotonic() < deadline:
                staged = list((tmp_path / "wh" / "staging").glob("run-*/0*"))
                busy = {info["name"]: client.processing().get(addr, ())
                        for addr, info in client.scheduler_info()["workers"].items()}
                victim = next((name for name, keys in sorted(busy.items()) if keys), None)
                if len(staged) >= 20 and victim is not None:       # well into the facts
                    workers[victim].send_signal(signal.SIGKILL)
                    killed = (victim, tuple(busy[victim]))
                time.sleep(0.05)
        runner.join(timeout=900)
    assert killed is not None and killed[1], "no worker was killed while it ran a task"
    assert "error" not in result, result.get("error")
    summary = result["summary"]
    assert workers[killed[0]].returncode == -signal.SIGKILL
    with duckdb.connect(str(warehouse), read_only=True) as con:
        once = con.execute("SELECT count(*), count(DISTINCT file_name) "
                           "FROM meta.files").fetchone()
    assert once[0] == once[1] == summary.files_seen
    assert differences(one_process, warehouse) == []


def test_local_workers_start_with_the_pipeline_imported_at_a_lower_priority_than_the_night():
    """What a local worker would otherwise do on the ingest's path (import the pipeline) it does at start-up, and
    it yields the cores to the night's process, whose load is the ingest's critical path. What the import made is
    frozen, with the youngest generation collected less often, as in the night's own workers."""
    import gc
    import os

    from distributed import Client

    from flows.support.cluster import WORKER_NICE, local_workers
    from flows.support.processes import GC_YOUNG_THRESHOLD

    def state() -> tuple[bool, int, int, bool]:
        return ("flows.nightly" in sys.modules, os.getpriority(os.PRIO_PROCESS, 0), gc.get_threshold()[0],
                gc.get_freeze_count() > 100_000)

    with local_workers(2) as local, Client(local.cluster()) as client:
        seen = client.run(state)
    assert len(seen) == 2
    assert set(seen.values()) == {(True, min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE, 19), GC_YOUNG_THRESHOLD,
                                   True)}


def test_local_workers_polars_allocator_keeps_freed_pages_and_the_operators_own_options(monkeypatch):
    """A local worker reads and checks one file after another: its polars allocator keeps the pages of freed frames
    (WORKER_DIRTY_DECAY_MS, after polars' own options and before the operator's, which still win) instead of the
    night's 10 s."""
    import os

    from distributed import Client

    from flows.support import memory
    from flows.support.cluster import WORKER_DIRTY_DECAY_MS, local_workers

    monkeypatch.setenv(memory.OPERATOR, "narenas:2")

    def options() -> tuple[str, bool]:
        return os.environ[memory.VARIABLE], "polars" in sys.modules

    with local_workers(1) as local, Client(local.cluster()) as client:
        [(seen, polars_loaded)] = client.run(options).values()
    assert polars_loaded
    assert WORKER_DIRTY_DECAY_MS == -1
    assert seen.endswith("dirty_decay_ms:-1,narenas:2")


def test_local_workers_run_without_the_dashboards_profiler_and_with_a_slow_tick():
    """The local cluster's scheduler, nannies and workers skip the monitoring only a dashboard shows (each worker's
    profiler; a tick and a system monitor every 1 and 5 s instead of 20 and 500 ms): it cost CPU every second on the
    cores the workers share with the single writer. The memory monitor that pauses or restarts a worker keeps its
    interval."""
    import dask
    from distributed import Client

    from flows.support.cluster import local_workers

    def every(server) -> dict[str, float]:
        return {name: server.periodic_callbacks[name].callback_time for name in ("tick", "monitor")
                if name in server.periodic_callbacks} | {"profile": "profile" in server.periodic_callbacks}

    default_memory = dask.config.get("distributed.worker.memory.monitor-interval")
    with local_workers(2) as local, Client(local.cluster()) as client:
        workers = client.run(lambda dask_worker: (every(dask_worker),
                                                  dask.config.get("distributed.worker.memory.monitor-interval")))
        scheduler = client.run_on_scheduler(lambda dask_scheduler: every(dask_scheduler))
        nannies = [every(nanny) for nanny in local.cluster().workers.values()]
    quiet = {"tick": 1000, "monitor": 5000, "profile": False}
    assert list(workers.values()) == [(quiet, default_memory)] * 2
    assert scheduler == quiet
    assert nannies == [quiet] * 2
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"   # only the cluster's, not this process's


def test_tasks_sent_to_local_workers_name_the_nights_temporary_server(monkeypatch):
    """Without a configured server the night runs on a temporary one; the settings each task carries to a local
    worker name it, so no worker starts a temporary server of its own. A cluster elsewhere, which cannot reach a
    loopback server, is sent the settings as they are."""
    from prefect.context import serialize_context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.nightly as nightly_module

    class Client:
        api_url = "http://127.0.0.1:4321/api"

    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: Client())

    def carried() -> str | None:
        return serialize_context()["settings_context"]["settings"]["api"]["url"]

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert carried() is None
        with nightly_module._workers_report_here(local=True):
            assert carried() == Client.api_url
        with nightly_module._workers_report_here(local=False):
            assert carried() is None
        assert carried() is None
