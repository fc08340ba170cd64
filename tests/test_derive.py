"""累计 (year-to-date) differencing and revisions, checked against values worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import schema_warehouse

from flows.stages import s06_load
from flows.stages.s06_load import derive_monthly

FIRM = "91130609MA0000000X"


@pytest.fixture
def con():
    return schema_warehouse()


def report(con, file_id, run_id, period, basis, measure, value, kind="monthly"):
    con.execute("INSERT OR IGNORE INTO meta.files (file_id, file_name, sha256, run_id) VALUES (?, ?, ?, ?)",
                [file_id, f"f{file_id}", f"sha{file_id}", run_id])
    con.execute(f"INSERT INTO history.reported_rows (kind, uscc, period, basis, {measure}, file_id, row_number) "
                "VALUES (?, ?, ?, ?, ?, ?, 2)", [kind, FIRM, period, basis, value, file_id])


def derive(con, file_id, kind="monthly"):
    derive_monthly(con, run_id=file_id, file_id=file_id, kind=kind)


def monthly(con):
    return con.execute("SELECT period, span_months, output, employees FROM core.firm_monthly ORDER BY period"
                       ).fetchall()


def test_jan_feb_reported_together_is_one_record_on_february_with_span_two(con):
    report(con, 1, 1, date(2025, 2, 1), "ytd", "output", 300.0)
    report(con, 1, 1, date(2025, 3, 1), "ytd", "output", 450.0)
    report(con, 1, 1, date(2025, 2, 1), "ytd", "employees", 80.0)
    derive(con, 1)
    assert monthly(con) == [(date(2025, 2, 1), 2, 300.0, 80.0), (date(2025, 3, 1), 1, 150.0, None)]


def test_month_and_ytd_reports_mix_within_a_year(con):
    # Jan 当月 100, Feb 当月 120, Apr 累计 500 (March missing): April's record covers Mar–Apr = 280.
    report(con, 1, 1, date(2025, 1, 1), "month", "output", 100.0)
    report(con, 1, 1, date(2025, 2, 1), "month", "output", 120.0)
    report(con, 1, 1, date(2025, 4, 1), "ytd", "output", 500.0)
    report(con, 1, 1, date(2025, 5, 1), "month", "output", 90.0)
    derive(con, 1)
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 100.0), (2, 1, 120.0), (4, 2, 280.0),
                                                               (5, 1, 90.0)]


def test_a_revised_ytd_value_changes_the_months_on_both_sides(con):
    report(con, 1, 1, date(2025, 3, 1), "ytd", "output", 300.0)
    report(con, 1, 1, date(2025, 4, 1), "ytd", "output", 400.0)
    report(con, 1, 1, date(2025, 5, 1), "ytd", "output", 520.0)
    derive(con, 1)
    report(con, 2, 2, date(2025, 4, 1), "ytd", "output", 430.0)  # revision of April only
    derive(con, 2)
    assert [(p.month, o) for p, _, o, _ in monthly(con)] == [(3, 300.0), (4, 130.0), (5, 90.0)]
    changed = con.execute("SELECT DISTINCT period FROM meta.changes WHERE run_id = 2 ORDER BY 1").fetchall()
    assert [p.month for (p,) in changed] == [4, 5]  # March's value did not move


def test_one_file_per_month_derives_what_one_file_of_all_months_derives(con):
    # The usual night appends one month after the last derived one (no window over the year); the
    # values must be those of deriving the whole year at once.
    reports = [(date(2025, 2, 1), "ytd", "output", 300.0), (date(2025, 2, 1), "ytd", "employees", 80.0),
               (date(2025, 3, 1), "month", "output", 120.0), (date(2025, 3, 1), "ytd", "employees", 82.0),
               (date(2025, 5, 1), "ytd", "output", 700.0), (date(2025, 6, 1), "month", "output", 90.0),
               (date(2025, 7, 1), "ytd", "output", 900.0)]
    for file_id, (period, basis, measure, value) in enumerate(reports, 1):
        report(con, file_id, file_id, period, basis, measure, value)
        derive(con, file_id)
    assert monthly(con) == [(date(2025, 2, 1), 2, 300.0, 80.0), (date(2025, 3, 1), 1, 120.0, 82.0),
                            (date(2025, 5, 1), 2, 280.0, None), (date(2025, 6, 1), 1, 90.0, None),
                            (date(2025, 7, 1), 1, 110.0, None)]
    changed = con.execute("SELECT run_id, period FROM meta.changes WHERE run_id >= 5 ORDER BY 1").fetchall()
    assert [(r, p.month) for r, p in changed] == [(5, 5), (6, 6), (7, 7)]  # each file only its own month


def statements_run(monkeypatch) -> list[str]:
    """The names of the SQL files derive_monthly runs from here on."""
    ran: list[str] = []
    real = s06_load.run_sql

    def recording(con, name, *args, **kwargs):
        ran.append(name)
        return real(con, name, *args, **kwargs)

    monkeypatch.setattr(s06_load, "run_sql", recording)
    return ran


def test_months_of_month_values_after_the_stored_ones_go_to_core_as_reported_without_the_rework(con, monkeypatch):
    # Jan–Feb stored (累计 300 on February); then one file of March–May 当月 (a backfill, a first night's year):
    # each month is its own value, whatever came before, and no stored month is touched.
    report(con, 1, 1, date(2025, 2, 1), "ytd", "output", 300.0)
    derive(con, 1)
    for month, value in [(3, 110.0), (4, 120.5), (5, 99.25)]:
        report(con, 2, 2, date(2025, month, 1), "month", "output", value)
    ran = statements_run(monkeypatch)
    derive(con, 2)
    assert "derive_rework" not in ran and "fresh_reported" in ran
    assert monthly(con) == [(date(2025, 2, 1), 2, 300.0, None), (date(2025, 3, 1), 1, 110.0, None),
                            (date(2025, 4, 1), 1, 120.5, None), (date(2025, 5, 1), 1, 99.25, None)]
    changed = con.execute("SELECT DISTINCT period FROM meta.changes WHERE run_id = 2 ORDER BY 1").fetchall()
    assert [p.month for (p,) in changed] == [3, 4, 5]


def test_a_file_of_month_values_after_every_stored_month_goes_to_core_without_working_out_its_firm_years(
        con, monkeypatch):
    # The usual night: the table holds nothing from the file's month on, so no firm-year can reach back and the
    # file's rows are stored as reported without grouping them by firm and year (derive_flows.sql).
    report(con, 1, 1, date(2025, 1, 1), "month", "output", 100.0)
    derive(con, 1)
    report(con, 2, 2, date(2025, 2, 1), "month", "output", 120.0)
    ran = statements_run(monkeypatch)
    derive(con, 2)
    assert ran == ["fresh_file", "fresh_reported"]
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 100.0), (2, 1, 120.0)]


def test_a_file_of_a_month_the_table_holds_for_other_firms_is_judged_firm_year_by_firm_year(con, monkeypatch):
    # Another firm's February is stored (a second file of the month): the file is not known fresh before its
    # firm-years are worked out, and they find this firm's February after its stored months all the same.
    report(con, 1, 1, date(2025, 1, 1), "month", "output", 100.0)
    derive(con, 1)
    con.execute("INSERT INTO core.firm_monthly (uscc, period, span_months, output) "
                "VALUES ('91130609MA0000001X', '2025-02-01', 1, 7.0)")
    report(con, 2, 2, date(2025, 2, 1), "month", "output", 120.0)
    ran = statements_run(monkeypatch)
    derive(con, 2)
    assert ran == ["fresh_file", "derive_flows", "touched_reworked", "fresh_reported"]
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 100.0), (2, 1, 7.0), (2, 1, 120.0)]


def test_a_file_of_ytd_values_after_every_stored_month_is_differenced(con, monkeypatch):
    # 累计 values are never stored as reported: February's 累计 subtracts January's value.
    report(con, 1, 1, date(2025, 1, 1), "month", "output", 100.0)
    derive(con, 1)
    report(con, 2, 2, date(2025, 2, 1), "ytd", "output", 250.0)
    ran = statements_run(monkeypatch)
    derive(con, 2)
    assert ran[:3] == ["fresh_file", "derive_flows", "touched_reworked"] and "fresh_reported" not in ran
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 100.0), (2, 1, 150.0)]


def test_month_values_reaching_back_to_a_stored_month_rework_the_year(con, monkeypatch):
    # March 累计 330 is stored (Jan–Mar); a file of 当月 February and April reaches back before it: February's
    # value splits March's record (330 − 200 − 90 = 40 for March alone), so the year is derived again.
    report(con, 1, 1, date(2025, 1, 1), "ytd", "output", 200.0)
    report(con, 1, 1, date(2025, 3, 1), "ytd", "output", 330.0)
    derive(con, 1)
    report(con, 2, 2, date(2025, 2, 1), "month", "output", 90.0)
    report(con, 2, 2, date(2025, 4, 1), "month", "output", 50.0)
    ran = statements_run(monkeypatch)
    derive(con, 2)
    assert "derive_rework" in ran and "fresh_reported" not in ran
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 200.0), (2, 1, 90.0), (3, 1, 40.0),
                                                               (4, 1, 50.0)]


def test_a_late_month_reworks_the_rest_of_the_year(con):
    report(con, 1, 1, date(2025, 1, 1), "ytd", "output", 100.0)
    derive(con, 1)
    report(con, 2, 2, date(2025, 3, 1), "ytd", "output", 330.0)
    derive(con, 2)
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 100.0), (3, 2, 230.0)]
    report(con, 3, 3, date(2025, 2, 1), "ytd", "output", 210.0)  # February arrives after March
    derive(con, 3)
    assert [(p.month, s, o) for p, s, o, _ in monthly(con)] == [(1, 1, 100.0), (2, 1, 110.0), (3, 1, 120.0)]
    changed = con.execute("SELECT period FROM meta.changes WHERE run_id = 3 ORDER BY 1").fetchall()
    assert [p.month for (p,) in changed] == [2, 3]


def test_years_are_differenced_separately_and_tax_goes_to_core_tax(con):
    report(con, 1, 1, date(2024, 12, 1), "ytd", "tax_paid", 1200.0, kind="tax")
    report(con, 1, 1, date(2025, 1, 1), "ytd", "tax_paid", 90.0, kind="tax")
    derive(con, 1, kind="tax")
    rows = con.execute("SELECT period, span_months, tax_paid FROM core.tax ORDER BY period").fetchall()
    assert rows == [(date(2024, 12, 1), 12, 1200.0), (date(2025, 1, 1), 1, 90.0)]


def test_months_revised_resent_and_appended_keep_one_row_per_firm_and_month_in_both_tables(con):
    # core.firm_monthly and core.tax carry no key index (migration 0007): the derivation alone keeps
    # (uscc, period) unique — the same value sent again, a changed value, an appended month, a whole resend.
    files = [[(3, 300.0), (4, 400.0)], [(4, 400.0)], [(4, 430.0)], [(5, 520.0)], [(3, 300.0), (4, 430.0), (5, 520.0)]]
    for file_id, months in enumerate(files, 1):
        for month, value in months:
            report(con, file_id, file_id, date(2025, month, 1), "ytd", "output", value)
            report(con, file_id, file_id, date(2025, month, 1), "ytd", "tax_paid", value / 10, kind="tax")
        derive(con, file_id)
        derive(con, file_id, kind="tax")
    assert [(p.month, o) for p, _, o, _ in monthly(con)] == [(3, 300.0), (4, 130.0), (5, 90.0)]
    assert con.execute("SELECT month(period), tax_paid FROM core.tax ORDER BY period").fetchall() == [
        (3, 30.0), (4, 13.0), (5, 9.0)]
    for table in ("core.firm_monthly", "core.tax"):
        assert con.execute(f"SELECT count(*), count(DISTINCT (uscc, period)) FROM {table}").fetchone() == (3, 3)
