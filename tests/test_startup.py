"""`clusterwatch run`'s start-up: what the night imports while its temporary Prefect server boots."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from flows import cli

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
