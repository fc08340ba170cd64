"""scripts/compare_marts.py, which the lead uses to show that a refactoring leaves the night's marts unchanged:
it must report a changed, missing or extra row, and only that — not run timestamps, not float noise when told."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_marts.py"
_spec = importlib.util.spec_from_file_location("compare_marts", SCRIPT)
compare_marts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_marts)


def _warehouse(path: Path, rows: list[tuple], run_id: int, at: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA mart")
        con.execute("CREATE TABLE mart.t (k VARCHAR, v DOUBLE, flags VARCHAR[], run_id INTEGER, computed_at TIMESTAMP)")
        con.executemany("INSERT INTO mart.t VALUES (?, ?, ?, ?, ?)", [[*r, run_id, at] for r in rows])
    return path


def _run(capsys, *args: object) -> tuple[int, str]:
    """The script's exit status and printout (run in this process: a subprocess per call costs a second)."""
    code = compare_marts.main([str(a) for a in args])
    return code, capsys.readouterr().out


def test_equal_marts_of_two_runs_compare_equal_whatever_their_run_ids_and_times(tmp_path, capsys):
    rows = [("a", 1.0, ["x"]), ("a", 1.0, ["x"]), ("b", None, [])]
    before = _warehouse(tmp_path / "b.duckdb", rows, 1, "2025-01-01 02:00")
    after = _warehouse(tmp_path / "a.duckdb", list(reversed(rows)), 7, "2025-02-01 02:00")
    code, out = _run(capsys, before, after)
    assert code == 0 and "all tables equal" in out, out


def test_a_changed_or_duplicated_row_is_a_difference(tmp_path, capsys):
    before = _warehouse(tmp_path / "b.duckdb", [("a", 1.0, ["x"]), ("b", 2.0, [])], 1, "2025-01-01")
    after = _warehouse(tmp_path / "a.duckdb", [("a", 1.0, ["x"]), ("a", 1.0, ["x"]), ("b", 2.5, [])], 1,
                       "2025-01-01")
    code, out = _run(capsys, before, after)
    assert code == 1, out
    line = next(x for x in out.splitlines() if x.startswith("mart.t "))
    assert line.split()[1:5] == ["2", "3", "1", "2"]  # rows before/after, only before, only after


def test_float_noise_is_a_difference_unless_a_tolerance_is_given(tmp_path, capsys):
    before = _warehouse(tmp_path / "b.duckdb", [("a", 0.1 + 0.2, [])], 1, "2025-01-01")
    after = _warehouse(tmp_path / "a.duckdb", [("a", 0.3, [])], 1, "2025-01-01")
    assert _run(capsys, before, after)[0] == 1
    assert _run(capsys, before, after, "--rel-tol", "1e-9")[0] == 0
    changed = _warehouse(tmp_path / "c.duckdb", [("a", 0.31, [])], 1, "2025-01-01")
    assert _run(capsys, before, changed, "--rel-tol", "1e-9")[0] == 1


def test_the_fingerprint_finds_a_changed_or_duplicated_row_and_not_run_times_or_order(tmp_path, capsys):
    rows = [("a", 1.0, ["x"]), ("b", 2.0, [])]
    before = _warehouse(tmp_path / "b.duckdb", rows, 1, "2025-01-01")
    same = _warehouse(tmp_path / "s.duckdb", list(reversed(rows)), 9, "2025-03-01")
    code, out = _run(capsys, before, same, "--fingerprint")
    assert code == 0 and "fingerprint equal" in out, out
    changed = _warehouse(tmp_path / "c.duckdb", [("a", 1.0, ["x"]), ("b", 2.5, [])], 1, "2025-01-01")
    doubled = _warehouse(tmp_path / "d.duckdb", [*rows, ("a", 1.0, ["x"])], 1, "2025-01-01")
    for other in (changed, doubled):
        code, out = _run(capsys, before, other, "--fingerprint")
        assert code == 1 and "fingerprint DIFFERS" in out, out
