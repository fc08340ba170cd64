"""A night over an inbox of generated hostile and broken files (tests/hostile.py): it completes, every
file gets its own status and reason, and every row of a loaded file is loaded or quarantined."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hostile import CASES, Case
from test_nightly import CLUSTERS, FIRMS

from flows.nightly import NightSummary, nightly
from flows.support import guards


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory, prefect_harness) -> tuple[Path, NightSummary]:
    root = tmp_path_factory.mktemp("hostile")
    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / "clusters_2025.csv").write_text(CLUSTERS, encoding="utf-8")
    (inbox / "firms_2025.csv").write_text(FIRMS, encoding="utf-8")
    for case in CASES:
        case.write(inbox / case.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guards, "MAX_XLSX_BYTES", 16 << 20)   # the 40 MiB sheet stands in for a gigabyte one
        summary = nightly(inbox=inbox, warehouse=root / "wh" / "cw.duckdb", reports=root / "reports")
    return root, summary


def files(root: Path) -> dict[str, tuple]:
    with duckdb.connect(str(root / "wh" / "cw.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT file_name, status, reason, rows_in, rows_loaded, rows_quarantined, landed_path "
                           "FROM meta.files").fetchall()
    return {r[0]: r[1:] for r in rows}


def quarantine_rules(root: Path, name: str) -> set[str]:
    with duckdb.connect(str(root / "wh" / "cw.duckdb"), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT DISTINCT rule FROM quarantine.rows WHERE file_name = ?",
                                          [name]).fetchall()}


def test_the_hostile_night_publishes_every_good_file_and_its_data_docs(hostile_night):
    root, summary = hostile_night
    landed = files(root)
    assert landed["clusters_2025.csv"][0] == "loaded" and landed["firms_2025.csv"][0] == "loaded"
    assert len(landed) == 2 + sum(c.status != "refused" for c in CASES)
    assert summary.data_docs is not None and summary.data_docs.is_file()


@pytest.mark.parametrize("case", CASES, ids=[c.name[:40] for c in CASES])
def test_each_hostile_file_gets_its_status_reason_and_row_accounting(hostile_night, case: Case):
    root, summary = hostile_night
    landed = files(root)
    if case.status == "refused":
        assert case.name not in landed
        [refusal] = [f.refused for f in summary.refused if f.name == case.name]
        assert refusal.startswith(case.reason)
        return
    status, reason, rows_in, rows_loaded, rows_quarantined, landed_path = landed[case.name]
    assert Path(landed_path).is_file()
    if case.status == "failed":
        assert (status, rows_loaded, rows_quarantined) == ("failed", 0, 0), reason
        assert reason.split(":")[0] == case.reason, reason
        assert "\n" not in reason and len(reason) <= len(case.reason) + 2 + 600
        if case.reason != "unknown_kind":
            assert case.name in reason
        return
    assert status == "loaded", reason
    assert rows_in == rows_loaded + rows_quarantined
    assert quarantine_rules(root, case.name) == set(case.rules)
    if case.loaded is not None:
        assert rows_loaded == case.loaded


def test_injection_text_in_a_name_is_stored_verbatim_as_data(hostile_night):
    root, _ = hostile_night
    with duckdb.connect(str(root / "wh" / "cw.duckdb"), read_only=True) as con:
        [(name,)] = con.execute("SELECT firm_name FROM core.firms WHERE firm_name LIKE '=cmd%'").fetchall()
        assert name == "=cmd|' /C calc'!A0 <script>alert(1)</script>'; DROP TABLE core.firms; --"
        assert con.execute("SELECT count(*) FROM meta.files").fetchone()[0] > 0
