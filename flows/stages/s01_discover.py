"""Stage 1, discover: list the files waiting in the inbox, with their kind (the file-name prefix)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from flows.support.contract import KIND_ORDER, kind_of
from flows.support.file_hashes import FileHash, hash_file, known_hash

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet"}


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str | None  # None: the name does not start with a known kind; landed and marked failed
    refused: str | None = None  # why the entry is not a delivery to land (symlink, special file); never read
    # the hash recorded by an earlier night for this file at its current identity (flows.support.file_hashes)
    known: FileHash | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def hashed(self) -> FileHash:
        """The file's hash: the recorded one, or read once, whether the night lands the file or skips it as known."""
        return self.known or hash_file(self.path)

    @property
    def sha256(self) -> str:
        return self.hashed.sha256


def _refusal(path: Path, mode: int) -> str | None:
    """Why an inbox entry must not be read: a symlink could make the night copy any file it can read
    (e.g. /etc/passwd) into the landing store; a FIFO or device would block or never end."""
    if stat.S_ISLNK(mode):
        return f"symlink: 符号链接不予接收 / a symbolic link (to {os.readlink(path)}) is not a delivery"
    if not stat.S_ISREG(mode):
        return "special_file: 不是普通文件 / not a regular file (FIFO, socket or device)"
    return None


def discover(inbox: Path, record: Mapping[tuple[int, int], FileHash] | None = None) -> list[InboxFile]:
    """Inbox entries in processing order: registries before facts, then by file name
    (docs/architecture.md#input-contract).

    Hidden files and temporary office files (~$…) are skipped: they are not deliveries. Symlinks (to files
    or folders) and special files are listed with the reason they are refused, and never read. A file whose
    identity is the one `record` holds for it (flows.support.file_hashes.load_record) carries its recorded hash.
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
            st = os.lstat(path)
            refused = _refusal(path, st.st_mode)
            known = known_hash(record, st) if record and refused is None else None
            files.append(InboxFile(path, kind_of(name), refused, known))
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(files, key=lambda f: (rank.get(f.kind or "", len(rank)), f.name))
