"""The nightly schedule for real: a Prefect server in its own process, `clusterwatch serve` on a per-minute
cron, and a scheduled run that the server creates and the served flow completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx
from conftest import free_port
from test_nightly import write_inbox

from flows.support.settings import ROOT

BIN = Path(sys.executable).parent


def prefect_env(home: Path, api_url: str | None) -> dict[str, str]:
    """This process's environment without any Prefect setting of the test session, plus a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
               PREFECT_RUNNER_POLL_FREQUENCY="2")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child in its own process group (the runner starts flow-run children), stopped with its group."""
    with open(log, "wb") as out:
        child = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        try:
            yield child
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()


def flow_runs(api_url: str) -> list[dict]:
    return httpx.post(f"{api_url}/flow_runs/filter", json={"sort": "EXPECTED_START_TIME_ASC"}, timeout=10).json()


def test_serve_with_a_per_minute_cron_gets_a_scheduled_run_created_and_completed(tmp_path):
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(tmp_path / "prefect_home", api_url)
    inbox = write_inbox(tmp_path / "inbox")
    warehouse = tmp_path / "wh" / "clusterwatch.duckdb"
    server_cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    # serve starts before the server answers: it has to wait for it rather than exit.
    serve_cmd = [str(BIN / "clusterwatch"), "serve", "--inbox", str(inbox), "--warehouse", str(warehouse),
                 "--reports", str(tmp_path / "reports"), "--cron", "* * * * *", "--timezone", "UTC",
                 "--wait-server", "180"]
    with process(serve_cmd, env, tmp_path / "serve.log") as serve, \
            process(server_cmd, env, tmp_path / "server.log"):
        deadline = time.monotonic() + 420
        completed: list[dict] = []
        runs: list[dict] = []
        while not completed and time.monotonic() < deadline:
            time.sleep(5)
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                runs = flow_runs(api_url)
            except httpx.HTTPError:
                continue
            failed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
            assert not failed, (tmp_path / "serve.log").read_text()[-5000:]
            completed = [r for r in runs if r["auto_scheduled"] and r["state_type"] == "COMPLETED"]
        assert completed, (f"no scheduled run completed; runs: {[(r['name'], r['state_type']) for r in runs]}\n"
                           + (tmp_path / "serve.log").read_text()[-3000:]
                           + (tmp_path / "server.log").read_text()[-3000:])
        assert "waiting for the Prefect server" in (tmp_path / "serve.log").read_text()
        [run] = completed[:1]
        assert run["parameters"]["reports"] == str(tmp_path / "reports")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.files WHERE status = 'loaded'").fetchone()[0] == 4


def test_serve_without_a_configured_server_refuses_with_one_line(tmp_path):
    result = subprocess.run([str(BIN / "clusterwatch"), "serve", "--inbox", str(tmp_path)],
                            env=prefect_env(tmp_path / "home", None), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "no Prefect server configured" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_gives_up_when_the_server_never_answers(tmp_path):
    api_url = f"http://127.0.0.1:{free_port()}/api"
    result = subprocess.run([str(BIN / "clusterwatch"), "serve", "--wait-server", "0"],
                            env=prefect_env(tmp_path / "home", api_url), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "did not answer within 0 s" in result.stderr
    assert "Traceback" not in result.stderr
