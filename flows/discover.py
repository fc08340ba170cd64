"""Stage 1, discover: list the files waiting in the inbox, with their kind (the file-name prefix)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from flows.contract import KIND_ORDER, kind_of

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet"}


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str | None  # None: the name does not start with a known kind; landed and marked failed

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def sha256(self) -> str:
        """The file's identity: computed once, whether the night lands the file or skips it as known."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def discover(inbox: Path) -> list[InboxFile]:
    """Inbox files in processing order: registries before facts, then by file name (DESIGN §3).

    Hidden files and temporary office files (~$…) are skipped: they are not deliveries.
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    files = [InboxFile(p, kind_of(p.name)) for p in sorted(inbox.rglob("*"))
             if p.is_file() and not p.name.startswith((".", "~$"))]
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(files, key=lambda f: (rank.get(f.kind or "", len(rank)), f.name))
