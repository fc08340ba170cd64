"""Discover and the inbox's hash record: a night reads only the files it has not hashed before, and never takes a
changed file for a known one (flows.support.file_hashes)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import pytest

from flows.stages.s01_discover import InboxFile, discover
from flows.support import file_hashes
from flows.support.file_hashes import load_record, record_for, save_record

CSV = "统一社会信用代码,统计期,工业总产值（千元）\n91130609MA0000001X,2025-03,1800\n"


def inbox_with(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text(CSV, encoding="utf-8")
    return folder


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def night_of_hashing(inbox: Path, record_path: Path) -> list[InboxFile]:
    """What a night does before its stages: discover with the record, hash what it must, record the hashes."""
    record = load_record(record_path)
    files = discover(inbox, record)
    save_record(record_path, [f.hashed for f in files], record)
    return files


@pytest.fixture
def settled(monkeypatch):
    """Files written by the test count as settled: their ctime is not in the last RECENT_NS."""
    monkeypatch.setattr(file_hashes, "RECENT_NS", 0)


def test_a_recorded_file_is_not_read_again(tmp_path, settled, monkeypatch):
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-03.csv", "tax_2025-03.csv"])
    record_path = record_for(tmp_path / "landing")
    first = night_of_hashing(inbox, record_path)
    assert [f.known for f in first] == [None, None]

    def no_read(*_args: object) -> None:
        raise AssertionError("a recorded file was read again")

    monkeypatch.setattr(hashlib, "file_digest", no_read)
    again = night_of_hashing(inbox, record_path)
    assert [f.sha256 for f in again] == [sha(inbox / "monthly_2025-03.csv"), sha(inbox / "tax_2025-03.csv")]
    assert all(f.known is not None for f in again)


def test_a_file_rewritten_in_place_with_its_size_and_mtime_restored_is_hashed_again(tmp_path, settled):
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-03.csv"])
    path, record_path = inbox / "monthly_2025-03.csv", record_for(tmp_path / "landing")
    [first] = night_of_hashing(inbox, record_path)
    before = os.stat(path)
    time.sleep(0.05)        # past the file system clock's tick (≈ 4 ms on ext4)
    with open(path, "r+b") as handle:
        handle.write(CSV.replace("1800", "8100").encode("utf-8"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    # only ctime tells the change: same inode, size and mtime
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    [again] = night_of_hashing(inbox, record_path)
    assert again.known is None
    assert again.sha256 == sha(path) != first.sha256


def test_a_file_replaced_by_another_of_the_same_size_and_mtime_is_hashed_again(tmp_path, settled):
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-03.csv"])
    path, record_path = inbox / "monthly_2025-03.csv", record_for(tmp_path / "landing")
    [first] = night_of_hashing(inbox, record_path)
    before = os.stat(path)
    other = tmp_path / "other.csv"
    other.write_text(CSV.replace("1800", "8100"), encoding="utf-8")
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, path)
    assert os.stat(path).st_ino != before.st_ino
    [again] = night_of_hashing(inbox, record_path)
    assert again.known is None
    assert again.sha256 == sha(path) != first.sha256


def test_a_file_changed_within_the_last_minute_is_hashed_but_not_recorded(tmp_path):
    """A change in the same tick of the file system's clock as the recorded state would keep the identity."""
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-03.csv"])
    record_path = record_for(tmp_path / "landing")
    [first] = night_of_hashing(inbox, record_path)
    assert first.sha256 == sha(inbox / "monthly_2025-03.csv") and first.hashed.identity is None
    assert load_record(record_path) == {}


def test_a_file_gone_from_the_inbox_leaves_the_record(tmp_path, settled):
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-02.csv", "monthly_2025-03.csv"])
    record_path = record_for(tmp_path / "landing")
    night_of_hashing(inbox, record_path)
    (inbox / "monthly_2025-02.csv").unlink()
    night_of_hashing(inbox, record_path)
    kept = os.stat(inbox / "monthly_2025-03.csv")
    assert list(load_record(record_path)) == [(kept.st_dev, kept.st_ino)]


def test_a_hard_link_in_another_folder_is_the_same_recorded_file(tmp_path, settled, monkeypatch):
    """An inbox assembled from hard links (bench/bench_ingest.py's night 2) reuses what night 1 recorded."""
    first = inbox_with(tmp_path / "night1", ["monthly_2025-03.csv"])
    record_path = record_for(tmp_path / "landing")
    night_of_hashing(first, record_path)
    second = tmp_path / "night2"
    second.mkdir()
    os.link(first / "monthly_2025-03.csv", second / "monthly_2025-03.csv")   # a link is a change of the inode
    night_of_hashing(first, record_path)                                       # ... so it is hashed again once
    (second / "monthly_2025-04.csv").write_text(CSV.replace("03", "04"), encoding="utf-8")
    read, digest = [], hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda handle, name: read.append(Path(handle.name).name)
                        or digest(handle, name))
    files = night_of_hashing(second, record_path)
    assert read == ["monthly_2025-04.csv"]
    assert [f.sha256 for f in files] == [sha(second / "monthly_2025-03.csv"), sha(second / "monthly_2025-04.csv")]


@pytest.mark.parametrize("damage", ["not json", "too deep", "wrong shape", "bad hash", "bool for int", "a folder"])
def test_an_unreadable_record_is_logged_and_every_file_hashed(tmp_path, settled, caplog, damage):
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-03.csv"])
    record_path = record_for(tmp_path / "landing")
    night_of_hashing(inbox, record_path)
    entry = json.loads(record_path.read_text(encoding="utf-8"))
    [value] = entry["files"]
    if damage == "not json":
        record_path.write_bytes(b"\x00{\xff")
    elif damage == "too deep":
        record_path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif damage == "wrong shape":
        record_path.write_text(json.dumps({"format": 1, "files": {"0": value}}), encoding="utf-8")
    elif damage == "bad hash":
        record_path.write_text(json.dumps({"format": 1, "files": [["0" * 63, *value[1:]]]}), encoding="utf-8")
    elif damage == "bool for int":
        record_path.write_text(json.dumps({"format": 1, "files": [[*value[:5], True]]}), encoding="utf-8")
    else:
        record_path.unlink()
        record_path.mkdir()
    with caplog.at_level(logging.WARNING, logger="flows.support.file_hashes"):
        [again] = discover(inbox, load_record(record_path))
    assert again.known is None and again.sha256 == sha(inbox / "monthly_2025-03.csv")
    assert f"inbox hash record {record_path} ignored" in caplog.text


def test_a_record_that_cannot_be_written_is_logged_and_the_night_goes_on(tmp_path, settled, caplog):
    inbox = inbox_with(tmp_path / "inbox", ["monthly_2025-03.csv"])
    (tmp_path / "landing").write_text("a file where the landing folder should be", encoding="utf-8")
    record_path = record_for(tmp_path / "landing")
    with caplog.at_level(logging.WARNING, logger="flows.support.file_hashes"):
        [first] = night_of_hashing(inbox, record_path)
    assert first.sha256 == sha(inbox / "monthly_2025-03.csv")
    assert f"inbox hash record {record_path} not written" in caplog.text
