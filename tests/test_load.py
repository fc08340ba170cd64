"""The loader refuses to lose or double-count a row (docs/architecture.md#nothing-lost)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from conftest import schema_warehouse

from flows.stages.s04_standardise import ISSUE_SCHEMA
from flows.stages.s06_load import apply_load, load_file, prepare
from flows.support.warehouse import ROW_GROUP_ROWS


def frames(loaded_rows: list[int], rejected_rows: list[int]):
    parsed = pl.DataFrame({"platform_name": ["国家中心", "省重点实验室", "中试基地"], "cluster_id": ["C1"] * 3,
                           "_row": [2, 3, 4]})
    raw = parsed.rename({"platform_name": "平台名称", "cluster_id": "集群编码"}).cast({"_row": pl.Int64})
    rejected = pl.DataFrame({"_row": rejected_rows, "column_name": ["cluster_id"] * len(rejected_rows),
                             "value": ["C1"] * len(rejected_rows), "rule": ["unknown_cluster"] * len(rejected_rows),
                             "severity": ["critical"] * len(rejected_rows), "message": ["m"] * len(rejected_rows),
                             "message_en": ["m"] * len(rejected_rows)}, schema=ISSUE_SCHEMA)
    loaded = parsed.filter(pl.col("_row").is_in(loaded_rows))
    return parsed, loaded, rejected, pl.DataFrame(schema=ISSUE_SCHEMA), raw


def load(con, loaded_rows, rejected_rows):
    parsed, loaded, rejected, flagged, raw = frames(loaded_rows, rejected_rows)
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES (1, 'platforms.csv', 'h')")
    return load_file(con, 1, 1, "platforms.csv", "platforms", parsed=parsed, loaded=loaded, rejected=rejected,
                     flagged=flagged, raw=raw, rows_in=3, encoding="utf-8",
                     header_map={"平台名称": "platform_name", "集群编码": "cluster_id"})


@pytest.fixture
def con():
    return schema_warehouse()


def test_each_row_loaded_or_quarantined_is_accounted_and_recorded(con):
    outcome = load(con, [2, 3], [4])
    assert (outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == (3, 2, 1)
    assert con.execute("SELECT rows_in, rows_loaded, rows_quarantined FROM meta.files").fetchone() == (3, 2, 1)
    original = con.execute("SELECT original->>'平台名称' FROM quarantine.rows").fetchone()[0]
    assert original == "中试基地"


@pytest.mark.parametrize(("loaded_rows", "rejected_rows"), [([2, 3], []), ([2, 3, 4], [4])])
def test_a_row_lost_or_counted_twice_stops_the_file(con, loaded_rows, rejected_rows):
    with pytest.raises(AssertionError, match="lost or counted twice"):
        load(con, loaded_rows, rejected_rows)
    assert con.execute("SELECT count(*) FROM core.platforms").fetchone()[0] == 0


def test_a_later_file_loading_a_quarantined_key_resolves_only_that_kinds_open_row(con):
    load(con, [2, 3], [4])                       # file 1 quarantines 中试基地
    con.execute("INSERT INTO quarantine.rows (file_id, file_name, kind, row_number, rule, severity, message, "
                "message_en, row_key, status) VALUES (1, 'firms.csv', 'firms', 9, 'r', 'critical', 'm', 'm', "
                "'中试基地|C1', 'open')")        # the same key text, of another kind
    parsed, loaded, rejected, flagged, raw = frames([2, 3, 4], [])
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES (2, 'platforms_fix.csv', 'h2')")
    load_file(con, 1, 2, "platforms_fix.csv", "platforms", parsed=parsed, loaded=loaded, rejected=rejected,
              flagged=flagged, raw=raw, rows_in=3, encoding="utf-8",
              header_map={"平台名称": "platform_name", "集群编码": "cluster_id"})
    rows = con.execute("SELECT kind, status, resolved_by_file_id FROM quarantine.rows ORDER BY kind").fetchall()
    assert rows == [("firms", "open", None), ("platforms", "resolved", 2)]


def test_a_monthly_file_is_kept_as_reported_one_row_per_source_row_and_read_long_without_empty_cells(con):
    from datetime import date

    parsed = pl.DataFrame({"uscc": ["A", "B", "C"], "period": [date(2025, 1, 1)] * 3, "basis": ["month"] * 3,
                           "output": [10.0, None, 5.0], "employees": [7.0, 3.0, None], "_row": [2, 3, 4]})
    raw = parsed.with_columns(pl.all().exclude("_row").cast(pl.Utf8))
    rejected = pl.DataFrame({"_row": [4], "column_name": ["output"], "value": ["5.0"], "rule": ["r"],
                             "severity": ["critical"], "message": ["m"], "message_en": ["m"]}, schema=ISSUE_SCHEMA)
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES (1, 'monthly.csv', 'h')")
    load_file(con, 1, 1, "monthly.csv", "monthly", parsed=parsed, loaded=parsed.filter(pl.col("_row") < 4),
              rejected=rejected, flagged=pl.DataFrame(schema=ISSUE_SCHEMA), raw=raw, rows_in=3, encoding="utf-8",
              header_map={c: c for c in ("uscc", "period", "basis", "output", "employees")})
    assert con.execute("SELECT uscc, row_number, output, employees, revenue, tax_paid FROM history.reported_rows "
                       "ORDER BY row_number").fetchall() == [("A", 2, 10.0, 7.0, None, None),
                                                             ("B", 3, None, 3.0, None, None)]
    assert con.execute("SELECT uscc, measure, value FROM history.reported_values ORDER BY uscc, measure"
                       ).fetchall() == [("A", "employees", 7.0), ("A", "output", 10.0), ("B", "employees", 3.0)]
    assert con.execute("SELECT row_key, original->>'uscc' FROM quarantine.rows").fetchall() == [("C|2025-01-01", "C")]


def test_a_monthly_file_whose_rows_repeat_a_firm_and_month_is_refused_naming_the_rows(con):
    # Validation quarantines such rows; were one pair to reach the load, the derivation would keep one value of
    # the two without a word (core.firm_monthly has no key index to stop it, migration 0007).
    from datetime import date

    from flows.stages.s06_load import RepeatedKey

    parsed = pl.DataFrame({"uscc": ["A", "B", "A"], "period": [date(2025, 1, 1)] * 3, "basis": ["month"] * 3,
                           "output": [10.0, 4.0, 12.0], "_row": [2, 3, 7]})
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES (1, 'monthly.csv', 'h')")
    with pytest.raises(RepeatedKey, match=r"monthly\.csv: several rows carry the same firm and month "
                                          r"\(key: rows A\|2025-01-01: 2, 7\)"):
        load_file(con, 1, 1, "monthly.csv", "monthly", parsed=parsed, loaded=parsed,
                  rejected=pl.DataFrame(schema=ISSUE_SCHEMA), flagged=pl.DataFrame(schema=ISSUE_SCHEMA),
                  raw=parsed.with_columns(pl.all().exclude("_row").cast(pl.Utf8)), rows_in=3, encoding="utf-8",
                  header_map={c: c for c in ("uscc", "period", "basis", "output")})
    assert con.execute("SELECT (SELECT count(*) FROM history.reported_rows) + (SELECT count(*) FROM "
                       "core.firm_monthly), (SELECT status FROM meta.files)").fetchone() == (0, None)


def threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


@pytest.mark.parametrize(("rows_in", "during"), [(3, 1), (ROW_GROUP_ROWS, 3)])
def test_a_file_of_fewer_rows_than_a_row_group_is_loaded_on_one_duckdb_thread_and_the_threads_come_back(
        con, rows_in, during):
    con.execute("SET threads = 3")
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES (1, 'platforms.csv', 'h')")
    parsed, loaded, rejected, flagged, raw = frames([2, 3, 4], [])
    prepared = prepare("platforms.csv", "platforms", parsed, loaded, rejected, flagged, raw, 3, "utf-8",
                       {"平台名称": "platform_name", "集群编码": "cluster_id"})
    accounting = replace(prepared.accounting, rows_in=rows_in)    # the size decides, not what the frames hold
    seen = []
    apply_load(con, 1, 1, "platforms.csv", "platforms", accounting, prepared.relations(),
               also=lambda c: seen.append(threads(c)))
    assert seen == [during]
    assert threads(con) == 3


def test_a_small_file_whose_load_fails_leaves_duckdb_its_threads(con):
    con.execute("SET threads = 3")
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES (1, 'platforms.csv', 'h')")
    parsed, loaded, rejected, flagged, raw = frames([2, 3, 4], [])
    prepared = prepare("platforms.csv", "platforms", parsed, loaded, rejected, flagged, raw, 3, "utf-8",
                       {"平台名称": "platform_name", "集群编码": "cluster_id"})

    def fail(c):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        apply_load(con, 1, 1, "platforms.csv", "platforms", prepared.accounting, prepared.relations(), also=fail)
    assert threads(con) == 3
    assert con.execute("SELECT count(*) FROM core.platforms").fetchone()[0] == 0


def _load_procurement(con, file_id: int, rows: list[tuple[str, str, float]]) -> None:
    """Load a procurement file of (buyer, month, amount) rows, all to supplier S."""
    from datetime import date

    parsed = pl.DataFrame({"buyer_uscc": [b for b, _, _ in rows], "supplier_uscc": ["S"] * len(rows),
                           "period": [date.fromisoformat(f"{m}-01") for _, m, _ in rows],
                           "amount": [a for _, _, a in rows], "_row": list(range(2, 2 + len(rows)))})
    con.execute("INSERT INTO meta.files (file_id, file_name, sha256) VALUES ($id, 'p.csv', $id::VARCHAR)",
                {"id": file_id})
    load_file(con, 1, file_id, f"p{file_id}.csv", "procurement", parsed=parsed, loaded=parsed,
              rejected=pl.DataFrame(schema=ISSUE_SCHEMA), flagged=pl.DataFrame(schema=ISSUE_SCHEMA),
              raw=parsed.with_columns(pl.all().exclude("_row").cast(pl.Utf8)), rows_in=len(rows), encoding="utf-8",
              header_map={c: c for c in ("buyer_uscc", "supplier_uscc", "period", "amount")})


def test_a_procurement_file_replaces_a_stored_buyers_month_as_a_whole_and_a_new_months_file_only_adds(con):
    """A month core already holds is revised per buyer (the old rows move to history.procurement_superseded);
    a file of months core does not hold yet adds its rows without working out the buyer keys a revision needs."""
    _load_procurement(con, 1, [("A", "2025-01", 1.0), ("A", "2025-01", 2.0), ("B", "2025-01", 5.0)])
    _load_procurement(con, 2, [("A", "2025-02", 7.0)])
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'incoming_keys'").fetchone()[0] == 0
    _load_procurement(con, 3, [("A", "2025-01", 4.0)])
    assert con.execute("SELECT buyer_uscc, strftime(period, '%Y-%m'), amount, file_id FROM core.procurement "
                       "ORDER BY ALL").fetchall() == [("A", "2025-01", 4.0, 3), ("A", "2025-02", 7.0, 2),
                                                      ("B", "2025-01", 5.0, 1)]
    assert con.execute("SELECT buyer_uscc, amount, file_id, superseded_by FROM history.procurement_superseded "
                       "ORDER BY ALL").fetchall() == [("A", 1.0, 1, 3), ("A", 2.0, 1, 3)]
    assert con.execute("SELECT run_id, kind, strftime(period, '%Y-%m') FROM meta.changes ORDER BY ALL"
                       ).fetchall() == [(1, "procurement", "2025-01"), (1, "procurement", "2025-01"),
                                        (1, "procurement", "2025-02")]
