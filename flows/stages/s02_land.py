"""Stage 2, land: keep every file unchanged in a content-addressed store and register it in meta.files.

A file is identified by its SHA-256: the same bytes arriving again (under any name) are recognised and
not loaded twice. Landing happens before any parsing, so even a file nobody can read is kept.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from flows.stages.s01_discover import InboxFile
from flows.support.warehouse import query_one


@dataclass(frozen=True)
class LandedFile:
    file_id: int
    name: str
    kind: str | None
    sha256: str
    path: Path  # the copy in the store; the inbox copy may be removed by the sender


def store_path(store: Path, sha: str, suffix: str) -> Path:
    return store / sha[:2] / f"{sha}{suffix.lower()}"


def landed_hashes(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT sha256 FROM meta.files").fetchall()}


def remove_partial_copies(store: Path) -> list[Path]:
    """Delete `.part` copies a night that died mid-copy left in the store (only called under the warehouse
    lock, so no live night is writing one); a complete copy is only ever renamed into place."""
    removed = sorted(store.glob("*/*.part")) if store.is_dir() else []
    for path in removed:
        path.unlink()
    return removed


def _copy(source: Path, target: Path) -> None:
    """Copy into the store through a `.part` file renamed into place; an error names both paths."""
    partial = target.with_suffix(target.suffix + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, partial)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OSError(exc.errno, f"landing {source} as {target}: {exc.strerror or exc}") from exc


def land(files: list[InboxFile], store: Path, con: duckdb.DuckDBPyConnection, run_id: int) -> list[LandedFile]:
    """Copy new files into the store and register them; return only the files not seen before."""
    remove_partial_copies(store)
    known = landed_hashes(con)
    landed: list[LandedFile] = []
    for item in files:
        sha = item.sha256
        if sha in known:
            continue
        known.add(sha)
        target = store_path(store, sha, item.path.suffix)
        if not target.exists():
            _copy(item.path, target)
        stat = item.path.stat()
        file_id = query_one(con, "land_register", {
            "file_name": item.name, "kind": item.kind, "sha256": sha, "size_bytes": stat.st_size,
            "arrived_at": datetime.fromtimestamp(stat.st_mtime), "landed_path": str(target), "run_id": run_id})
        landed.append(LandedFile(file_id, item.name, item.kind, sha, target))
    return landed
