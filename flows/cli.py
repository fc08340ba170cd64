"""`clusterwatch` command line: run a night, serve the schedule, generate sample data, check files."""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import re
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flows.support.processes import young_collections_less_often
from flows.support.settings import DEFAULT_CRON, DEFAULT_INBOX, DEFAULT_WAREHOUSE, REPORTS_OUT, TIMEZONE

_PERIOD = re.compile(r"^(\d{4})(?:-|/|年)?(\d{1,2})(?:月|-01)?$")


def period_arg(text: str) -> str:
    """The one period parser of every command: 2025-06, 202506, 2025/6, 2025年6月 or 2025-06-01 → '2025-06'.
    Anything else (2025-13, year 0, foo) is a usage error naming the value."""
    m = _PERIOD.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2025-06)")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def existing_file(text: str) -> Path:
    """A path that must name an existing file (a warehouse to read, a file to check)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {path}")
    return path


def existing_folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {path}")
    return path


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) and defaults shown in every help text."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _quiet_prefect() -> None:
    """Offline by default: no analytics calls home, and a local temporary server for ad-hoc runs."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Progress lines come from the flow-run logger; per-task state lines would drown them.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


class TemporaryServer:
    """Prefect's temporary API server for one `clusterwatch run`, started before anything of Prefect is imported.

    It is the server Prefect itself would start on the flow's first API call (its SubprocessASGIServer: uvicorn
    serving prefect.server.api.server:create_app, UI off), but Prefect starts it only after the pipeline's imports
    (≈3 s) and after importing the server module into this process as well (≈2 s). Started first, its boot (≈3 s:
    an interpreter importing the server, the database check) overlaps all of that. Stopped at exit, after
    Prefect's own exit handlers have sent their last events and logs to it.
    """

    # uvicorn's exit status when it cannot start, e.g. the port was taken after we found it free
    STARTUP_FAILURE = 3

    # The task-run recorder's batch (unless the environment names one). Prefect's default, 1, wrote each state event
    # of a task run (3 a task) in a transaction of its own, ≈ 10 ms of the server's CPU each: on the sample night (92
    # files) the server took 5.35 CPU-s after its boot, 2.52 with no per-file task runs, 2.76-3.36 with the events of a
    # flush interval (5 s) written together. The same rows, states and times are recorded; during the night up to one
    # interval later, and the rest at the server's stop (tests/test_startup.py).
    RECORDER = {"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "1000"}

    # No block auto-registration at boot (unless the environment asks for it). Prefect registers every block type of
    # every installed collection in the server's database at each start, and even when a memo of the last start says
    # nothing changed it first imports the collections to hash them: prefect-dask, and with it Dask and distributed,
    # ≈0.5 of the boot's ≈4 CPU-s. A night uses no block (its tasks cache and persist nothing): the temporary server
    # has no use for the types. Both settings: without the memo alone, registration would run in full.
    BLOCKS = {"PREFECT_API_BLOCKS_REGISTER_ON_START": "false", "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false"}

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._spawn()
        atexit.register(self.stop)     # registered before Prefect's handlers, so it runs after them

    def _spawn(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**self.RECORDER, **self.BLOCKS, **os.environ, "PREFECT_UI_ENABLED": "0",
               "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host",
             "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"], env=env)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait(self, timeout_s: float, meanwhile: Sequence[str] = ()) -> None:
        """Until the server answers its health check; a server that exits or stays silent is an error. While it
        does not answer yet, the modules `meanwhile` names are imported, one between two checks: work the run
        does later anyway, done while this process would only wait."""
        deadline = time.monotonic() + timeout_s
        pending = list(meanwhile)
        while True:
            status = self.process.poll()
            if status == self.STARTUP_FAILURE:
                self._spawn()          # the port was taken meanwhile: another one, as Prefect does
                continue
            if status is not None:
                raise RuntimeError(f"the temporary Prefect server exited with status {status} while starting")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the temporary Prefect server at {self.api_url} did not answer within "
                                   f"{timeout_s:.0f} s")
            if pending:
                importlib.import_module(pending.pop(0))
            else:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def boot_prefect_server() -> TemporaryServer | None:
    """Start the temporary server now, while the pipeline imports, unless a server is named or Prefect is already
    imported (a test harness, an embedding program: Prefect's own settings decide there, as always)."""
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        return None
    return TemporaryServer()


# What a night imports on its main thread later, imported while its temporary server boots (TemporaryServer.wait):
# WeasyPrint, which the report stage would otherwise import — its import looks ≈15 library names up through
# ctypes.util.find_library, ≈50 ldconfig/gcc/ld processes: little CPU, but seconds of wall on a busy machine — and
# what Prefect imports as the night's flow run and its first task run start: its flow and task engines (0.18 CPU-s,
# most of it prefect.task_engine's own module) and FastAPI's JSON encoder, which sends the run's parameters (0.08
# CPU-s, 0.14 s of nation night 2's first second). (Great Expectations no longer: the night runs it in its worker
# process, flows.nightly.night_worker.)
NIGHT_IMPORTS = ("weasyprint", "fastapi.encoders", "prefect.flow_engine", "prefect.task_engine")


@contextmanager
def prefect_api(server: TemporaryServer | None, meanwhile: Sequence[str] = ()) -> Iterator[None]:
    """Flows run in this block use the server boot_prefect_server started (the modules `meanwhile` names are
    imported while it boots). Where Prefect's settings (a profile) name a server or disable temporary ones, that
    server is stopped unused and Prefect decides as it always does."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_UI_URL,
        temporary_settings,
    )
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as STARTUP_TIMEOUT

    if server is not None and (PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value()):
        server.stop()
        server = None
    if server is None:
        yield
        return
    server.wait(STARTUP_TIMEOUT.value(), meanwhile)
    # No UI URL: the temporary server serves no UI and is gone after the run (as Prefect's own temporary one).
    # No flow-run heartbeats: they let a server that outlives the run tell a crashed run from a long one, and this
    # server dies with the run. Their thread sleeps in whole seconds and the flow's end joins it, so each night's
    # flow run ended up to 1 s (0.9-1.0 s measured) after its last stage for nothing (Prefect 3.8 flow_engine
    # _send_heartbeats); a configured server (`serve`, PREFECT_API_URL) keeps them.
    with temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_UI_URL: "",
                                     PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@contextmanager
def frozen_heap() -> Iterator[None]:
    """gc.freeze() on entering and on leaving: the objects that exist then go to the collector's permanent
    generation, which no collection walks again.

    Entering (after the imports): the millions of objects of the imported libraries (Prefect, Great
    Expectations, pydantic models, …) are no longer walked by every full collection during the night. Leaving:
    the interpreter's exit does not run collections over the whole heap before the process ends — ≈1.0 CPU-s
    of a night process's exit (4.4 → 3.4 CPU-s for a process that imports what a night does and exits), and
    on the sample night at load 10 the exit took 0.6 s instead of 3.1 s and the night's time in collections
    was 8.0 s instead of 10.8 s. Frozen objects that later become cyclic garbage are not freed: the
    libraries' own objects live as long as the process anyway. Inside, the youngest generation is collected
    less often (flows.support.processes.young_collections_less_often).
    """
    gc.freeze()
    threshold = gc.get_threshold()
    young_collections_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.freeze()


def worker_count(text: str) -> int:
    """--workers: a whole number of processes, at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--workers takes a number of processes ≥ 1, not {text!r}")
    return n


def dask_address(text: str) -> str:
    """--dask: a scheduler address such as tcp://10.0.0.5:8786."""
    if not re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s/]+(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"--dask takes a scheduler address like tcp://HOST:8786, not {text!r}")
    return text


def add_dask_options(parser: argparse.ArgumentParser) -> None:
    """Where the per-file ingest runs: this process (default), a local Dask cluster, or an existing one."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=worker_count, default=0, metavar="N",
                       help="ingest files on a local Dask cluster of N worker processes")
    where.add_argument("--dask", type=dask_address, default=None,
                       metavar="tcp://HOST:8786", help="ingest files on the Dask cluster whose scheduler is at this "
                       "address (default: CLUSTERWATCH_DASK_ADDRESS); its workers must see the landing and "
                       "staging folders at the same paths")


def cmd_run(args: argparse.Namespace) -> int:
    _quiet_prefect()
    server = boot_prefect_server()
    from flows.nightly import nightly

    with prefect_api(server, NIGHT_IMPORTS), frozen_heap():
        summary = nightly(inbox=args.inbox, warehouse=args.warehouse, reports=args.reports, workers=args.workers,
                          dask_address=args.dask)
    print(f"inbox      {summary.inbox}  ({summary.files_seen} files)")
    for entry in summary.refused:
        print(f"refused    {entry.path}: {entry.refused}")
    if summary.run_id is None:
        print("nothing new: every file was landed before; warehouse unchanged")
    else:
        failed = [o for o in summary.outcomes if o.status == "failed"]
        print(f"run        {summary.run_id}: {len(summary.outcomes)} new files, {len(failed)} failed")
        print(f"rows       {summary.rows_loaded:,} loaded, {summary.rows_quarantined:,} quarantined")
        for rule, n in summary.quarantined_by_rule().items():
            print(f"           {n:>8,}  {rule}")
        for outcome in failed:
            print(f"failed     {outcome.name}: {outcome.reason}")
        for outcome in summary.outcomes:
            if outcome.ignored_columns:
                print(f"warning    {outcome.name}: columns not read (no alias matches; see meta.file_columns): "
                      + ", ".join(repr(h) for h in outcome.ignored_columns))
        for problem in summary.validation_problems:   # engine disagreements are errors; rules not checked warnings
            label = "ERROR     " if problem["severity"] == "error" else "warning   "
            print(f"{label} {problem['file_name']}: rule {problem['rule']} ({problem['expectation_type']} on "
                  f"{problem['column_name']}) {problem['problem']}: {problem['detail_en']}"
                  + (f" (rows {problem['example_rows']})" if problem["example_rows"] else ""))
        print("time       " + " · ".join(f"{stage} {sec:.0f} s" for stage, sec in summary.seconds.items()))
    print(f"warehouse  {summary.warehouse}")
    print(f"           {Path(sys.executable).with_name('duckdb')} -readonly {summary.warehouse}")
    if summary.alerts:
        print(f"alerts     {summary.alerts}")
    for files in summary.reports:
        print(f"report     {files.html}")
        print(f"           {files.pdf}")
    if summary.data_docs:
        print(f"checks     {summary.data_docs}")
    if summary.snapshots:
        print(f"snapshots  {len(summary.snapshots)} periods in mart.map_snapshots")
    for snap in summary.snapshots:
        if snap.drawn:       # a history night draws the latest period only
            print(f"map        {snap.period:%Y-%m} {snap.snapshot_id}: " + ", ".join(str(f) for f in snap.files))
    if summary.engine_disagreements:
        print(f"clusterwatch run: {len(summary.engine_disagreements)} validation rules where polars and Great "
              "Expectations disagree (see ERROR lines above; meta.validation_problems)", file=sys.stderr)
        return 1
    return 0


class ServeRefused(Exception):
    """`serve` cannot schedule anything as configured (no server, or the server never came up)."""


def wait_for_server(api_url: str, wait_s: float, every_s: float = 2.0) -> None:
    """Poll the Prefect API's health endpoint until it answers; a server started by systemd just before
    `serve` may still be migrating its database. Raises ServeRefused after `wait_s` seconds."""
    import httpx

    deadline = time.monotonic() + wait_s
    while True:
        try:
            if httpx.get(f"{api_url.rstrip('/')}/health", timeout=5).status_code == 200:
                return
            problem = "not healthy yet"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise ServeRefused(f"Prefect server at {api_url} did not answer within {wait_s:.0f} s ({problem})")
        print(f"waiting for the Prefect server at {api_url}: {problem}", file=sys.stderr, flush=True)
        time.sleep(every_s)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the nightly flow on its cron schedule; wait for the server, and serve again if it goes away.

    Prefect cannot schedule on the temporary server a flow call starts (it only warns and then schedules
    nothing), so a configured PREFECT_API_URL is required.
    """
    _quiet_prefect()
    import httpx
    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    if not api_url:
        raise ServeRefused(
            "no Prefect server configured: start one (`prefect server start`) and set PREFECT_API_URL, "
            "e.g. PREFECT_API_URL=http://127.0.0.1:4200/api (a temporary server cannot run schedules)")
    wait_for_server(api_url, args.wait_server)
    from flows.nightly import nightly

    parameters = {"inbox": str(args.inbox), "warehouse": str(args.warehouse), "reports": str(args.reports),
                  "workers": args.workers, "dask_address": args.dask}
    while True:
        try:
            nightly.serve(name="clusterwatch-nightly", schedules=[Cron(args.cron, timezone=args.timezone)],
                          parameters=parameters, limit=1, print_starting_message=True)
            return 0
        except httpx.TransportError as exc:
            print(f"lost the Prefect server at {api_url} ({type(exc).__name__}: {exc}); reconnecting",
                  file=sys.stderr, flush=True)
            wait_for_server(api_url, args.wait_server)


def cmd_deliver(args: argparse.Namespace) -> int:
    """Send what the published warehouse's outbox still holds, without running a night."""
    from flows.stages.s12_deliver import flush_published

    report = flush_published(args.warehouse)
    print(f"delivery   {report}")
    return 1 if report.failed else 0


def cmd_sample(args: argparse.Namespace) -> int:
    from flows.sample.generate import generate

    formats = [f for f in args.formats.split(",") if f and f != "parquet"]
    if formats and args.scale == "sample":
        print("--formats is for --scale province or nation (the sample's files have their own formats)",
              file=sys.stderr)
        return 2
    generate(args.out, scale=args.scale, seed=args.seed)
    print(f"sample ({args.scale}, seed {args.seed}) written to {args.out}")
    if formats:
        from flows.sample.big import write_formats

        write_formats(args.out, formats)
        print(f"the same inbox as {', '.join(formats)} in {args.out}/inbox_<format>")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Render one month's map from the published warehouse, read-only."""
    from flows.render.maps import parse_period, render_map
    from flows.support.warehouse import connect_readonly

    with connect_readonly(args.warehouse) as con:
        files = render_map(con, parse_period(args.period), args.color, args.out)
    for path in (files.geojson, files.png, files.html):
        print(path)
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    """Print alerts, read-only. With --period: the month's listing (new, ongoing, resolved), as the report and
    the digest show it; else every episode in history with its status as of the latest month."""
    from flows.render.safe_text import terminal_cell
    from flows.support.warehouse import connect_readonly, rows

    if not args.warehouse.exists():
        print(f"no warehouse at {args.warehouse}")
        return 1
    if args.period:
        from flows.render.maps import parse_period
        from flows.stages.s10_alerts import cluster_names, config, listing_line, month_listing, stored_message

        with connect_readonly(args.warehouse) as con:
            listing = month_listing(con, parse_period(args.period))
            names = cluster_names(con)
        shown = [r for r in listing if args.status in (None, r["state"])]
        for row in shown:  # names are data: rendered for a terminal (no escapes, no formula prefixes)
            name = names.get(row["cluster_id"] or "", (row["subject"],) * 2)[args.lang == "en"]
            message = (stored_message(row, args.lang, name, terminal_cell)
                       if row["rule"] in config()["rules"] else None)
            print(terminal_cell(listing_line(row, args.lang, message)))
        print(f"{len(shown)} alerts" if args.lang == "en" else f"共{len(shown)}条")
        return 0
    with connect_readonly(args.warehouse) as con:
        episodes = rows(con, "alerts_list", {"status": args.status})
    widths = (7, 27, 24, 8, 9, 8, 0)
    header = ("period", "rule", "subject", "severity", "status", "resolved", "message")
    print("  ".join(f"{h:<{w}}" for h, w in zip(header, widths, strict=True)))
    for episode in episodes:
        print("  ".join(f"{terminal_cell(v or '-'):<{w}}" for v, w in zip(episode.values(), widths, strict=True)))
    print(f"{len(episodes)} alerts")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render one month's report from the published warehouse, read-only."""
    from flows.render.maps import parse_period
    from flows.stages.s11_report import latest_period, render_report
    from flows.support.warehouse import connect_readonly

    with connect_readonly(args.warehouse) as con:
        when = parse_period(args.period) if args.period else latest_period(con)
        if when is None:
            print("no indicators in the warehouse yet: nothing to report")
            return 1
        files = render_report(con, when, lang=args.lang, audience=args.audience, province=args.province,
                              out_dir=args.out)
    print(f"report     {files.html}")
    if files.pdf:
        print(f"           {files.pdf}")
    print(f"           {len(files.charts)} charts, {len(files.tables)} tables, {files.n_suppressed} cells withheld")
    if files.edition:
        print(f"edition    {files.edition}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a mart table or a read-only query to CSV/XLSX/Parquet and say what was written."""
    from flows.support.export import export

    result = export(args.warehouse, args.out, args.format, args.table, args.query)
    print(f"{result.path}  ({result.rows:,} rows, {len(result.columns)} columns)")
    return 0


def _issue_line(row: dict, message: str) -> str:
    """One quarantined or flagged row as `clusterwatch check` prints it (a whole-row rule has no column), on one
    line without control characters (a hostile cell cannot start a terminal sequence)."""
    from flows.render.safe_text import one_line

    where = f"{row['column_name']}={row['value']}" if row["column_name"] else f"(whole row) {row['value']}"
    return "  " + one_line(f"[{row['severity']}] row {row['_row']} {where} {row['rule']}: {message}")


def check_files(paths: list[Path], warehouse: Path | None) -> int:
    """Standardise and validate files without loading them; print what would be quarantined; 1 on failure."""
    import duckdb
    import polars as pl

    from flows.stages.s03_layout import report_lines
    from flows.stages.s04_standardise import FileRejected, standardise
    from flows.stages.s05_validate import validate
    from flows.support.contract import KIND_ORDER, kind_of
    from flows.support.warehouse import apply_schema, connect_readonly

    if warehouse is not None and Path(warehouse).exists():
        con = connect_readonly(Path(warehouse))
    else:
        con = duckdb.connect()
        apply_schema(con)
    extra: dict[str, set[str]] = {"core.clusters": set(), "core.firms": set()}
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    todo = sorted((Path(p) for p in paths), key=lambda p: (order.get(kind_of(p.name) or "", 99), p.name))
    status, total_q, total_w = 0, 0, 0
    try:
        for path in todo:
            kind = kind_of(path.name)
            if kind is None:
                print(f"{path.name}: 文件名前缀不是已知数据类别 / file name does not start with a known kind")
                status = 1
                continue
            try:
                std = standardise(path, kind, file_name=path.name)
            except FileRejected as exc:
                print(f"{path.name}: 拒收 / rejected ({exc.reason}): {exc.message}")
                status = 1
                continue
            print(f"== {path.name} ({kind}){f' sheet {std.sheet!r}' if std.sheet else ''}: header report")
            for line in report_lines(std.columns):
                print(line)
            if std.skipped:
                print("  skipped rows: " + ", ".join(f"{k}={v}" for k, v in std.skipped.items()))
            v = validate(kind, std.frame, path.name, con, extra_keys=extra, where=std.where,
                         headers=std.headers)
            if kind == "clusters":
                extra["core.clusters"] |= set(v.frame["cluster_id"].drop_nulls().to_list())
            elif kind == "firms":
                extra["core.firms"] |= set(v.frame["uscc"].drop_nulls().to_list())
            quarantined = pl.concat([std.issues, v.issues], how="vertical_relaxed").sort("_row")
            n_q = quarantined["_row"].n_unique()
            total_q += n_q
            total_w += v.warnings.height + std.warnings.height
            print(f"== {path.name} ({kind}): {std.rows_in} rows, {v.frame.height} would load, "
                  f"{n_q} would be quarantined, {v.warnings.height + std.warnings.height} warnings")
            warnings = pl.concat([std.warnings, v.warnings], how="vertical_relaxed").sort("_row")
            for row in (*quarantined.iter_rows(named=True), *warnings.iter_rows(named=True)):
                print(_issue_line(row, f"{row['message']} / {row['message_en']}"))
            failed = v.results.filter(~pl.col("passed"))
            for row in failed.iter_rows(named=True):
                print(f"  rule {row['rule']} ({row['severity']}) on {row['column_name']}: "
                      f"{row['failed_rows']} of {row['evaluated']} rows fail")
            for pr in v.problems:     # an engine disagreement is an error; a rule not checked is said
                print(f"  [{pr['severity']}] rule {pr['rule']} on {pr['column_name']} {pr['problem']}: "
                      f"{pr['detail_zh']} / {pr['detail_en']}")
            if n_q or any(pr["severity"] == "error" for pr in v.problems):
                status = 1
        print(f"summary: {len(todo)} files, {total_q} rows would be quarantined, {total_w} warnings; "
              f"{'FAIL' if status else 'OK'}")
    finally:
        con.close()
    sys.stdout.flush()
    return status


def cmd_check(args: argparse.Namespace) -> int:
    return check_files(args.files, args.warehouse)


def parser() -> argparse.ArgumentParser:
    root = Parser(prog="clusterwatch", description=__doc__)
    try:
        release = version("clusterwatch")
    except PackageNotFoundError:
        release = "unknown"
    root.add_argument("--version", action="version", version=f"clusterwatch {release}")
    root.add_argument("--traceback", action="store_true", help="print the full traceback of a failure")
    sub = root.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="run the nightly flow once and publish the warehouse")
    run.add_argument("--inbox", type=existing_folder, default=DEFAULT_INBOX, help="folder of delivered files")
    run.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file to publish")
    run.add_argument("--reports", type=Path, default=REPORTS_OUT, help="folder for maps, drift and reports")
    add_dask_options(run)
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="serve the nightly flow on a cron schedule (needs a Prefect server)")
    serve.add_argument("--inbox", type=existing_folder, default=DEFAULT_INBOX, help="folder of delivered files")
    serve.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file to publish")
    serve.add_argument("--reports", type=Path, default=REPORTS_OUT, help="folder for maps, drift and reports")
    serve.add_argument("--cron", default=DEFAULT_CRON, help="cron expression")
    serve.add_argument("--timezone", default=TIMEZONE, help="time zone of the cron expression")
    add_dask_options(serve)
    serve.add_argument("--wait-server", type=float, default=300.0, metavar="SECONDS",
                       help="how long to wait for the Prefect server (PREFECT_API_URL) to answer")
    serve.set_defaults(func=cmd_serve)

    deliver = sub.add_parser("deliver", help="send what the warehouse's outbox still holds (no night is run)")
    deliver.add_argument("--warehouse", type=existing_file, default=DEFAULT_WAREHOUSE, help="published DuckDB file")
    deliver.set_defaults(func=cmd_deliver)

    sample = sub.add_parser("sample", help="generate deterministic sample data with its planted truth")
    sample.add_argument("--scale", choices=("sample", "province", "nation"), default="sample", help="size")
    sample.add_argument("--out", type=Path, required=True, help="folder to write")
    sample.add_argument("--seed", type=int, default=20251231, help="random seed")
    sample.add_argument("--formats", default="parquet",
                        help="province/nation: also write the inbox as gbk-csv and/or xlsx (comma-separated), "
                             "in inbox_<format> beside the Parquet inbox")
    sample.set_defaults(func=cmd_sample)

    from flows.render.maps import COLOR_CHOICES

    cmap = sub.add_parser("map", help="render the cluster map of a period (GeoJSON, PNG, offline HTML)")
    cmap.add_argument("--period", type=period_arg, required=True, help="month, e.g. 2025-12")
    cmap.add_argument("--color", default="local_supporting_rate", choices=COLOR_CHOICES, help="colour by")
    cmap.add_argument("--warehouse", type=existing_file, default=DEFAULT_WAREHOUSE, help="DuckDB file to read")
    cmap.add_argument("--out", type=Path, default=None, help="folder (default reports/out/maps)")
    cmap.set_defaults(func=cmd_map)

    alerts = sub.add_parser("alerts", help="list alerts (read-only)")
    alerts.add_argument("--warehouse", type=existing_file, default=DEFAULT_WAREHOUSE, help="DuckDB file to read")
    alerts.add_argument("--period", type=period_arg, help="month, e.g. 2025-12 (default: every month)")
    alerts.add_argument("--status", choices=("new", "ongoing", "resolved", "withdrawn"), help="only this status")
    alerts.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the messages")
    alerts.set_defaults(func=cmd_alerts)

    report = sub.add_parser("report", help="render the monthly monitoring report (HTML and PDF)")
    report.add_argument("--period", type=period_arg, help="month, e.g. 2025-12 (default: the latest month)")
    report.add_argument("--lang", choices=("zh", "en"), default="zh", help="language")
    report.add_argument("--audience", choices=("internal", "public"), default="internal", help="disclosure rules")
    report.add_argument("--province", help="only this province's clusters, e.g. 河北省")
    report.add_argument("--warehouse", type=existing_file, default=DEFAULT_WAREHOUSE, help="DuckDB file to read")
    report.add_argument("--out", type=Path, default=None, help="folder (default reports/out/reports/<period>)")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="write a table or a query to XLSX, CSV (UTF-8 with BOM) or Parquet")
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("--table", help="schema.table, e.g. mart.cluster_indicators_wide")
    what.add_argument("--query", help="a SELECT run on a read-only connection")
    export.add_argument("--out", type=Path, required=True, help="file to write, e.g. indicators.xlsx")
    export.add_argument("--format", choices=("xlsx", "csv", "parquet"),
                        help="default: from the file suffix")
    export.add_argument("--warehouse", type=existing_file, default=DEFAULT_WAREHOUSE, help="DuckDB file to read")
    export.set_defaults(func=cmd_export)

    check = sub.add_parser("check", help="validate files without loading them")
    check.add_argument("files", type=existing_file, nargs="+", help="files to check")
    check.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                       help="warehouse whose registries the files are checked against")
    check.set_defaults(func=cmd_check)
    return root


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 1 when the command failed (one line on stderr, --traceback for the rest),
    2 for bad usage."""
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ServeRefused as exc:
        print(f"clusterwatch {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"clusterwatch {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 — the command line reports a failure in one line, not a traceback
        if args.traceback:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"clusterwatch {args.command}: failed: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
