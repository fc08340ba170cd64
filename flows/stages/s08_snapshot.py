"""Snapshot stage: an immutable cluster map per period, in DuckDB and as GeoJSON, PNG and offline HTML.

Runs after the indicators (docs/architecture.md#one-night-in-data-order: … → indicators → snapshot → …). A snapshot's
identity is the hash of
its content (the classed, suppression-marked rows and the map configuration), not the night that made it:
re-running a period whose inputs did not change finds the same hash and adds nothing; a revision that
changes the period adds version n+1 and leaves version n, its rows and its files untouched
(docs/architecture.md#snapshots-alerts-and-reports).
The DuckDB rows keep suppressed values for internal analysts; every file applies disclosure control.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows.render import maps, style
from flows.support.warehouse import run_sql

# Columns of mart.map_snapshot_clusters filled from a map row (besides snapshot_id, period, version).
ROW_COLUMNS = maps.SNAPSHOT_COLUMNS

@dataclass
class SnapshotResult:
    """What snapshot_period did: the snapshot it found or created and its files (drawn tonight or not)."""

    snapshot_id: str | None
    period: dt.date
    version: int | None
    content_hash: str | None
    created: bool
    files: list[Path] = field(default_factory=list)
    n_clusters: int = 0
    drawn: bool = False          # files drawn by this call (existing ones kept); render=False leaves them
    pending: Future | None = field(default=None, repr=False)   # the drawing, when handed to an executor

    def wait(self) -> list[Path]:
        """The files once their drawing is done (one handed to an executor raises its failure here)."""
        if self.pending is not None:
            self.files = self.pending.result()
            self.pending = None
        return self.files


def _files(out_dir: Path, period: dt.date, version: int, color: str) -> maps.MapFiles:
    folder = out_dir / f"{period:%Y-%m}"
    stem = f"map_{period:%Y-%m}_v{version}"
    return maps.MapFiles(folder / f"{stem}.geojson", folder / f"{stem}_{color}.png", folder / f"{stem}.html")


def _render(header: dict[str, Any], rows: list[dict[str, Any]], out_dir: Path, color: str) -> list[Path]:
    """Write a snapshot's files unless they exist: a version's files, like its rows, never change."""
    period, version = header["period"], header["version"]
    wanted = _files(out_dir, period, version, color)
    if all(p.exists() for p in wanted.all()):
        return wanted.all()
    meta = {k: header[k] for k in ("snapshot_id", "period", "version", "content_hash", "created_at")}
    written = maps.render_rows(rows, period, color, out_dir, f"map_{period:%Y-%m}_v{version}", meta)
    return written.all()


def prepare_drawing() -> None:
    """Load what drawing a map needs (matplotlib with the CJK font, the base map's layers: ≈1–2 CPU-s), as a job of
    the process the night draws its map in, started early while the ingest leaves a core to spare
    (flows.nightly.night_worker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401

    style.cjk_font()
    maps.base_map(0.01)


def _drawn(header: dict[str, Any], rows: list[dict[str, Any]], out_dir: Path, color: str,
           draw: Executor | None) -> tuple[list[Path], Future | None]:
    """The files of a snapshot, drawn here, or handed to `draw` (their paths now, the drawing pending)."""
    if draw is None:
        return _render(header, rows, out_dir, color), None
    return _files(out_dir, header["period"], header["version"], color).all(), draw.submit(
        _render, header, rows, out_dir, color)


def snapshot_period(con: duckdb.DuckDBPyConnection, period: dt.date, out_dir: Path,
                    color: str = "local_supporting_rate", render: bool = True,
                    draw: Executor | None = None) -> SnapshotResult:
    """Snapshot one period: add a version only when the content hash is new, then make sure its files exist.

    `con` is the read-write building warehouse; `out_dir` is the maps folder (files go to out_dir/<YYYY-MM>/).
    With render=False only the DuckDB rows are written (a history night recomputing 36 months); the files
    of any stored version can be drawn later, identically, with render_snapshot(). With `draw` (an executor)
    the files are drawn there from rows already read, and the result's wait() returns them once written.
    """
    if color not in maps.COLOR_CHOICES:
        raise ValueError(f"unknown colour indicator {color!r}; choose one of {', '.join(maps.COLOR_CHOICES)}")
    period = period.replace(day=1)
    rows = maps.live_rows(con, period)
    if not rows:
        return SnapshotResult(None, period, None, None, created=False)
    digest = maps.content_hash(rows)
    latest = maps.stored_rows(con, period)
    if latest is not None and latest[0]["content_hash"] == digest:
        header, stored = latest
        files, pending = _drawn(header, stored, out_dir, color, draw) if render else (_files(
            out_dir, period, header["version"], color).all(), None)
        return SnapshotResult(header["snapshot_id"], period, header["version"], digest, created=False,
                              files=files, n_clusters=len(stored), drawn=render, pending=pending)

    version = 1 if latest is None else latest[0]["version"] + 1
    snapshot_id = f"map-{period:%Y-%m}-v{version}"
    created_at = con.execute("SELECT CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP)").fetchone()[0]
    files = _files(out_dir, period, version, color)
    n_suppressed = sum(1 for r in rows for c in (*maps.HEADLINE, "stage") if r.get(f"{c}_suppressed"))
    frame = pl.DataFrame([{**{k: r.get(k) for k in ROW_COLUMNS}, "snapshot_id": snapshot_id, "period": period,
                           "version": version} for r in rows],
                         infer_schema_length=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("snapshot_rows", frame)
        run_sql(con, "snapshot_store", {
            "snapshot_id": snapshot_id, "period": period, "version": version, "created_at": created_at,
            "content_hash": digest, "n_clusters": len(rows), "suppressed_count": n_suppressed,
            "config_hash": maps.config_hash(), "default_color": color,
            "files": [str(p.relative_to(out_dir)) for p in files.all()]},
            identifiers={"columns": ["snapshot_id", "period", "version", *ROW_COLUMNS]})
        con.unregister("snapshot_rows")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    written, pending = files.all(), None
    if render:
        header, stored = maps.stored_rows(con, period, version)  # type: ignore[misc]
        written, pending = _drawn(header, stored, out_dir, color, draw)
    return SnapshotResult(snapshot_id, period, version, digest, created=True, files=written, n_clusters=len(rows),
                          drawn=render, pending=pending)


def render_snapshot(con: duckdb.DuckDBPyConnection, period: dt.date, out_dir: Path,
                    color: str = "local_supporting_rate", version: int | None = None) -> list[Path]:
    """Write the files of a stored snapshot version (latest by default) if missing; read-only safe."""
    stored = maps.stored_rows(con, period.replace(day=1), version)
    if stored is None:
        raise LookupError(f"no map snapshot for {period:%Y-%m}")
    return _render(stored[0], stored[1], out_dir, color)


def snapshot_periods(con: duckdb.DuckDBPyConnection, periods: set[dt.date] | list[dt.date], out_dir: Path,
                     color: str = "local_supporting_rate", files_for: str = "latest",
                     draw: Executor | None = None) -> list[SnapshotResult]:
    """Snapshot the periods the indicator stage recomputed tonight (call with its return value).

    Every period gets its DuckDB snapshot; files are drawn for the latest period only (files_for="latest",
    keeps a 36-month history night fast) or for every period (files_for="all"), here or in `draw`.
    """
    ordered = sorted(periods)
    return [snapshot_period(con, p, out_dir, color, render=files_for == "all" or p == ordered[-1], draw=draw)
            for p in ordered]


def snapshot_latest(con: duckdb.DuckDBPyConnection, out_dir: Path, color: str = "local_supporting_rate",
                    draw: Executor | None = None) -> SnapshotResult | None:
    """Snapshot the latest period that has cluster indicators; None when there are none yet."""
    row = con.execute("SELECT max(period) FROM mart.cluster_indicators").fetchone()
    if row is None or row[0] is None:
        return None
    return snapshot_period(con, row[0], out_dir, color, draw=draw)


def load_global_clusters(con: duckdb.DuckDBPyConnection, csv_path: Path | None = None) -> int:
    """(Re)load mart.global_clusters from data/reference/global_clusters.csv; returns the row count."""
    path = csv_path or maps.GLOBAL_CLUSTERS_CSV
    frame = pl.read_csv(path, schema_overrides={"seq": pl.Int32, "lon": pl.Float64, "lat": pl.Float64})
    con.register("global_clusters_csv", frame)
    con.execute("DELETE FROM mart.global_clusters")
    con.execute("INSERT INTO mart.global_clusters BY NAME SELECT * FROM global_clusters_csv")
    con.unregister("global_clusters_csv")
    return con.execute("SELECT count(*) FROM mart.global_clusters").fetchone()[0]


def snapshot_stage(con: duckdb.DuckDBPyConnection, periods: set[dt.date] | list[dt.date] | None,
                   out_dir: Path | None = None, color: str = "local_supporting_rate",
                   draw: Executor | None = None) -> list[SnapshotResult]:
    """The nightly flow's snapshot stage, in one call after the indicators (one Prefect task).

    `periods` is what flows.stages.s07_indicators.update_indicators returned (None or empty: the latest period only).
    Also refreshes the global reference table and draws the world overview once (it changes only with the
    committed CSV). With `draw` the latest map's files are drawn there (see snapshot_period): the night hands
    them to the night's worker process (flows.nightly.night_worker), where matplotlib's Python work runs on a core
    of its own beside the alert stage instead of taking turns at this process's GIL.
    """
    from flows.support.settings import REPORTS_OUT

    out_dir = out_dir or REPORTS_OUT / "maps"
    load_global_clusters(con)
    world = out_dir / "world_clusters.png"
    if not world.exists():
        maps.render_world_map(con, world)
    if periods:
        return snapshot_periods(con, periods, out_dir, color, draw=draw)
    latest = snapshot_latest(con, out_dir, color, draw)
    return [latest] if latest is not None else []
