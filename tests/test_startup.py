"""`clusterwatch run`'s start-up: what the night imports while its temporary Prefect server boots."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from flows import cli

ROOT = Path(__file__).resolve().parent.parent

# A stand-in for the server's boot on loopback: it listens only once the first module of `meanwhile` has begun
# to import (the flag file), then answers the health check the way Prefect's server does.
SERVER = textwrap.dedent("""
    import sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from pathlib import Path
    flag, port = Path(sys.argv[1]), int(sys.argv[2])
    while not flag.exists():
        time.sleep(0.01)
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()
        def log_message(self, *args):
            pass
    HTTPServer(("127.0.0.1", port), Health).serve_forever()
""")


class SlowServer(cli.TemporaryServer):
    """A TemporaryServer whose process is SERVER: it answers only after `flag` exists."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag
        super().__init__()

    def _spawn(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, str(self.flag), str(self.port)])


def test_the_modules_named_are_imported_while_the_server_does_not_answer_and_no_more_once_it_does(
        tmp_path, monkeypatch):
    flag = tmp_path / "first-import-began"
    server = SlowServer(flag)
    # the first module lets the server answer and returns once it does; the second would be imported only if
    # the wait went on importing after the server answered
    (tmp_path / "cw_warm_first.py").write_text(textwrap.dedent(f"""
        import time, urllib.request
        from pathlib import Path
        Path({str(flag)!r}).touch()
        for _ in range(500):
            try:
                urllib.request.urlopen("{server.api_url}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
    """))
    (tmp_path / "cw_warm_second.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        server.wait(30, meanwhile=("cw_warm_first", "cw_warm_second"))
        assert "cw_warm_first" in sys.modules and "cw_warm_second" not in sys.modules
    finally:
        server.stop()
        for name in ("cw_warm_first", "cw_warm_second"):
            sys.modules.pop(name, None)


def test_the_imports_before_a_night_and_what_the_night_made_are_out_of_the_collectors_reach():
    class Made:
        """A cyclic object the night makes: every collection of its generation would walk it."""

    before = gc.get_freeze_count()
    with cli.frozen_heap():
        # the imported modules' objects (the test process holds hundreds of thousands) are frozen
        assert gc.get_freeze_count() > before + 10_000
        made = Made()
        made.me = made
        assert any(o is made for o in gc.get_objects())
    # what the block made has left the collector's generations too: the exit walks none of it
    assert not any(o is made for o in gc.get_objects())


def test_a_night_collects_its_youngest_objects_less_often_and_gives_the_default_back_after():
    from flows.support.processes import GC_YOUNG_THRESHOLD

    before = gc.get_threshold()
    with cli.frozen_heap():
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert before[0] < GC_YOUNG_THRESHOLD
        collections = gc.get_stats()[0]["collections"]
        keep = [[k] for k in range(GC_YOUNG_THRESHOLD // 2)]   # half a threshold of new containers
        assert gc.get_stats()[0]["collections"] - collections <= 1
        del keep
    assert gc.get_threshold() == before


def test_a_night_on_its_temporary_server_sends_no_heartbeats_whose_thread_its_end_would_wait_for(tmp_path):
    """Prefect's flow-run heartbeat thread sleeps in whole seconds and the flow's end joins it (0.9-1.0 s of every
    short flow's end measured): the temporary server dies with the night, so nothing would read them."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        temporary_settings,
    )

    flag = tmp_path / "answer"
    flag.touch()
    server = SlowServer(flag)
    try:
        with temporary_settings(updates={PREFECT_API_URL: None, PREFECT_SERVER_EPHEMERAL_ENABLED: True}):
            assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is not None    # Prefect's default sends them
            with cli.prefect_api(server):
                assert PREFECT_API_URL.value() == server.api_url
                assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
    finally:
        server.stop()



# A night of five task runs on its temporary server, which stops as `clusterwatch run` stops it (at exit, after
# Prefect's own exit handlers); prints the flow run's id, the recorder's batch size in the server's environment and
# how many of the task runs the server has recorded once the flow is over.
NIGHT = textwrap.dedent("""
    import psutil
    from flows import cli
    cli._quiet_prefect()
    server = cli.boot_prefect_server()
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(task_run_name="file {n}", cache_policy=NO_CACHE)
    def one(n):
        return n

    @flow
    def night():
        return [one(n) for n in range(5)]

    with cli.prefect_api(server):
        state = night(return_state=True)
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        with get_client(sync_client=True) as client:
            held = len(client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))))
    batch = psutil.Process(server.process.pid).environ().get("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE")
    print(state.state_details.flow_run_id, batch, held)
""")

# The next night's temporary server, on the same database: the task runs recorded for a flow run.
READ = textwrap.dedent("""
    import json, sys, uuid
    from flows import cli
    cli._quiet_prefect()
    server = cli.boot_prefect_server()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    with cli.prefect_api(server), get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(sys.argv[1])])))
    print(json.dumps(sorted((r.name, r.state_type.value) for r in runs)))
""")


def test_the_temporary_server_records_task_runs_in_batches_and_has_written_every_one_once_the_night_ends(tmp_path):
    """One write per event (Prefect's default) cost the server ≈ 10 ms of CPU each, 3 events a file; batched, the
    events of a flush interval go in one write, and those the server still holds when the night ends it too. (The
    interval here is an hour: the runs are held until the server stops, and only its last write records them.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT),
               PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL="3600")

    def run(script: str, *args: str) -> str:
        out = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=300, check=True)
        return out.stdout.strip().splitlines()[-1]

    flow_run, batch, held = run(NIGHT).split()
    assert int(batch) > 1
    assert held == "0"          # in the recorder's batch, not yet written, at the end of the flow
    assert json.loads(run(READ, flow_run)) == [[f"file {n}", "COMPLETED"] for n in range(5)]


# A temporary server on its own (empty) database: the block types it holds once it answers.
BLOCK_TYPES = textwrap.dedent("""
    from flows import cli
    cli._quiet_prefect()
    server = cli.boot_prefect_server()
    from prefect.client.orchestration import get_client
    with cli.prefect_api(server), get_client(sync_client=True) as client:
        print(len(client.read_block_types()))
""")


def test_the_temporary_server_boots_without_registering_block_types_which_a_night_does_not_use(tmp_path):
    """Prefect registers every installed collection's block types at each server start (and imports the collections,
    prefect-dask with Dask and distributed, to tell whether they changed: ≈0.5 of the boot's ≈4 CPU-s). A night runs
    without them: the night of the test above runs on such a server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", BLOCK_TYPES], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"


# A flow run of a night's parameters on the temporary server: the modules the run's start imported.
START_IMPORTS = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from flows import cli
    cli._quiet_prefect()
    server = cli.boot_prefect_server()
    from prefect import flow, task

    @task
    def one(n):
        return n

    @flow
    def night(inbox: Path, workers: int = 0):
        return one(workers)

    with cli.prefect_api(server, cli.NIGHT_IMPORTS):
        before = set(sys.modules)
        night(inbox=Path("inbox"))
    print(json.dumps(sorted(set(sys.modules) - before)))
""")


def test_a_night_imports_what_its_flow_run_starts_with_while_the_temporary_server_boots(tmp_path):
    """Prefect imports its flow and task engines as the night's flow run and first task run start, and sends the
    run's parameters through FastAPI's JSON encoder: 0.26 CPU-s on the night's path, while the server's boot leaves
    this process waiting before it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", START_IMPORTS], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    imported = json.loads(out.stdout.strip().splitlines()[-1])
    late = [m for m in imported if m.startswith(("fastapi", "prefect.flow_engine", "prefect.task_engine"))]
    assert not late, late
