"""The nightly flow: discover → land → standardise → validate → load → indicators → snapshot → alerts →
report → deliver, then publish.

Everything that writes the warehouse happens in the building copy (flows.support.warehouse.building), so a night
either publishes completely or not at all; a failed night leaves yesterday's warehouse untouched and is
simply run again. One Prefect task per stage, and one per inbox file for the ingest stages.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote

from flows.stages import s06_load as loader
from flows.stages.ingest import (
    ReadAhead,
    StagedFile,
    apply_staged,
    discard,
    firms_read,
    history_tables,
    ingest_file,
    read_ahead,
    recheck,
    share_firms,
    snapshot_tables,
    stale,
    waves,
)
from flows.stages.s01_discover import InboxFile, discover
from flows.stages.s02_land import LandedFile, land, landed_hashes
from flows.stages.s05_validate import ValidationSession, prepare_gx, registry_keys_once, render_data_docs
from flows.stages.s07_indicators import changed_periods, update_indicators
from flows.stages.s08_snapshot import SnapshotResult, prepare_drawing, snapshot_stage
from flows.stages.s09_drift import prepare_html
from flows.stages.s10_alerts import AlertSummary, evaluate_alerts
from flows.stages.s11_report import Begun, ReportFiles, begin_reports, draw_report_maps, report_stage
from flows.stages.s12_deliver import DeliveryReport, SentLog, flush, flush_published, load_settings, send_notice
from flows.support import cluster
from flows.support.cluster import LocalWorkers, local_workers
from flows.support.file_hashes import FileHash, load_record, record_for, save_record
from flows.support.processes import freeze_imports, spawned_pool
from flows.support.settings import (
    DEFAULT_INBOX,
    DEFAULT_WAREHOUSE,
    DUCKDB_STAGE_MEMORY_LIMIT,
    REPORTS_OUT,
    landing_for,
    release,
)
from flows.support.staging import reference_connection, staging_for, write_reference
from flows.support.warehouse import (
    building,
    checkpoint_beside,
    migrations,
    query_one,
    release_cache,
    rows,
    run_sql,
    schema_version,
)


@dataclass
class NightSummary:
    """What a night did, for the CLI and the tests."""

    inbox: Path
    warehouse: Path
    files_seen: int
    refused: list[InboxFile] = field(default_factory=list)   # symlinks and special files: reported, not landed
    run_id: int | None = None
    outcomes: list[loader.FileOutcome] = field(default_factory=list)
    periods_recomputed: int = 0
    snapshots: list[SnapshotResult] = field(default_factory=list)
    data_docs: Path | None = None
    # meta.validation_problems of this night: engine disagreements (severity error) and rules not checked
    validation_problems: list[dict] = field(default_factory=list)
    alerts: AlertSummary | None = None
    reports: list[ReportFiles] = field(default_factory=list)
    delivery: DeliveryReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    stage: str = "start"            # the stage running (or the one that failed), for the failure notice
    error: str | None = None

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of a stage to `seconds` (the CLI and the benchmarks print where a night went)."""
        self.stage = stage
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

    @property
    def engine_disagreements(self) -> list[dict]:
        """Rules on which polars and Great Expectations disagreed: errors of the night."""
        return [p for p in self.validation_problems if p["severity"] == "error"]

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    def quarantined_by_rule(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for outcome in self.outcomes:
            for rule, n in outcome.rules:
                totals[rule] = totals.get(rule, 0) + n
        return dict(sorted(totals.items()))

    def markdown(self) -> str:
        """The night as the Prefect UI's artifact shows it: files, quarantine by reason, alerts, outputs."""
        def cell(value: object) -> str:
            # a file name is data: it must not become a table column, a line break or markup in the UI
            return str(value).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")

        state = f"**失败 / FAILED** in stage `{self.stage}`: {cell(self.error)}" if self.error else (
            "nothing new; warehouse unchanged" if self.run_id is None else f"run {self.run_id} published")
        lines = [f"# clusterwatch night — {state}", "",
                 f"inbox `{self.inbox}` ({self.files_seen} files) · warehouse `{self.warehouse}`", ""]
        if self.outcomes:
            lines += ["| file | status | rows in | loaded | quarantined | reason |", "|---|---|---:|---:|---:|---|"]
            lines += [f"| {cell(o.name)} | {o.status} | {o.rows_in} | {o.rows_loaded} | {o.rows_quarantined} | "
                      f"{cell(o.reason or '')} |" for o in self.outcomes]
            lines.append("")
        if self.quarantined_by_rule():
            lines += ["| quarantine rule | rows |", "|---|---:|"]
            lines += [f"| {rule} | {n} |" for rule, n in self.quarantined_by_rule().items()] + [""]
        lines += [f"- refused (not landed): {cell(f.name)} — {cell(f.refused)}" for f in self.refused]
        lines += [f"- **{'ERROR' if p['severity'] == 'error' else 'warning'} ({p['problem']})** "
                  f"{cell(p['file_name'])}, rule {p['rule']} on {cell(p['column_name'])}: {cell(p['detail_en'])}"
                  for p in self.validation_problems]
        if self.alerts:
            lines.append(f"- {cell(self.alerts)}")
        lines += [f"- report: `{r.html}`" + (f" · `{r.pdf}`" if r.pdf else "") for r in self.reports]
        lines += [f"- map {s.period:%Y-%m}: " + " · ".join(f"`{f}`" for f in s.files) for s in self.snapshots
                  if s.drawn]
        if self.data_docs:
            lines.append(f"- checks (Data Docs): `{self.data_docs}`")
        if self.delivery:
            lines.append(f"- delivery: {self.delivery}")
        if self.seconds:
            lines.append("- time: " + " · ".join(f"{stage} {sec:.0f} s" for stage, sec in self.seconds.items()))
        return "\n".join(lines)


def retrying(stage: Task) -> Task:
    """The stage with the configured retries: CLUSTERWATCH_TASK_RETRIES (default 2) more tries after a
    failure, waiting CLUSTERWATCH_TASK_RETRY_DELAY_S (default 20) seconds, doubled before each next try.
    A stage that writes the warehouse does so in one transaction (the snapshot opens its own; alerts and report
    run in in_transaction), so a retry starts clean; the indicator stage commits statement by statement and leaves
    its marts not current when a try fails, so the retry recomputes them all."""
    retries = int(os.environ.get("CLUSTERWATCH_TASK_RETRIES", "2"))
    delay = float(os.environ.get("CLUSTERWATCH_TASK_RETRY_DELAY_S", "20"))
    return stage.with_options(retries=retries, retry_delay_seconds=[delay * 2 ** i for i in range(retries)])


@contextmanager
def in_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A stage's writes as one transaction: a failed try leaves nothing for the retry to trip over."""
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        con.rollback()
        raise


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(inbox: Path, record: dict[tuple[int, int], FileHash]) -> list[InboxFile]:
    return discover(inbox, record)


@task(name="land", cache_policy=NO_CACHE)
def land_task(files: list[InboxFile], store: Path, con: duckdb.DuckDBPyConnection, run_id: int) -> list[LandedFile]:
    return land(files, store, con, run_id)


@task(name="ingest", task_run_name="ingest {landed.name}", cache_policy=NO_CACHE)
def ingest_task(landed: LandedFile, run_id: int, reference: Path | duckdb.DuckDBPyConnection | None,
                staging: Path, today: date, gx_rows: int, hold: bool = False,
                reads: ReadAhead | None = None) -> StagedFile:
    """standardise → validate for one file, staged for the load (flows.stages.ingest, flows.support.staging).

    A function of its inputs only when `reference` is a snapshot folder: it then runs on any Dask worker that
    sees the landing and staging folders. A file that cannot be read is staged as failed, never raised. `hold`:
    this process loads it next, from the frames in memory (ingest_file). `reads`: this process's read-ahead, which
    may have read the file while the one before it was checked and loaded.
    """
    return ingest_file(landed, run_id, reference, staging, today, gx_rows, hold=hold, reads=reads)


@task(name="check", task_run_name="check {landed.name}", cache_policy=NO_CACHE)
def check_task(staged: StagedFile, landed: LandedFile, run_id: int, reference: Path, today: date,
               gx_rows: int) -> StagedFile:
    """validate → staged outputs for a file ingest_task only read, against the wave's snapshot: the night sends
    it once no earlier file of the wave can change the history its check reads (see `ingest`)."""
    with reference_connection(reference) as con:
        return recheck(staged, landed, run_id, con, today, gx_rows)


@task(name="validate-gx", cache_policy=NO_CACHE)
def validate_gx_task(con: duckdb.DuckDBPyConnection, run_id: int, session: ValidationSession,
                     side: Executor) -> int:
    """Great Expectations over the night's files, one run per kind, in the night's worker process `side`; GX counts
    per file into the results.

    Runs in a thread that writes on its own DuckDB cursor, beside the indicator, snapshot and alerts stages (its
    tables are its own, so the two transactions never touch the same rows); the report waits for it.
    """
    session.finish(con, run_id, pool=side)
    return session.gx_runs


def build_data_docs(run_id: int, reports: Path, side: Executor) -> Future[Path]:
    """Great Expectations Data Docs for this night's validations, browsable under reports/data_docs; built in the
    night's worker process `side`, where GX is imported already (this process never imports it). The night hands
    them over once the GX checks are in, so they are built beside the report (nothing reads them before the
    night ends)."""
    return side.submit(render_data_docs, run_id, reports / "data_docs" / f"run-{run_id}", reports / "gx_results")


@task(name="data-docs", cache_policy=NO_CACHE)
def data_docs_task(run_id: int, reports: Path, side: Executor, started: list[Future[Path]]) -> Path:
    """The Data Docs the night started (build_data_docs), once built. `started` holds that build and is emptied by
    the first try, so a retry builds them again."""
    build = started.pop() if started else build_data_docs(run_id, reports, side)
    return build.result()


@task(name="indicators", cache_policy=NO_CACHE)
def indicators_task(con: duckdb.DuckDBPyConnection, run_id: int) -> set[date]:
    """Recompute the indicator marts for the periods whose windows touch what this night changed."""
    return update_indicators(con, changed_periods(con, run_id))   # a retry recomputes everything


@task(name="snapshot", cache_policy=NO_CACHE)
def snapshot_task(con: duckdb.DuckDBPyConnection, periods: set[date], out_dir: Path,
                  draw: Executor) -> list[SnapshotResult]:
    """A new map snapshot version for each recomputed period whose content changed; files for the latest,
    drawn in `draw` (each result's wait() has them)."""
    return snapshot_stage(con, periods, out_dir, draw=draw)   # one transaction per snapshot of its own


@task(name="alerts", cache_policy=NO_CACHE)
def alerts_task(con: duckdb.DuckDBPyConnection, reports: Path, periods: set[date],
                html_pool: Executor) -> AlertSummary:
    """Threshold and drift alerts for every month (evaluated again where the recomputed `periods` reach);
    new and resolved ones of the latest month are queued. The drift HTML renders in `html_pool` meanwhile."""
    with in_transaction(con):
        return evaluate_alerts(con, reports_dir=reports, recomputed=periods, html_pool=html_pool)


@task(name="report-begin", cache_policy=NO_CACHE)
def report_begin_task(con: duckdb.DuckDBPyConnection, reports: Path, side: Executor) -> list[Begun]:
    """The monthly report's editions decided before the alert stage, their trend charts drawn in the night's worker
    process `side` beside it (s11_report.begin_reports)."""
    return begin_reports(con, side, out_root=reports / "reports", maps_dir=reports / "maps")


@task(name="report", cache_policy=NO_CACHE)
def report_task(con: duckdb.DuckDBPyConnection, reports: Path, begun: list[Begun]) -> list[ReportFiles]:
    """The monthly report of the latest month (HTML + PDF), queued for e-mail to the configured recipients. `begun`
    holds the editions report_begin_task began and is emptied by the first try, so a retry begins them again."""
    ahead, begun[:] = list(begun), []
    with in_transaction(con):
        return report_stage(con, out_root=reports / "reports", maps_dir=reports / "maps", begun=ahead)


@task(name="deliver", cache_policy=NO_CACHE)
def deliver_task(con: duckdb.DuckDBPyConnection, warehouse: Path) -> DeliveryReport:
    """Send what the outbox holds (alerts, reports); failures stay queued for the next night. Sends are
    recorded in the sent log beside the warehouse first, so a crash before the publish sends nothing twice."""
    return flush(con, load_settings(), log=SentLog.beside(warehouse))



@contextmanager
def ingest_runner(local: LocalWorkers | None, dask_address: str | None) -> Iterator[TaskRunner | None]:
    """The Dask task runner the per-file ingest runs on, or None for this process alone (nothing of Dask is
    imported then): the local cluster started for this night (flows.support.cluster), or the cluster whose
    scheduler is at dask_address."""
    if local is None and not dask_address:
        yield None
        return
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(address=dask_address) if dask_address else DaskTaskRunner(cluster=local.cluster())
    with _workers_report_here(local=not dask_address), runner:
        yield runner


@contextmanager
def _workers_report_here(local: bool) -> Iterator[None]:
    """The temporary Prefect server of this night, named in the settings every submitted task carries to its worker.

    A night without a configured server (PREFECT_API_URL) runs on a temporary one only this process knows of; a
    Dask worker that finds no API URL in its task's settings starts a temporary server of its own — a uvicorn
    process with the whole Prefect server and its background services — and reports its task runs to a database
    nobody reads. Workers of the local cluster reach this night's server instead. A temporary server listens on
    loopback, which workers on other machines cannot reach: there a configured server is the way (README).
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value() or not local:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: str(get_client(sync_client=True).api_url)}):
        yield


def ingest(con: duckdb.DuckDBPyConnection, run_id: int, landed: list[LandedFile], session: ValidationSession,
           staging: Path, runner: TaskRunner | None) -> Iterator[loader.FileOutcome]:
    """Ingest the night's files and load them in order; yields each file's outcome as it is loaded.

    In one process each file is read and checked against the building warehouse itself, then loaded from the
    frames its task kept in memory (nothing of it staged but meta.json, its results and GX rows); the next file is
    read meanwhile, in a thread, when the two are small enough (flows.stages.ingest.ReadAhead). On
    Dask the files run in waves (flows.stages.ingest.waves): a reference snapshot of what the wave's checks
    read, every file of the wave but the first as a task on the cluster while this process reads and checks the
    first, then the load in file order as results arrive; a file whose firms' history an earlier file of the
    wave may change is checked here, against the warehouse as it then is (`_wave`).
    """
    today, limit = session.today or date.today(), session.limit
    run_sql(con, "load_begin")      # one commit per file, without a checkpoint at most of them
    with registry_keys_once(con):   # the fact files checked here read each registry's keys once
        if runner is None:
            with read_ahead(landed) as reads:
                for item in landed:
                    release_cache(con)  # the file's frames are about to take the memory: DuckDB's cache gives way
                    staged = ingest_task(item, run_id, con, staging, today, limit, hold=True, reads=reads)
                    outcome = apply_staged(con, run_id, staged, session)
                    discard(staged)
                    del staged      # its frames held for the load go now, not after the next file is read
                    yield outcome
            return
        for n, wave in enumerate(waves([item.kind for item in landed])):
            yield from _wave(con, run_id, [landed[i] for i in wave], session, staging, staging / f"reference-{n}",
                             runner)


def _wave(con: duckdb.DuckDBPyConnection, run_id: int, items: list[LandedFile], session: ValidationSession,
          staging: Path, reference: Path, runner: TaskRunner) -> Iterator[loader.FileOutcome]:
    """One wave, loaded here in file order: its first file read and checked here, the others on the cluster.

    The first file is loaded first: sent to the cluster, this process would only wait for it. It is read and
    checked here instead, against the warehouse itself (as in one process), while the cluster takes the others,
    checked against a snapshot (`reference`) of what their kinds read; a wave of one file needs neither. (It goes
    to the cluster all the same when a later file of the wave waits on the firms it names, which only the
    cluster's task stages: see below.)
    A file whose history table an earlier file of the wave writes too (a night that backfills months) is only
    read on the cluster at first: checked against the snapshot it could be stale by its turn, and the second
    check here would waste the first. Once its firms and the earlier files' are known, a file that shares none
    of them is checked on the cluster after all (`check_task`); the others are checked here, in their turn,
    against the warehouse as it then is — what one process does.
    """
    today, limit = session.today or date.today(), session.limit

    def tables(item: LandedFile) -> set[str]:
        return history_tables(item.kind) if item.kind else set()

    earlier = {i: [k for k in range(i) if tables(items[k]) & tables(item)] for i, item in enumerate(items)}
    later = [i for i in earlier if earlier[i]]
    first_here = not any(0 in earlier[i] for i in later)
    sent = [i for i in range(len(items)) if i or not first_here]
    if sent:
        write_reference(con, snapshot_tables({items[i].kind for i in sent if items[i].kind}), reference)
    futures = {i: runner.submit(ingest_task, parameters={
        "landed": items[i], "run_id": run_id, "reference": None if earlier[i] else reference, "staging": staging,
        "today": today, "gx_rows": limit}) for i in sent}
    if first_here:
        release_cache(con)      # the file's frames are about to take the memory: DuckDB's cache gives way
        first = ingest_task(items[0], run_id, con, staging, today, limit)
    checks: dict[int, PrefectFuture] = {}      # position → the check_task of a file read first
    here: set[int] = set()                     # positions checked here, in their turn
    known: dict[int, pl.Series | None] = {}    # position → its firms (firms_read), each file's read once

    def result(k: int) -> StagedFile:
        return futures[k].result() if k in futures else first

    def firms_of(k: int) -> pl.Series | None:
        if k not in known:
            known[k] = firms_read(result(k))
        return known[k]

    def decide(upto: int) -> None:
        """Where each file read first is checked, in file order, as far as results are in (waiting for them up
        to position `upto`)."""
        for i in later:
            if i in checks or i in here:
                continue
            if i > upto and not all(futures[k].wrapped_future.done() for k in (*earlier[i], i) if k in futures):
                return
            mine = firms_of(i)
            if mine is None or any(share_firms(mine, firms_of(k)) for k in earlier[i]
                                   if result(k).status != "failed"):
                here.add(i)
            else:
                checks[i] = runner.submit(check_task, parameters={
                    "staged": result(i), "landed": items[i], "run_id": run_id, "reference": reference,
                    "today": today, "gx_rows": limit})

    touched: dict[str, list[pl.LazyFrame]] = {}
    for i, item in enumerate(items):
        decide(i)
        staged = result(i)
        if i in here and staged.status == "parsed":
            staged = recheck(staged, item, run_id, con, today, limit)
        elif stale(staged, touched):        # what a check against the snapshot read has changed since
            get_run_logger().info("%s: an earlier file of this night changed its firms' history; "
                                  "checked against the warehouse", item.name)
            staged = recheck(staged, item, run_id, con, today, limit)
        elif i in checks:
            staged = checks[i].result()
        outcome = apply_staged(con, run_id, staged, session, touched)
        if any(i in earlier[j] for j in later if j not in checks and j not in here):
            firms_of(i)     # a later file's decision still reads them: kept before its folder goes
        discard(staged)
        del staged          # the frames of a file checked here go now, not after the next one is checked
        yield outcome


# How much nicer the night's worker runs than the night's process: everything it does has slack before the night
# waits for it (the GX checks and the map until the report starts, the Evidently HTML and the Data Docs until the
# night ends), while the night's process is the night's critical path from the ingest on. At +10 its imports and
# jobs take what the night's process leaves of the two cores instead of half of them.
NIGHT_WORKER_NICENESS = 10


@contextmanager
def night_worker() -> Iterator[ProcessPoolExecutor]:
    """The process the night's Python-heavy side work runs in, beside the stages of the process that holds the
    warehouse: the GX checks and Data Docs (ValidationSession.finish's pool), the latest map (the snapshot stage's
    `draw`) and the drift stage's Evidently HTML (flows.stages.s09_drift.run's html_pool).

    Started as the night opens its building copy, with their imports as its first jobs, in the order the night asks
    for their work (GX: s05_validate.prepare_gx, after the ingest; matplotlib and the base map:
    s08_snapshot.prepare_drawing, after the indicators; Evidently: s09_drift.prepare_html, ≈3 CPU-s, at the end of
    the drift step), at NIGHT_WORKER_NICENESS. In a thread of the night, matplotlib's and GX's Python held the GIL
    the alert stage needed; here they run on the other core. Shut down without waiting once the block ends (the
    night waits for what it needs: the checks' task, SnapshotResult.wait, DriftRun.wait_html, the Data Docs'
    task)."""
    pool = spawned_pool(1, niceness=NIGHT_WORKER_NICENESS)
    # a failed import fails again, and is raised, in the job that needs it (GX's, the map's drawing, render_job)
    pool.submit(prepare_gx)
    pool.submit(prepare_drawing)
    pool.submit(prepare_html)
    pool.submit(freeze_imports)      # what they made is walked by no later collection
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def cluster_mb(new: list[InboxFile]) -> float:
    """The megabytes of the night's new files a cluster would read: each wave's files but the first, which the
    night reads itself (the measure of cluster.CLUSTER_MIN_MB)."""
    return sum(new[i].path.stat().st_size for wave in waves([f.kind for f in new]) for i in wave[1:]) / 1e6


def new_files(files: list[InboxFile], warehouse: Path) -> tuple[list[InboxFile], bool]:
    """Files whose bytes the published warehouse has not landed yet, and whether it is at this release's schema
    (checked read-only, no rebuild; meta.files is in every release's schema, so a warehouse a night has yet to
    migrate is read too). No warehouse yet: nothing to migrate; the first night with files makes one."""
    if not warehouse.exists():
        return files, True
    with duckdb.connect(str(warehouse), read_only=True) as con:
        known = landed_hashes(con)
        current = schema_version(con) == len(migrations())
    return [f for f in files if f.sha256 not in known], current


@flow(name="nightly", log_prints=True)
def nightly(inbox: Path = DEFAULT_INBOX, warehouse: Path = DEFAULT_WAREHOUSE,
            reports: Path = REPORTS_OUT, workers: int = 0, dask_address: str | None = None) -> NightSummary:
    """Run one night over an inbox and publish the warehouse if anything new arrived.

    The per-file ingest runs in this process (default), on a local Dask cluster of `workers` processes, or on
    the Dask cluster at `dask_address` (default, without `workers`: CLUSTERWATCH_DASK_ADDRESS), whose workers see the
    landing and staging folders at the same paths (flows.support.staging).

    Maps, drift reports and monthly reports are written under `reports`. Every night leaves a markdown
    artifact (key `nightly-summary`) in Prefect; a night that fails also sends a failure notice through the
    configured channels (e-mail, robot), then fails the flow run.
    """
    summary = NightSummary(inbox=Path(inbox), warehouse=Path(warehouse), files_seen=0)
    try:
        address = dask_address or (None if workers else os.environ.get("CLUSTERWATCH_DASK_ADDRESS") or None)
        _night(summary, Path(reports), workers, address)
    except Exception as exc:
        summary.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        if isinstance(exc, OSError) and not exc.filename and summary.stage in STAGE_OUTPUT:
            # a write that failed mid-file (a full disk) names no path: say where the stage writes
            summary.error += f" (stage {summary.stage} writes under {Path(reports) / STAGE_OUTPUT[summary.stage]})"
        _artifact(summary)
        _notify_failure(summary)
        raise
    _artifact(summary)
    return summary


# Where each stage writes under --reports, for a failure that names no path.
STAGE_OUTPUT = {"snapshot": "maps", "alerts": "drift", "report": "reports", "checks": "data_docs"}


def _artifact(summary: NightSummary) -> None:
    create_markdown_artifact(key="nightly-summary", markdown=summary.markdown(),
                             description=f"clusterwatch night over {summary.inbox}")


def _notify_failure(summary: NightSummary) -> None:
    """Tell someone: a failed night is otherwise only visible to whoever opens the Prefect UI."""
    # a temporary server has no UI (no UI URL): the run's id is what can be looked up
    url = flow_run.ui_url if PREFECT_UI_URL.value() else f"Prefect flow run {flow_run.id}"
    subject = f"clusterwatch 夜间运行失败 / nightly run failed: {summary.stage}"
    text = (f"{subject}\n\n"
            f"阶段 / stage: {summary.stage}\n"
            f"错误 / error: {summary.error}\n"
            f"收件箱 / inbox: {summary.inbox}\n"
            f"仓库 / warehouse: {summary.warehouse} — 未发布，保持上一版本 / "
            "not published; the previous version stands\n"
            f"运行记录 / run: {url}\n"
            "下次运行会重新处理同样的文件 / the next run picks the same files up again.\n")
    results = send_notice(load_settings(), subject, text)
    get_run_logger().error("night failed in stage %s: %s; notice: %s", summary.stage, summary.error,
                           ", ".join(results) or "no channel configured")


def _night(summary: NightSummary, reports: Path, workers: int, dask_address: str | None) -> None:
    logger = get_run_logger()
    inbox, warehouse = summary.inbox, summary.warehouse
    # the inbox's files are hashed here, unless an earlier night recorded their hash (flows.support.file_hashes)
    with summary.timed("discover"):
        hashes = record_for(landing_for(warehouse))
        record = load_record(hashes)
        entries = retrying(discover_task)(inbox, record)
        files = [f for f in entries if f.refused is None]
        new, current = new_files(files, warehouse)
        save_record(hashes, [f.hashed for f in files], record)
    summary.files_seen = len(files)
    summary.refused = [f for f in entries if f.refused is not None]
    for entry in summary.refused:
        logger.warning("refused %s: %s", entry.path, entry.refused)
    if not current:
        logger.info("the warehouse is not at this release's schema: this night migrates it")
    elif not new:
        logger.info("nothing new in %s: %d files already landed; warehouse unchanged", inbox, len(files))
        with summary.timed("deliver"):
            summary.delivery = flush_published(warehouse)
        logger.info("delivery: %s", summary.delivery)
        return
    # "copy + publish": the night's time inside the building copy that no stage timed (the copy, the schema check,
    # the last checkpoint, the rename), so the stages before it (discover) are not taken off it
    publish_started, timed_before = time.perf_counter(), sum(summary.seconds.values())
    summary.stage = "copy"
    # A local cluster starts now and its workers import the pipeline while the warehouse is copied and the files
    # landed (flows.support.cluster); it is stopped once the files are loaded.
    size = 0 if dask_address else workers
    if size and (sent := cluster_mb(new)) < cluster.CLUSTER_MIN_MB:
        logger.info("%d new files, %.0f MB for a cluster (< CLUSTERWATCH_CLUSTER_MIN_MB %d): it would cost more "
                    "than it gains; no cluster started, the night reads them itself", len(new), sent,
                    cluster.CLUSTER_MIN_MB)
        size = 0
    with local_workers(size) as local, night_worker() as side, building(warehouse) as work:
        con = work.con
        run_id = query_one(con, "run_start", {"inbox": str(inbox), "release": release()})
        summary.run_id = run_id
        # A night that died had the same run id (its building copy is gone): its spooled GX results and
        # Data Docs must not join this night's.
        for leftover in (reports / "gx_results" / f"run-{run_id}", reports / "data_docs" / f"run-{run_id}"):
            shutil.rmtree(leftover, ignore_errors=True)
        with summary.timed("ingest"):
            landed = land_task(files, landing_for(warehouse), con, run_id)
            session = ValidationSession(spool=reports / "gx_results", today=date.today())
            staging = staging_for(landing_for(warehouse)) / f"run-{run_id}"
            shutil.rmtree(staging, ignore_errors=True)     # a night that died had the same run id
            with ingest_runner(local, dask_address) as runner:
                for outcome in ingest(con, run_id, landed, session, staging, runner):
                    summary.outcomes.append(outcome)
                    logger.info("[%d/%d] %s: %s, %d loaded, %d quarantined%s", len(summary.outcomes),
                                len(landed), outcome.name, outcome.status, outcome.rows_loaded,
                                outcome.rows_quarantined, f" ({outcome.reason})" if outcome.reason else "")
            if local is not None:
                local.close()
            shutil.rmtree(staging, ignore_errors=True)
            # The load's indexes and buffers stay in DuckDB's memory while its connection is open: the stages
            # after it run on a fresh one, with their own limit (settings.DUCKDB_STAGE_MEMORY_LIMIT).
            con = work.reopen(DUCKDB_STAGE_MEMORY_LIMIT)
            run_sql(con, "load_begin")      # its checkpoint threshold holds for the rest of the night, as before
        # Great Expectations re-checks the night's verdicts (one run per kind, in the night's worker process) beside
        # indicators, snapshot and alerts, which do not read its counts. The report waits for it, since it says
        # whether the two engines agreed. The drift stage's Evidently HTML, which nothing later reads, renders in
        # the same worker process beside the report (flows.stages.s09_drift).
        gx_con = con.cursor()
        checks = validate_gx_task.submit(gx_con, run_id, session, side)
        # The snapshot's map files (matplotlib) and the report's copy of the map are drawn in the night's worker
        # process beside the alert stage and the GX checks; the night waits for them before the report, which
        # shows the map (a copy not started by then, behind a first night's GX checks, is the report's to draw).
        rendered = False
        # The report's editions are begun beside the alert stage, in a thread on a cursor of their own, which the report
        # stage then reads them with: nothing they read is written by the alert stage (s11_report.begin_reports).
        report_con, begin = con.cursor(), None
        try:
            with summary.timed("indicators"):
                periods = retrying(indicators_task)(con, run_id)
            summary.periods_recomputed = len(periods)
            with summary.timed("snapshot"):
                summary.snapshots = retrying(snapshot_task)(con, periods, reports / "maps", side)
                report_maps = draw_report_maps(con, reports / "maps", side)
            # its trend charts are drawn in the worker beside the alert stage
            begin = retrying(report_begin_task).submit(report_con, reports, side)
            with summary.timed("alerts"):
                summary.alerts = retrying(alerts_task)(con, reports, periods, side)
            logger.info("%s", summary.alerts)
            with summary.timed("checks"):       # the report states whether GX confirmed the verdicts: wait for it
                logger.info("Great Expectations: %d runs for %d files", checks.result(), len(landed))
            docs = [build_data_docs(run_id, reports, side)]
            with summary.timed("snapshot"):     # what of the drawing the alerts and checks did not hide
                for snapshot in summary.snapshots:
                    snapshot.wait()
                for drawing in report_maps:     # not started yet (the worker still checks the night's files):
                    if not drawing.cancel():    # the report draws that copy in its own drawing worker
                        drawing.result()
            summary.validation_problems = rows(con, "validation_problems_run", {"run_id": run_id})
            for problem in summary.engine_disagreements:
                logger.error("validation engines disagree: %s, rule %s: %s", problem["file_name"], problem["rule"],
                             problem["detail_en"])
            # the indicators' and alerts' log is written to the file beside the report (warehouse.checkpoint_beside)
            with summary.timed("report"), checkpoint_beside(con):
                # quoted: Prefect would visit every cell of the begun editions as the task's input (≈ 6 CPU-s at nation)
                summary.reports = retrying(report_task)(con, reports, quote(begin.result()))
            with summary.timed("checks"):
                summary.data_docs = retrying(data_docs_task)(run_id, reports, side, docs)
            if summary.alerts.drift is not None:
                with summary.timed("drift html"):       # what of it the report stage did not hide
                    summary.alerts.drift.wait_html()
            rendered = True
        finally:
            checks.wait()       # a failed stage must not drop the building copy while GX still writes to it
            gx_con.close()
            if begin is not None:
                begin.wait()    # nor while the report's editions are still read on their cursor
            report_con.close()
            # Once every HTML report is in, the worker's exit (its interpreter unloading Evidently, pandas and
            # plotly: 0.3-1.8 s wall on the sample night) goes on beside the delivery and the publish; a failed
            # night still waits for a map or report being written before it says it failed.
            side.shutdown(wait=not rendered, cancel_futures=True)
        with summary.timed("deliver"):
            summary.delivery = deliver_task(con, warehouse)
        logger.info("delivery: %s", summary.delivery)
        run_sql(con, "run_finish", {"run_id": run_id, "files_seen": len(files)})
        summary.stage = "publish"
    summary.seconds["copy + publish"] = (time.perf_counter() - publish_started
                                         - (sum(summary.seconds.values()) - timed_before))
    logger.info("published %s", warehouse)
