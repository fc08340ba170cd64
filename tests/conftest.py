"""Shared fixtures: one Prefect test server for the whole session, offline."""

from __future__ import annotations

import atexit
import fcntl
import functools
import json
import os
import pickle
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller

from flows.support.settings import SAMPLE_DIR
from flows.support.warehouse import apply_schema

# The generated sample the sample_warehouse tests run on: the bundled one, or any other generated with
# `clusterwatch sample --seed N --out DIR` (CLUSTERWATCH_TEST_SAMPLE=DIR), whose planted truth they check.
SAMPLE_UNDER_TEST = Path(os.environ.get("CLUSTERWATCH_TEST_SAMPLE", SAMPLE_DIR))

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Stage retries keep their count in tests but not their wait (production waits 20 s, then 40 s).
os.environ.setdefault("CLUSTERWATCH_TASK_RETRY_DELAY_S", "0")


# Modules that run whole nights in their own processes (the CLI, kill -9, a real Prefect server and schedule).
NIGHT_MODULES = {"test_cli.py", "test_crash.py", "test_schedule.py", "test_night_delivery.py", "test_nightly.py"}
# Modules whose every test runs a night or reads the sample night (prefect_harness, or marked night): with the
# whole-night ones, the unit layer does not import them. A test in one of them that needs no night fails the
# collection of the night layer (below), so it cannot drop out of both layers unnoticed.
NIGHT_ONLY_MODULES = NIGHT_MODULES | {"test_alerts.py", "test_analyst.py", "test_cluster.py", "test_hostile.py",
                                      "test_night_ops.py", "test_package.py", "test_sample_pipeline.py"}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With -m "not night" (make test-fast) the night-only modules are not even imported: their imports (the
    Prefect flow and server client, the CLI) cost seconds in every test process, for tests that would be
    deselected (1.6 s of each unit-layer process for the modules beyond NIGHT_MODULES alone)."""
    if config.getoption("markexpr", "").replace(" ", "") == "notnight" and collection_path.name in NIGHT_ONLY_MODULES:
        return True
    return None


# Both layers run their modules on the cores (pytest-xdist --dist loadfile --no-loadscope-reorder), handed out in
# this order, longest first, so no process is left with a long module when the others are done (the number of
# tests, xdist's own order, put the unit layer's test_injection last). Night layer: test_cluster (its Dask
# nights are a third of the layer), then the modules that need no sample night, so another process does not
# sit waiting for it (sample_warehouse), then the sample night's readers. The unit-only modules are placed
# around them by their CPU-seconds (measured after the audit's solver change: validate 20, indicators 14,
# injection 10, disclosure 8, chain 7, report_detail 5–8, sample 6, snapshot 5; test_deliver waits on its
# servers, so it goes before the last small ones). Modules not listed come after.
MODULE_ORDER = ("test_validate.py", "test_indicators.py", "test_injection.py",
                "test_cluster.py", "test_crash.py", "test_schedule.py", "test_nightly.py", "test_hostile.py",
                "test_migrations.py", "test_night_ops.py", "test_night_delivery.py", "test_package.py", "test_cli.py",
                "test_report.py", "test_disclosure.py", "test_sample_pipeline.py", "test_chain.py", "test_alerts.py",
                "test_analyst.py",
                "test_report_detail.py", "test_sample.py", "test_snapshot.py", "test_drift.py", "test_deliver.py",
                "test_ingest.py", "test_bureau_exports.py", "test_sql_files.py", "test_warehouse.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs a night — through Prefect (the prefect_harness fixture, directly or through
    another fixture) or in a process of its own — as `night`; `make test-fast` runs the others. Order the
    modules as MODULE_ORDER says."""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()) or item.path.name in NIGHT_MODULES:
            item.add_marker(pytest.mark.night)
        if item.path.name in NIGHT_ONLY_MODULES and item.get_closest_marker("night") is None:
            raise pytest.UsageError(f"{item.nodeid} runs no night, but its module is in conftest.NIGHT_ONLY_MODULES, "
                                    "which the unit layer does not collect: take the module out of that set")
    rank = {name: i for i, name in enumerate(MODULE_ORDER)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@functools.cache
def _schema_template() -> Path:
    """A warehouse file brought to this release's schema by the real apply_schema, once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="cw-schema-"))
    atexit.register(shutil.rmtree, folder, True)
    with duckdb.connect(str(folder / "schema.duckdb")) as con:
        apply_schema(con)
    return folder / "schema.duckdb"


def schema_warehouse(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A new warehouse at the current schema, in memory or as a file at `path`, copied from _schema_template:
    apply_schema runs some 600 DDL statements (0.12 s of CPU), which over the ~130 warehouses the unit tests
    build was a sixth of the layer's time; the copy costs 0.02 s and has the same tables, columns, comments,
    constraints, types and sequences. Tests of the migrations themselves call apply_schema.

    The connection runs DuckDB on one thread: the tests' tables are each far below one row group (122,880
    rows), so a second thread has no rows of its own to work on and only adds its scheduling to every
    statement — a quarter of the CPU of tests/test_indicators.py, whose tests run the indicator stage's SQL
    over and over on a few dozen rows."""
    if path is not None:
        shutil.copyfile(_schema_template(), path)
        return duckdb.connect(str(path), config={"threads": 1})
    con = duckdb.connect(config={"threads": 1})
    template = str(_schema_template()).replace("'", "''")   # ATTACH takes no parameter
    con.execute(f"ATTACH '{template}' AS schema_template (READ_ONLY)")
    con.execute("COPY FROM DATABASE schema_template TO memory")
    con.execute("DETACH schema_template")
    return con


@pytest.fixture(scope="session")
def prefect_harness():
    """A real Prefect API (temporary SQLite server) shared by every test that runs a flow."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), temporary_settings(
            restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY}):
        yield


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, prefect_harness):
    """The bundled sample run once through the real nightly flow; tests read the published warehouse (read-only
    or a copy). Under pytest-xdist the first test process that needs it runs the night and the others wait for it
    and read its summary: one sample night for the whole run."""
    from flows.nightly import nightly

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        root = Path(tmp_path_factory.mktemp("sample"))
        return nightly(inbox=SAMPLE_UNDER_TEST / "inbox", warehouse=root / "clusterwatch.duckdb",
                       reports=root / "reports")
    root = tmp_path_factory.getbasetemp().parent / "sample-night"     # the folder every worker of this run shares
    with open(root.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "summary.pickle"
        if done.exists():
            return pickle.loads(done.read_bytes())
        root.mkdir()
        summary = nightly(inbox=SAMPLE_UNDER_TEST / "inbox", warehouse=root / "clusterwatch.duckdb",
                          reports=root / "reports")
        done.write_bytes(pickle.dumps(summary))
        return summary


@contextmanager
def charts_unpainted() -> Iterator[None]:
    """Reports rendered with every step real except the painting of their trend-chart PNGs (matplotlib, 8 a
    report, half the CPU of a sample report): for tests that read a report's HTML, tables or chart CSVs (written
    from the same series as the charts) and look at no chart image. tests/test_report.py checks the charts."""
    from PIL import Image

    from flows.render import report as page

    def unpainted(charts: list[tuple[str, dict, bool, Path]], months: list) -> list[Path]:
        for *_, path in charts:
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("L", (1, 1)).save(path)       # a valid 1×1 PNG, so the page still inlines one
        return [path for *_, path in charts]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(page, "trend_charts", unpainted)
        yield


class SmtpInbox:
    """What a loopback SMTP server received: (recipients, parsed message) per mail."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_on_loopback() -> Iterator[tuple[Controller, SmtpInbox]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a random port."""
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with smtp_on_loopback() as server:
        yield server


@pytest.fixture
def robot() -> Iterator[tuple[str, list[dict]]]:
    """A group-robot endpoint on loopback (DingTalk's answer, errcode 0) that records every JSON body; the URL
    carries an access_token as real robot URLs do."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server hook name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the serving loop's next poll: 0.5 s by default, at every test's teardown
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/robot/send?access_token=secret", received
    server.shutdown()
    server.server_close()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, installed by scripts/system-deps.sh


def headless_chromium(args: list[str], profile: Path, check: bool = False) -> subprocess.CompletedProcess:
    """Headless Chromium with networking disabled (proxy to a dead port, every host unresolvable)."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
         f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000", *args],
        capture_output=True, text=True, timeout=120, check=check)
