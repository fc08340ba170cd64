"""The inbox's hash record: a night hashes only the files it has not hashed before.

A bureau's drop folder keeps every month's files, and a night tells which are new by their SHA-256
(flows.nightly.new_files): hashing all of them every night costs more each month (nation: 40 files, 977 MB,
≈ 0.7 CPU-s). The record keeps, for each file a night hashed, its hash with the file's identity at that moment:
(device, inode, size, mtime_ns, ctime_ns) from stat. A later night reuses the hash only when the file's identity
is exactly the recorded one; anything else hashes the file again. Git's index trusts the same fields. The hash
belongs to the inode, not to a name: a hard link under another name or folder (an inbox assembled from links, as
bench/bench_ingest.py's nights are) is the same bytes.

Why a changed file is never taken for a known one: writing a file's bytes, truncating it, or renaming another file
onto its name sets the inode's ctime to the file system's clock, and ctime cannot be set by a user (utime sets
mtime and, by doing so, ctime too); a replacement is another inode. The one way a change keeps the identity is a
write within the same tick of the file system's clock as the recorded state (1 s on some file systems, a few ms on
ext4): so a hash is recorded only if the file's ctime was at least RECENT_NS older than this machine's clock when
the file was opened, and the file's identity did not change while it was read. This assumes a file system that
sets ctime on every change, as POSIX requires, and whose clock (a network share's server's) runs at most RECENT_NS
minus its tick behind this machine's. A file changed in the last RECENT_NS is simply hashed again by the next night.

The record lives in the landing store (it goes with the store: one per warehouse). It is a cache of facts about
files, not about the warehouse, so it is written as soon as the night has hashed its files, whether or not the
night then publishes. It can never fail a night: an unreadable record is logged and ignored (every file is then
hashed, as without one), and a record that cannot be written is logged and left as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

Identity = tuple[int, int, int, int, int]   # st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns
FORMAT = 1
RECENT_NS = 60 * 10**9
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class FileHash:
    sha256: str
    identity: Identity | None   # the file's identity while it was read; None: not to be recorded (see RECENT_NS)


def identity(st: os.stat_result) -> Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def hash_file(path: Path) -> FileHash:
    """SHA-256 of the file's bytes, with its identity if the hash may be recorded (see the module's docstring)."""
    with open(path, "rb") as handle:
        before = os.fstat(handle.fileno())
        opened_ns = time.time_ns()
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        after = os.fstat(handle.fileno())
    settled = opened_ns - before.st_ctime_ns >= RECENT_NS and identity(before) == identity(after)
    return FileHash(digest, identity(before) if settled else None)


def record_for(landing: Path) -> Path:
    return landing / "inbox_hashes.json"


def load_record(path: Path) -> dict[tuple[int, int], FileHash]:
    """The recorded hashes by (device, inode); an absent record is empty, an unreadable one is logged and ignored."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), list):
            raise ValueError(f"not a format-{FORMAT} record of hashes")
        record = {}
        for entry in data["files"]:
            if not (isinstance(entry, list) and len(entry) == 6 and isinstance(entry[0], str)
                    and _SHA256.fullmatch(entry[0]) and all(type(n) is int for n in entry[1:])):
                raise ValueError(f"entry {entry!r} is not [sha256, device, inode, size, mtime_ns, ctime_ns]")
            record[entry[1], entry[2]] = FileHash(entry[0], tuple(entry[1:]))
        return record
    except FileNotFoundError:
        return {}
    # json.JSONDecodeError and UnicodeDecodeError are ValueErrors; a record nested too deep to parse, RecursionError
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("inbox hash record %s ignored, every inbox file is hashed: %s", path, exc)
        return {}


def known_hash(record: Mapping[tuple[int, int], FileHash], st: os.stat_result) -> FileHash | None:
    """The recorded hash of the file whose lstat is `st`, if its identity is the recorded one."""
    known = record.get((st.st_dev, st.st_ino))
    return known if known is not None and known.identity == identity(st) else None


def save_record(path: Path, hashes: Iterable[FileHash], previous: Mapping[tuple[int, int], FileHash]) -> None:
    """Record the hashes that may be kept (this night's files only: a file gone from the inbox drops out),
    through a temporary file renamed into place; not rewritten when nothing changed."""
    record = {h.identity[:2]: h for h in hashes if h.identity is not None}
    if record == dict(previous):
        return
    data = {"format": FORMAT, "files": [[h.sha256, *h.identity] for _, h in sorted(record.items())]}
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=0), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with suppress(OSError):     # a leftover *.tmp-* file is never read
            tmp.unlink(missing_ok=True)
        log.warning("inbox hash record %s not written, the next night hashes every inbox file again: %s", path, exc)
