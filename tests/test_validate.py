"""The validate stage: every rule fails and passes where it should, severities split rows, suites stay put."""

from __future__ import annotations

import hashlib
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import schema_warehouse

import flows.stages.s05_validate
from flows.cli import check_files
from flows.stages.s05_validate import (
    ISSUE_SCHEMA,
    ValidationSession,
    distinct,
    load_suite,
    prepare_gx,
    record_results,
    render_data_docs,
    suite_rules,
    uscc_ok,
    validate,
)
from flows.support.contract import KINDS
from flows.support.processes import spawned_pool
from flows.support.uscc import uscc_check_char

TODAY = date(2026, 11, 22)
STABLE_RULES = {"invalid_uscc", "unknown_firm", "unknown_cluster", "negative_value", "unit_suspect",
                "invalid_adcode", "out_of_range", "period_out_of_window", "not_whole_number", "duplicate_key",
                "invalid_value", "missing_value"}
EXPECTATIONS = Path(__file__).resolve().parent.parent / "expectations"
_PL = {"str": pl.Utf8, "money": pl.Float64, "land": pl.Float64, "energy": pl.Float64, "float": pl.Float64,
       "int": pl.Int64, "period": pl.Date, "date": pl.Date, "bool": pl.Boolean}


def code(body: str) -> str:
    """A valid USCC from a 17-character body."""
    return body + uscc_check_char(body)


FIRM_A, FIRM_B, FIRM_NEW = code("91320500MA1AAAAA1"), code("91320500MA1AAAAA2"), code("91320500MA1AAAAA3")
BAD_CHECK = FIRM_A[:17] + ("0" if FIRM_A[17] != "0" else "1")


def frame(kind: str, rows: list[dict], overrides: dict | None = None) -> pl.DataFrame:
    """A standardised frame as the standardise stage delivers it: every canonical column, contract types, _row."""
    schema = {c.name: _PL.get(c.dtype, pl.Utf8) for c in KINDS[kind].columns}
    schema.update(overrides or {})
    full = [{c: r.get(c) for c in schema} for r in rows]
    df = pl.DataFrame(full, schema=schema, orient="row")
    return df.with_columns(pl.Series("_row", list(range(2, 2 + len(rows))), dtype=pl.Int64))


@pytest.fixture(scope="session", autouse=True)
def warm_gx():
    """Import GX and build the suites' contexts once (the slow part), for the whole session."""
    for kind in KINDS:
        suite_rules(kind)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A warehouse with two clusters, two firms and a year of history for FIRM_A."""
    c = schema_warehouse()
    c.execute("INSERT INTO core.clusters (cluster_id, adcode) VALUES ('C1', '320500'), ('C2', '320583')")
    c.execute("INSERT INTO core.firms (uscc, cluster_id) VALUES (?, 'C1'), (?, 'C1')", [FIRM_A, FIRM_B])
    for m in range(1, 13):
        c.execute("INSERT INTO core.firm_monthly (uscc, period, span_months, output, revenue) "
                  "VALUES (?, ?, 1, 100, 90)", [FIRM_A, date(2024, m, 1)])
        c.execute("INSERT INTO core.tax (uscc, period, span_months, tax_paid) VALUES (?, ?, 1, 10)",
                  [FIRM_A, date(2024, m, 1)])
    for m in range(1, 4):  # too short a history for unit_suspect
        c.execute("INSERT INTO core.firm_monthly (uscc, period, span_months, output) VALUES (?, ?, 1, 100)",
                  [FIRM_B, date(2024, m, 1)])
    return c


def monthly(**kw) -> dict:
    return {"uscc": FIRM_A, "period": date(2025, 6, 1), "basis": "month", "output": 120.0, "revenue": 95.0,
            "employees": 30, **kw}


def rules_of(v, row: int = 2) -> list[str]:
    return v.issues.filter(pl.col("_row") == row)["rule"].to_list()


# ------------------------------------------------------------------ each rule: failing and passing

CASES = [
    # (rule, kind, failing row, passing row, overrides)
    ("invalid_uscc", "monthly", monthly(uscc=BAD_CHECK), monthly(), None),
    ("invalid_uscc", "monthly", monthly(uscc="91320500MA1AAAAA"), monthly(), None),
    ("unknown_firm", "monthly", monthly(uscc=FIRM_NEW), monthly(), None),
    ("unknown_cluster", "firms", {"uscc": FIRM_NEW, "firm_name": "x", "cluster_id": "C9", "adcode": "320500"},
     {"uscc": FIRM_B, "firm_name": "x", "cluster_id": "C2", "adcode": "320500"}, None),
    ("unknown_cluster", "platforms", {"platform_name": "p", "cluster_id": "C9"},
     {"platform_name": "p", "cluster_id": "C1"}, None),
    ("negative_value", "tax", {"uscc": FIRM_B, "period": date(2025, 6, 1), "tax_paid": -1.0},
     {"uscc": FIRM_B, "period": date(2025, 6, 1), "tax_paid": 0.0}, None),
    ("negative_value", "procurement", {"buyer_uscc": FIRM_A, "supplier_name": "s", "period": date(2025, 6, 1),
                                       "amount": -5.0},
     {"buyer_uscc": FIRM_A, "supplier_name": "s", "period": date(2025, 6, 1), "amount": 5.0}, None),
    ("unit_suspect", "monthly", monthly(output=1_000_000.0), monthly(output=150.0), None),
    ("unit_suspect", "monthly", monthly(output=0.01), monthly(output=60.0), None),
    ("unit_suspect", "tax", {"uscc": FIRM_A, "period": date(2025, 6, 1), "tax_paid": 100_000.0},
     {"uscc": FIRM_A, "period": date(2025, 6, 1), "tax_paid": 12.0}, None),
    ("invalid_adcode", "firms", {"uscc": FIRM_NEW, "firm_name": "x", "cluster_id": "C1", "adcode": "990500"},
     {"uscc": FIRM_B, "firm_name": "x", "cluster_id": "C1", "adcode": "820000"}, None),
    ("invalid_adcode", "clusters", {"cluster_id": "C3", "cluster_name": "n", "province": "江苏", "adcode": "32050",
                                    "lon": 120.6, "lat": 31.3},
     {"cluster_id": "C3", "cluster_name": "n", "province": "江苏", "adcode": "320500", "lon": 120.6, "lat": 31.3},
     None),
    ("out_of_range", "digital", {"uscc": FIRM_A, "survey_date": date(2025, 6, 30), "cloud": True,
                                 "transformation": "已完成", "maturity": 7},
     {"uscc": FIRM_A, "survey_date": date(2025, 6, 30), "cloud": True, "transformation": "已完成", "maturity": 5},
     None),
    ("out_of_range", "clusters", {"cluster_id": "C3", "cluster_name": "n", "province": "江苏", "adcode": "320500",
                                  "lon": 120.6, "lat": 81.0},
     {"cluster_id": "C3", "cluster_name": "n", "province": "江苏", "adcode": "320500", "lon": 120.6, "lat": 31.0},
     None),
    ("period_out_of_window", "monthly", monthly(period=date(1999, 12, 1)), monthly(period=date(2000, 1, 1)), None),
    ("period_out_of_window", "monthly", monthly(period=date(2026, 12, 1)), monthly(period=date(2026, 11, 1)), None),
    ("period_out_of_window", "digital", {"uscc": FIRM_A, "survey_date": date(2026, 11, 23), "cloud": True,
                                         "transformation": "已完成"},
     {"uscc": FIRM_A, "survey_date": date(2026, 11, 22), "cloud": True, "transformation": "已完成"}, None),
    ("not_whole_number", "monthly", monthly(employees=12.5), monthly(employees=12.0), {"employees": pl.Float64}),
    ("negative_value", "monthly", monthly(employees=-3), monthly(employees=0), None),
    ("invalid_value", "digital", {"uscc": FIRM_A, "survey_date": date(2025, 6, 30), "cloud": True,
                                  "transformation": "进行中"},
     {"uscc": FIRM_A, "survey_date": date(2025, 6, 30), "cloud": False, "transformation": "未启动"}, None),
    ("invalid_value", "monthly", monthly(basis="quarter"), monthly(basis="ytd"), None),
    ("missing_value", "monthly", monthly(output=None), monthly(), None),
    ("missing_value", "procurement", {"buyer_uscc": FIRM_A, "period": date(2025, 6, 1), "amount": 5.0},
     {"buyer_uscc": FIRM_A, "supplier_name": "s", "period": date(2025, 6, 1), "amount": 5.0}, None),
]


@pytest.mark.parametrize(("rule", "kind", "bad", "good", "overrides"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fails_and_passes(con, rule, kind, bad, good, overrides):
    v = validate(kind, frame(kind, [bad], overrides), f"{kind}_2025-06.csv", con, today=TODAY)
    assert rule in rules_of(v, 2), v.issues
    assert v.frame.height == 0 and v.issues.schema == pl.Schema(ISSUE_SCHEMA)
    issue = v.issues.row(0, named=True)
    assert f"{kind}_2025-06.csv 第2行" in issue["message"] and "row 2" in issue["message_en"]
    ok = validate(kind, frame(kind, [good], overrides), f"{kind}_2025-06.csv", con, today=TODAY)
    assert ok.issues.height == 0, ok.issues
    assert ok.frame["_row"].to_list() == [2] and ok.frame["_flags"].to_list() == [[]]
    # GX ran the whole (small) file and agrees with the row-level verdicts, rule by rule
    for res in (v.results, ok.results):
        row_level = res.filter(~pl.col("expectation_type").is_in(
            ["expect_column_to_exist", "expect_column_values_to_be_in_type_list"]))
        assert row_level["failed_rows"].to_list() == row_level["gx_failed"].to_list()
        assert res.filter(pl.col("expectation_type") == "expect_column_values_to_be_in_type_list")["passed"].all()


def test_unit_suspect_message_shows_factor(con):
    v = validate("monthly", frame("monthly", [monthly(output=1_000_000.0), monthly(uscc=FIRM_B, output=1e6)]),
                 "monthly_2025-06.csv", con, today=TODAY)
    issue = v.issues.row(0, named=True)
    assert issue["rule"] == "unit_suspect" and issue["column_name"] == "output"
    assert "10000倍" in issue["message"] and "≈10,000×" in issue["message_en"]
    assert v.frame["_row"].to_list() == [3]  # FIRM_B has 3 months of history only: not judged


def test_a_file_judges_firms_with_history_against_it_and_the_others_against_their_own_months_in_the_file(con):
    """FIRM_A has a year stored (output 100): its 10⁶ is 10⁴× that. FIRM_B has 3 stored months, short of 6: its
    months in the file (100, 100, 10⁶) judge it, the median of which is 100. A firm with neither is not judged."""
    rows = [monthly(output=1e6),
            monthly(uscc=FIRM_B, period=date(2025, 4, 1), output=100.0, revenue=None),
            monthly(uscc=FIRM_B, period=date(2025, 5, 1), output=100.0, revenue=None),
            monthly(uscc=FIRM_B, period=date(2025, 6, 1), output=1e6, revenue=None)]
    v = validate("monthly", frame("monthly", rows), "monthly_2025-06.csv", con, today=TODAY)
    assert [(r["_row"], r["rule"]) for r in v.issues.sort("_row").to_dicts()] == [(2, "unit_suspect"),
                                                                                 (5, "unit_suspect")]
    assert all("10000倍" in m for m in v.issues["message"])
    assert v.frame["_row"].to_list() == [3, 4]


def test_duplicate_key(con):
    v = validate("monthly", frame("monthly", [monthly(), monthly(output=130.0), monthly(uscc=FIRM_B)]),
                 "monthly_2025-06.csv", con, today=TODAY)
    assert v.issues.filter(pl.col("rule") == "duplicate_key")["_row"].to_list() == [2, 3]
    assert v.frame["_row"].to_list() == [4]


def test_first_rule_named_others_listed(con):
    v = validate("monthly", frame("monthly", [monthly(uscc=BAD_CHECK, output=-1.0)]), "m.csv", con, today=TODAY)
    assert v.issues.height == 1
    issue = v.issues.row(0, named=True)
    assert issue["rule"] == "invalid_uscc" and "negative_value" in issue["message_en"]


def test_warning_row_is_loaded_and_flagged(con):
    rows = [{"buyer_uscc": FIRM_A, "supplier_name": "s", "supplier_adcode": "990000", "period": date(2025, 6, 1),
             "amount": 5.0},
            {"buyer_uscc": FIRM_A, "supplier_uscc": BAD_CHECK, "supplier_name": "t", "supplier_adcode": "320583",
             "period": date(2025, 6, 1), "amount": 5.0},
            {"buyer_uscc": FIRM_A, "supplier_name": "u", "period": date(2025, 6, 1), "amount": 5.0}]
    v = validate("procurement", frame("procurement", rows), "procurement_2025-06.csv", con, today=TODAY)
    assert v.issues.height == 0
    assert v.frame["_row"].to_list() == [2, 3, 4]
    assert v.frame["_flags"].to_list() == [["invalid_adcode"], ["invalid_uscc"], []]
    assert set(v.warnings["severity"]) == {"warning"} and v.warnings["_row"].to_list() == [2, 3]
    res = v.results.filter(pl.col("rule") == "invalid_adcode").row(0, named=True)
    assert res["severity"] == "warning" and not res["passed"] and res["failed_rows"] == 1


def test_sampled_gx_batch_keeps_every_flagged_row(con):
    rows = [monthly(uscc=FIRM_A if i % 2 else FIRM_B, period=date(2020 + i // 12, i % 12 + 1, 1))
            for i in range(60)]
    rows[7]["output"] = -1.0
    rows[31]["uscc"] = BAD_CHECK
    v = validate("monthly", frame("monthly", rows), "monthly_x.csv", con, today=TODAY, gx_rows=10)
    assert sorted(v.issues["_row"].to_list()) == [9, 33]
    res = v.results.filter(pl.col("rule").is_in(["negative_value", "invalid_uscc"]) & ~pl.col("passed"))
    assert res["failed_rows"].to_list() == res["gx_failed"].to_list()
    assert 10 <= v.results["gx_evaluated"].max() < 60


def test_a_sampled_gx_batch_is_the_whole_files_batch_on_the_rows_it_keeps(con):
    """Sampling keeps every flagged row and a systematic share of the others, each with the same values, flag and
    rule bits as in the batch of the whole file (the bits are worked out for the kept rows only)."""
    from flows.stages.s05_validate import _verdicts

    rows = [monthly(uscc=FIRM_A if i % 2 else FIRM_B, period=date(2020 + i // 12, i % 12 + 1, 1))
            for i in range(60)]
    rows[7]["output"] = -1.0
    rows[31]["uscc"] = BAD_CHECK
    whole, sampled = (_verdicts("monthly", frame("monthly", rows), "monthly_x.csv", con, today=TODAY,
                                gx_rows=limit).gx_input.batch for limit in (1000, 10))
    assert whole.height == 60 and 10 <= sampled.height < 60
    assert {9, 33} <= set(sampled.filter(pl.col("_gx_flagged"))["_row"])
    assert sampled.equals(whole.join(sampled.select("_row"), on="_row", how="semi", maintain_order="left"))


def test_uscc_check_matches_reference():
    from flows.support.uscc import is_valid_uscc

    codes = [FIRM_A, BAD_CHECK, None, "short", "91320500MA1AAAAA1I", FIRM_B, "９1320500MA1AAAAA1X"]
    got = uscc_ok(pl.Series(codes, dtype=pl.Utf8)).to_list()
    assert got == [None if c is None else is_valid_uscc(c) for c in codes]


def test_uscc_check_matches_reference_for_any_character_at_any_position():
    """Each of the 18 positions of a valid code (the check character's too) replaced by every alphabet character
    and by characters outside it (letters GB 32100 leaves out, punctuation, a full-width digit), with
    the codes put where their bytes start at an odd offset of the buffer: the same verdict as is_valid_uscc."""
    from flows.support.uscc import ALPHABET, is_valid_uscc

    codes = [None, "1"]         # a 1-byte code first: the 18-byte codes after it start at odd offsets
    for i in range(18):
        for ch in ALPHABET + "IOSVZ*-１":
            codes.append(FIRM_A[:i] + ch + FIRM_A[i + 1:])
    got = uscc_ok(pl.Series(codes, dtype=pl.Utf8).slice(1)).to_list()
    assert got == [is_valid_uscc(c) for c in codes[1:]]
    assert 0 < sum(got) < len(got) - 18 * 8


def test_distinct_values_and_row_positions():
    s = pl.Series(["b", "a", None, "b", "a", "a", None, "c"] * 10)
    enc = distinct(s)
    assert enc is not None and sorted(enc.values.to_list(), key=str) == [None, "a", "b", "c"]
    assert enc.spread(enc.values).equals(s)
    assert distinct(pl.Series([str(i) for i in range(100)])) is None      # all distinct: per row is cheaper


def test_distinct_takes_runs_of_equal_neighbours_as_values():
    """Rows grouped by firm: each run is one value (a value may come back in a later run)."""
    s = pl.Series(["a"] * 50 + [None] * 30 + ["b"] * 40 + ["a"] * 20, dtype=pl.Utf8)
    enc = distinct(s)
    assert enc is not None and enc.values.to_list() == ["a", None, "b", "a"]
    assert enc.spread(enc.values).equals(s)


def test_distinct_never_merges_values_on_a_hash_collision(monkeypatch):
    monkeypatch.setattr(pl.Series, "hash", lambda self, *a, **k: pl.Series([7] * len(self), dtype=pl.UInt64))
    assert distinct(pl.Series(["a", "b"] * 50)) is None
    assert distinct(pl.Series(["a"] * 100)) is not None


def test_verdicts_per_distinct_value_equal_verdicts_per_row(con, monkeypatch):
    """Repeated codes are checked once per value (regex, check character, registry) and spread back to the
    rows (grouped by hash, or by runs of equal neighbours): the outcome is the same as checking every row,
    whatever the row order."""
    rows = []
    for i in range(400):
        buyer = [FIRM_A, FIRM_B, FIRM_NEW, BAD_CHECK, FIRM_A.lower(), None][i % 6]
        supplier = [FIRM_B, BAD_CHECK, None, "X" * 18][i % 4]
        rows.append({"buyer_uscc": buyer, "supplier_uscc": supplier, "supplier_name": f"s{i % 7}",
                     "supplier_adcode": ["320583", "990000", None][i % 3], "period": date(2025, 6, 1),
                     "amount": float(i % 5 - 1)})
    df = frame("procurement", rows).sample(fraction=1.0, shuffle=True, seed=1)
    out = {}
    for mode, (share, runs) in {"rows": (0.0, 0.0), "hash": (1.0, 0.0), "runs": (0.0, 1.0)}.items():
        monkeypatch.setattr(flows.stages.s05_validate, "DISTINCT_SHARE", share)
        monkeypatch.setattr(flows.stages.s05_validate, "RUN_SHARE", runs)
        rules, derived = suite_rules("procurement")
        assert bool(flows.stages.s05_validate._encode(df, rules, derived)) == (mode != "rows")
        out[mode] = validate("procurement", df, "procurement_2025-06.csv", con, today=TODAY)
    a = out["rows"]
    assert a.issues.height > 0 and a.warnings.height > 0
    for b in (out["hash"], out["runs"]):
        assert a.frame.equals(b.frame) and a.issues.equals(b.issues) and a.warnings.equals(b.warnings)
        assert a.results.equals(b.results)
    flagged = a.frame.filter(pl.col("_flags").list.len() > 0)
    assert flagged.height > 0 and set(flagged["_row"]) == set(a.warnings["_row"])


# ------------------------------------------------------------------ suites as files

def _tree_hash(root: Path) -> dict[str, tuple[str, float]]:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
            for p in sorted(root.rglob("*")) if p.is_file() and "uncommitted" not in p.parts}


def test_suites_live_in_expectations_and_declare_rule_and_severity():
    files = {p.stem for p in (EXPECTATIONS / "gx" / "expectations").glob("*.json")}
    assert files == set(KINDS)
    for kind in KINDS:
        suite = load_suite(kind)
        assert suite.name == kind
        for e in suite.expectations:
            assert e.meta["severity"] in ("critical", "warning")
            assert e.meta["rule"] in STABLE_RULES
            assert e.meta["message_zh"] and e.meta["message_en"]


def test_rerunning_does_not_touch_suite_files(con, tmp_path):
    before = _tree_hash(EXPECTATIONS)
    for _ in range(2):
        v = validate("monthly", frame("monthly", [monthly()]), "monthly_2025-06.csv", con, today=TODAY)
        record_results(con, 1, 1, v, spool=tmp_path / "spool")
    render_data_docs(1, tmp_path / "docs", spool=tmp_path / "spool")
    assert _tree_hash(EXPECTATIONS) == before


def test_results_recorded_and_data_docs_rendered(con, tmp_path):
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256, rows_quarantined) VALUES (5, 'm.csv', 'h', 1)")
    v = validate("monthly", frame("monthly", [monthly(output=-1.0), monthly(uscc=FIRM_B)]), "m.csv", con,
                 today=TODAY)
    record_results(con, 5, 9, v, spool=tmp_path / "spool")
    record_results(con, 5, 9, v, spool=tmp_path / "spool")  # idempotent per (run, file)
    n, failed = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT passed) FROM meta.validation_results "
                            "WHERE run_id = 9").fetchone()
    assert n == len(suite_rules("monthly")[0]) and failed == 1
    run = con.execute("SELECT rules_evaluated, rules_failed, rows_quarantined FROM meta.validation_runs").fetchone()
    assert run == (n, 1, 1)
    index = render_data_docs(9, tmp_path / "docs", spool=tmp_path / "spool")
    assert index.exists() and "m.csv" in index.read_text(encoding="utf-8")


# ------------------------------------------------------------------ one GX run per kind per night

def _gx_counts(con, run_id: int) -> dict[tuple[int, str], tuple[int, int, int]]:
    rows = con.execute("SELECT file_id, rule, failed_rows, gx_failed, gx_evaluated FROM meta.validation_results "
                       "WHERE run_id = ? AND expectation_type NOT IN ('expect_column_to_exist', "
                       "'expect_column_values_to_be_in_type_list')", [run_id]).fetchall()
    out: dict[tuple[int, str], tuple[int, int, int]] = {}
    for fid, rule, failed, gx_failed, gx_ev in rows:
        f0, g0, e0 = out.get((fid, rule), (0, 0, 0))
        out[(fid, rule)] = (f0 + failed, g0 + gx_failed, max(e0, gx_ev))
    return out


def test_session_runs_gx_once_per_kind_with_per_file_counts(con, tmp_path, caplog):
    """Two monthly files (the second a revision repeating a key of the first) and a tax file: 2 GX runs;
    the verdicts equal validate()'s, GX's counts are per file and agree, duplicates stay per file."""
    feb = frame("monthly", [monthly(period=date(2025, 2, 1)), monthly(uscc=FIRM_B, period=date(2025, 2, 1),
                                                                     output=-1.0)])
    rev = frame("monthly", [monthly(period=date(2025, 2, 1)), monthly(period=date(2025, 2, 1), output=99.0),
                            monthly(uscc=BAD_CHECK, period=date(2025, 2, 1))])
    tax = frame("tax", [{"uscc": FIRM_A, "period": date(2025, 6, 1), "tax_paid": -2.0}])
    session = ValidationSession(spool=tmp_path / "spool", today=TODAY)
    caplog.set_level("WARNING", logger="flows.stages.s05_validate")
    for file_id, (kind, df, name) in enumerate([("monthly", feb, "monthly_2025-02.csv"),
                                                ("monthly", rev, "monthly_2025-02_rev.csv"),
                                                ("tax", tax, "tax_2025-06.csv")], 1):
        v = session.validate(kind, df, name, con)
        alone = validate(kind, df, name, con, today=TODAY)
        assert v.issues.equals(alone.issues) and v.frame.equals(alone.frame) and v.warnings.equals(alone.warnings)
        assert v.results.drop("gx_evaluated", "gx_failed").equals(alone.results.drop("gx_evaluated", "gx_failed"))
        session.record(con, file_id, 7, v)
    assert con.execute("SELECT count(*) FROM meta.validation_results WHERE run_id = 7 AND gx_failed IS NULL"
                       ).fetchone()[0] > 0   # GX has not run yet
    spooled = session.finish(con, 7)
    assert session.gx_runs == 2 and sorted(p.name for p in spooled) == ["kind-monthly-0.json", "kind-tax-0.json"]
    assert not [r for r in caplog.records if "polars" in r.getMessage()], caplog.text
    assert session.problems == [] and _problems(con) == []      # both engines agree: nothing to say
    counts = _gx_counts(con, 7)
    assert all(f == g for f, g, _ in counts.values()), counts
    assert counts[(1, "negative_value")][:2] == (1, 1) and counts[(1, "duplicate_key")][:2] == (0, 0)
    assert counts[(2, "duplicate_key")][:2] == (2, 2) and counts[(2, "invalid_uscc")][:2] == (1, 1)
    assert counts[(3, "negative_value")][:2] == (1, 1)
    assert counts[(1, "negative_value")][2] == 2 and counts[(2, "negative_value")][2] == 3
    assert con.execute("SELECT count(*) FROM meta.validation_results WHERE gx_failed IS NULL").fetchone()[0] == 0
    index = render_data_docs(7, tmp_path / "docs", spool=tmp_path / "spool")
    assert index.exists() and "monthly" in index.read_text(encoding="utf-8")


def test_session_samples_per_kind_and_keeps_flagged_rows(con, tmp_path, caplog):
    session = ValidationSession(spool=tmp_path / "spool", today=TODAY, gx_rows=10)
    caplog.set_level("WARNING", logger="flows.stages.s05_validate")
    for file_id in (1, 2, 3):
        rows = [monthly(uscc=FIRM_A if i % 2 else FIRM_B, period=date(2004 + 2 * file_id + i // 12, i % 12 + 1, 1),
                        output=float(100 + i)) for i in range(24)]
        rows[file_id]["output"] = -1.0
        session.record(con, file_id, 8, session.validate("monthly", frame("monthly", rows), f"m{file_id}.csv", con))
    session.finish(con, 8)
    assert session.gx_runs == 1 and not [r for r in caplog.records if "polars" in r.getMessage()], caplog.text
    counts = _gx_counts(con, 8)
    assert all(counts[(f, "negative_value")][:2] == (1, 1) for f in (1, 2, 3))
    evaluated = con.execute("SELECT sum(gx_evaluated) FROM meta.validation_results WHERE run_id = 8 "
                            "AND rule = 'negative_value' AND column_name = 'output'").fetchone()[0]
    assert 10 <= evaluated < 72    # flagged rows + a sample of ≈10 rows for the kind, not 3 × 24


def test_gx_checks_in_the_night_worker_process_count_what_they_count_here(con, tmp_path):
    """The night runs GX in its worker process (finish's pool, flows.nightly.night_worker): the files' GX rows
    travel pickled, and each file's GX counts come back into meta.validation_results as GX run here writes them."""
    def night(run_id: int, pool: ProcessPoolExecutor | None) -> tuple[ValidationSession, list[Path]]:
        session = ValidationSession(spool=tmp_path / f"spool-{run_id}", today=TODAY)
        for file_id in (1, 2):
            rows = [monthly(uscc=FIRM_A if i % 2 else FIRM_B, period=date(2010 + file_id, i + 1, 1),
                            output=-1.0 if i == file_id else float(100 + i)) for i in range(12)]
            session.record(con, file_id, run_id,
                           session.validate("monthly", frame("monthly", rows), f"m{file_id}.csv", con))
        session.record(con, 3, run_id, session.validate("tax", frame("tax", [
            {"uscc": FIRM_A, "period": date(2025, 6, 1), "tax_paid": -2.0}]), "t.csv", con))
        return session, session.finish(con, run_id, pool=pool)

    here, spooled_here = night(7, None)
    pool = spawned_pool(1)
    try:
        pool.submit(prepare_gx).result()
        there, spooled_there = night(8, pool)
    finally:
        pool.shutdown(wait=True)
    assert here.gx_runs == there.gx_runs == 2 and there.problems == here.problems == []
    counts = _gx_counts(con, 8)
    assert counts == _gx_counts(con, 7)
    assert counts[(1, "negative_value")][:2] == counts[(2, "negative_value")][:2] == (1, 1)
    assert counts[(3, "negative_value")][:2] == (1, 1)
    assert con.execute("SELECT count(*) FROM meta.validation_results WHERE run_id = 8 AND gx_failed IS NULL"
                       ).fetchone()[0] == 0
    assert [p.name for p in spooled_there] == [p.name for p in spooled_here]


def test_session_file_missing_a_column_agrees_with_gx(con, tmp_path, caplog):
    session = ValidationSession(spool=tmp_path / "spool", today=TODAY)
    caplog.set_level("WARNING", logger="flows.stages.s05_validate")
    full = session.validate("monthly", frame("monthly", [monthly()]), "a.csv", con)
    short = session.validate("monthly", frame("monthly", [monthly()]).drop("basis"), "b.csv", con)
    assert short.issues["rule"].to_list() == ["missing_value"] and full.issues.height == 0
    session.record(con, 1, 9, full)
    session.record(con, 2, 9, short)
    session.finish(con, 9)
    assert session.gx_runs == 2   # one per column layout
    assert not [r for r in caplog.records if "polars" in r.getMessage()], caplog.text


# ------------------------------------------------------------------ clusterwatch check

def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    lines = [",".join(header)] + [",".join("" if x is None else str(x) for x in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_check_files_exit_status(tmp_path, capsys):
    clusters = _write(tmp_path / "clusters_2025-01.csv",
                      ["cluster_id", "cluster_name", "province", "adcode", "lon", "lat"],
                      [["C1", "苏州生物医药", "江苏", "320500", 120.6, 31.3]])
    firms = _write(tmp_path / "firms_2025-01.csv", ["uscc", "firm_name", "cluster_id", "adcode"],
                   [[FIRM_A, "甲", "C1", "320500"], [FIRM_B, "乙", "C1", "320583"]])
    good = _write(tmp_path / "monthly_2025-06.csv", ["uscc", "period", "output"],
                  [[FIRM_A, "2025-06", 100], [FIRM_B, "2025-06", 50]])
    assert check_files([good, firms, clusters], None) == 0
    out = capsys.readouterr().out
    assert "0 rows would be quarantined" in out
    bad = _write(tmp_path / "monthly_2025-07.csv", ["uscc", "period", "output"],
                 [[FIRM_A, "2025-07", -100], [BAD_CHECK, "2025-07", 50]])
    assert check_files([clusters, firms, bad], None) == 1
    out = capsys.readouterr().out
    assert "== monthly_2025-07.csv" in out
    assert "[critical] row 2 output=-100" in out and "negative_value" in out       # row, column, value, rule
    assert f"[critical] row 3 uscc={BAD_CHECK} invalid_uscc" in out
    dup = _write(tmp_path / "monthly_2025-08.csv", ["uscc", "period", "output"],
                 [[FIRM_A, "2025-08", 100], [FIRM_A, "2025-08", 100]])
    assert check_files([clusters, firms, dup], None) == 1
    assert "[critical] row 3 (whole row)" in capsys.readouterr().out
    rejected = _write(tmp_path / "tax_2025-06.csv", ["period"], [["2025-06"]])
    assert check_files([rejected], None) == 1


def test_check_files_against_a_published_warehouse(con, tmp_path):
    wh = tmp_path / "wh.duckdb"
    con.execute(f"ATTACH '{wh}' AS wh")
    con.execute("COPY FROM DATABASE memory TO wh")
    con.execute("DETACH wh")
    good = _write(tmp_path / "tax_2025-06.csv", ["uscc", "period", "tax_paid"], [[FIRM_A, "2025-06", 11]])
    unknown = _write(tmp_path / "tax_2025-07.csv", ["uscc", "period", "tax_paid"], [[FIRM_NEW, "2025-07", 11]])
    assert check_files([good], wh) == 0
    assert check_files([unknown], wh) == 1


def test_empty_file_and_missing_column(con):
    v = validate("monthly", frame("monthly", [monthly()]).head(0), "m.csv", con, today=TODAY)
    assert v.frame.height == 0 and v.issues.height == 0 and v.results["passed"].all()
    v = validate("monthly", frame("monthly", [monthly()]).drop("basis"), "m.csv", con, today=TODAY)
    assert v.frame.height == 0 and v.issues["rule"].to_list() == ["missing_value"]


# ------------------------------------------------------------------ the two engines compared every night

def _problems(con) -> list[tuple]:
    return con.execute("SELECT file_id, rule, column_name, problem, severity, polars_failed, gx_failed, only_polars, "
                       "only_gx, example_rows FROM meta.validation_problems ORDER BY file_id, rule").fetchall()


def _compiled_wrong(monkeypatch, rule: str, column: str, wrong) -> None:
    """Make the polars compile of one expectation wrong, as a bug in fail_expr would."""
    real = flows.stages.s05_validate.fail_expr

    def fail_expr(r, frame, params):
        expr = real(r, frame, params)
        return wrong(pl.col(column)) if r.rule == rule and r.column == column and expr is not None else expr

    monkeypatch.setattr(flows.stages.s05_validate, "fail_expr", fail_expr)


def test_a_rule_polars_passes_but_gx_fails_is_an_engine_disagreement(con, tmp_path, monkeypatch):
    _compiled_wrong(monkeypatch, "negative_value", "output", lambda c: pl.lit(False))
    session = ValidationSession(spool=tmp_path / "spool", today=TODAY)
    df = frame("monthly", [monthly(), monthly(uscc=FIRM_B, output=-1.0)])
    v = session.validate("monthly", df, "monthly_2025-06.csv", con)
    assert v.issues.height == 0          # the wrong compile lets the negative value through …
    session.record(con, 4, 7, v)
    session.finish(con, 7)
    # … and Great Expectations, re-checking the same rows, says so: row 3 (as in Excel) failed by GX only
    assert _problems(con) == [(4, "negative_value", "output", "engines_disagree", "error", 0, 1, 0, 1, "3")]
    assert [p["file_name"] for p in session.problems] == ["monthly_2025-06.csv"]


def test_a_rule_polars_fails_on_rows_gx_passes_is_an_engine_disagreement(con, monkeypatch):
    _compiled_wrong(monkeypatch, "negative_value", "output", lambda c: c.is_not_null())
    v = validate("monthly", frame("monthly", [monthly(), monthly(uscc=FIRM_B)]), "m.csv", con, today=TODAY)
    [p] = v.problems
    assert (p["rule"], p["polars_failed"], p["gx_failed"], p["only_polars"], p["example_rows"]) == \
        ("negative_value", 2, 0, 2, "2, 3")
    record_results(con, 5, 9, v)
    assert _problems(con)[0][3:5] == ("engines_disagree", "error")


def test_check_files_fails_when_the_engines_disagree(tmp_path, capsys, monkeypatch):
    _compiled_wrong(monkeypatch, "negative_value", "output", lambda c: pl.lit(False))
    clusters = _write(tmp_path / "clusters_2025-01.csv", ["cluster_id", "cluster_name", "province", "adcode"],
                      [["C1", "苏州生物医药", "江苏", "320500"]])
    firms = _write(tmp_path / "firms_2025-01.csv", ["uscc", "firm_name", "cluster_id", "adcode"],
                   [[FIRM_A, "甲", "C1", "320500"]])
    bad = _write(tmp_path / "monthly_2025-07.csv", ["uscc", "period", "output"], [[FIRM_A, "2025-07", -100]])
    assert check_files([clusters, firms, bad], None) == 1
    assert "[error] rule negative_value on output engines_disagree" in capsys.readouterr().out


def test_an_empty_registry_reports_the_rule_as_not_checked(tmp_path):
    empty = schema_warehouse()
    v = validate("monthly", frame("monthly", [monthly()]), "m.csv", empty, today=TODAY)
    assert [(p["rule"], p["problem"], p["severity"]) for p in v.problems] == \
        [("unknown_firm", "not_checked", "warning")]
    assert "core.firms" in v.problems[0]["detail_en"]


@pytest.mark.parametrize(("table", "check"), [("core.firm_monthly", "history check"), ("core.firms", "registry check")])
def test_a_missing_registry_or_history_table_fails_the_check_with_its_name(con, table, check):
    from flows.stages.s05_validate import CheckCannotRun

    con.execute(f"DROP TABLE {table}")
    with pytest.raises(CheckCannotRun, match=f"{table} is missing.*{check}"):
        validate("monthly", frame("monthly", [monthly()]), "m.csv", con, today=TODAY)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_rules_read_from_a_suite_file_are_the_rules_great_expectations_reads(kind):
    from flows.stages.s05_validate import gx_suite_rules

    assert suite_rules(kind) == gx_suite_rules(kind)


# The unit check's history read: one pass on a small table, the periods count and the window read on a larger one
# (settings.HISTORY_ONE_READ_ROWS), within the window gathering every firm first for a file naming nearly all of
# them (settings.HISTORY_ALL_FIRMS_SHARE); the tables below are tiny, so 0 rows sends them down the large path.
HISTORY_READS = pytest.mark.parametrize(("one_read_rows", "all_firms_share"), [
    (0, float("inf")), (0, 0.0), (500_000, 0.8)], ids=["window_read", "window_read_all_firms", "one_read"])


def _history_read(monkeypatch: pytest.MonkeyPatch, one_read_rows: int, all_firms_share: float) -> None:
    monkeypatch.setattr(flows.stages.s05_validate.settings, "HISTORY_ONE_READ_ROWS", one_read_rows)
    monkeypatch.setattr(flows.stages.s05_validate.settings, "HISTORY_ALL_FIRMS_SHARE", all_firms_share)


def _qualifying(levels: pl.DataFrame, column: str, min_months: int) -> dict[str, tuple[float, int]]:
    """The firms of _history_medians' answer with min_months of `column`: (recent median, months) by firm."""
    return {uscc: (level["recent_median"], level["months"]) for uscc, level in levels.select("uscc", column).rows()
            if level is not None and level["months"] is not None and level["months"] >= min_months}


@HISTORY_READS
def test_history_check_with_fewer_stored_months_than_min_months_finds_no_firm_and_keeps_the_query_columns(
        monkeypatch, one_read_rows, all_firms_share):
    """Below min_months stored periods no firm qualifies (the window path skips its query): an empty answer with
    the query's columns either way."""
    _history_read(monkeypatch, one_read_rows, all_firms_share)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE TABLE core.firm_monthly (uscc VARCHAR, period DATE, span_months INTEGER,"
                " output DOUBLE)")
    con.execute("INSERT INTO core.firm_monthly SELECT 'A', make_date(2025, m, 1), 1, 10.0 * m FROM range(1, 6) t(m)")
    frame = pl.DataFrame({"uscc": ["A"]})
    spec = {"table": "core.firm_monthly", "column": "output", "fn": "history_ratio", "months": 12}
    skipped = flows.stages.s05_validate._history_medians(con, frame, [dict(spec, min_months=6)])
    queried = flows.stages.s05_validate._history_medians(con, frame, [dict(spec, min_months=5)])
    assert _qualifying(skipped[("core.firm_monthly", 12)], "output", 6) == {}
    assert _qualifying(queried[("core.firm_monthly", 12)], "output", 5) == {"A": (30.0, 5)}
    assert skipped[("core.firm_monthly", 12)].schema == queried[("core.firm_monthly", 12)].schema


def _history_table(periods: int) -> duckdb.DuckDBPyConnection:
    """core.firm_monthly over `periods` months: firm A every month (output = 10 × month, revenue NULL in month 2),
    B every month but a gap at month 3, C six months of which one NULL, D a 3-month year-to-date row at the end."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE TABLE core.firm_monthly (uscc VARCHAR, period DATE, span_months INTEGER,"
                " output DOUBLE, revenue DOUBLE)")
    con.execute("""INSERT INTO core.firm_monthly
        SELECT 'A', make_date(2024, 1, 1) + INTERVAL (m - 1) MONTH, 1, 10.0 * m, CASE WHEN m <> 2 THEN m END
        FROM range(1, $n + 1) t(m)
        UNION ALL SELECT 'B', make_date(2024, 1, 1) + INTERVAL (m - 1) MONTH, 1, 100.0 + m, 1.0
        FROM range(1, $n + 1) t(m) WHERE m <> 3
        UNION ALL SELECT 'C', make_date(2024, 1, 1) + INTERVAL (m - 1) MONTH, 1, CASE WHEN m <> 4 THEN 5.0 END, 1.0
        FROM range(1, 7) t(m)
        UNION ALL SELECT 'D', make_date(2024, 1, 1) + INTERVAL (m - 1) MONTH, CASE WHEN m = 7 THEN 3 ELSE 1 END,
               CASE WHEN m = 7 THEN 90.0 ELSE 20.0 END, 1.0
        FROM range(1, 8) t(m)
        ORDER BY 2, 1""", {"n": periods})
    return con


@pytest.mark.parametrize(("periods", "expected"), [
    # 7 stored months (within the 12-month window): each firm's months are all of its non-NULL months
    (7, {("output", "A"): (40.0, 7), ("output", "B"): (104.5, 6), ("output", "D"): (20.0, 7),
         ("revenue", "A"): (4.5, 6), ("revenue", "B"): (1.0, 6), ("revenue", "C"): (1.0, 6),
         ("revenue", "D"): (1.0, 7)}),
    # 14 stored months: A's latest 12 are months 3–14, B's (a gap at 3) months 2 and 4–14
    (14, {("output", "A"): (85.0, 12), ("output", "B"): (108.5, 12), ("output", "D"): (20.0, 7),
          ("revenue", "A"): (8.5, 12), ("revenue", "B"): (1.0, 12), ("revenue", "C"): (1.0, 6),
          ("revenue", "D"): (1.0, 7)}),
])
@HISTORY_READS
def test_history_check_takes_each_firms_latest_reported_months_whatever_the_stored_span(
        monkeypatch, one_read_rows, all_firms_share, periods, expected):
    """Within the window or beyond it, a firm's recent median is over its latest non-NULL months only (a NULL
    month or a gap does not count), a year-to-date row counts per month, and min_months (6) is met exactly —
    whichever read the table's size and the file's firms pick."""
    _history_read(monkeypatch, one_read_rows, all_firms_share)
    con = _history_table(periods)
    spec = {"table": "core.firm_monthly", "fn": "history_ratio", "months": 12, "min_months": 6}
    got = flows.stages.s05_validate._history_medians(
        con, pl.DataFrame({"uscc": ["A", "B", "C", "D", "E"]}),
        [dict(spec, column="output"), dict(spec, column="revenue")])
    assert {(column, uscc): level for column in ("output", "revenue")
            for uscc, level in _qualifying(got[("core.firm_monthly", 12)], column, 6).items()} == expected


def test_the_pandas_dtype_judged_for_a_type_rule_follows_each_files_own_nulls():
    """A boolean column is bool in pandas until it holds a null (then object): a later file with the same
    columns but other nulls gets its own dtypes, not those of the file seen before."""
    from flows.stages.s05_validate import _pandas_dtypes

    whole = pl.DataFrame({"flag": [True, False], "n": [1, 2], "name": ["a", "b"]})
    holed = pl.DataFrame({"flag": [True, None], "n": [1, None], "name": ["a", None]})
    columns = ["flag", "n", "name"]
    first, second, again = (_pandas_dtypes(f, columns) for f in (whole, holed, whole))
    assert {c: str(d) for c, d in first.items()} == {"flag": "bool", "n": "float64", "name": "string"}
    assert {c: str(d) for c, d in second.items()} == {"flag": "object", "n": "float64", "name": "string"}
    assert again == first
