"""Stage 1, discover: list the files waiting in the inbox, with their kind (the file-name prefix)."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from flows.support.contract import KIND_ORDER, kind_of

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet"}


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str | None  # None: the name does not start with a known kind; landed and marked failed
    refused: str | None = None  # why the entry is not a delivery to land (symlink, special file); never read

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


def _refusal(path: Path) -> str | None:
    """Why an inbox entry must not be read: a symlink could make the night copy any file it can read
    (e.g. /etc/passwd) into the landing store; a FIFO or device would block or never end."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return f"symlink: 符号链接不予接收 / a symbolic link (to {os.readlink(path)}) is not a delivery"
    if not stat.S_ISREG(mode):
        return "special_file: 不是普通文件 / not a regular file (FIFO, socket or device)"
    return None


def discover(inbox: Path) -> list[InboxFile]:
    """Inbox entries in processing order: registries before facts, then by file name
    (docs/architecture.md#input-contract).

    Hidden files and temporary office files (~$…) are skipped: they are not deliveries. Symlinks (to files
    or folders) and special files are listed with the reason they are refused, and never read.
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    files = []
    for folder, dirs, names in os.walk(inbox, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in [*names, *(d for d in dirs if (base / d).is_symlink())]:
            if name.startswith((".", "~$")):
                continue
            path = base / name
            files.append(InboxFile(path, kind_of(name), _refusal(path)))
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(files, key=lambda f: (rank.get(f.kind or "", len(rank)), f.name))
