"""Indicator stage: hand-worked cases for every rule of docs/architecture.md#indicators, incremental == full, and the
planted truth.

Expected numbers are worked out by hand in each test from the rows the test inserts, never by running the
code twice.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path

import duckdb
import pytest
from conftest import schema_warehouse

from flows.render.dictionary import dictionary_markdown
from flows.stages import s07_indicators as ind
from flows.stages.s07_indicators import changed_periods, update_indicators
from flows.support.registry import registry
from flows.support.warehouse import sql_path

ROOT = Path(__file__).resolve().parent.parent
TRUTH = ROOT / "data" / "sample" / "truth"

D = dt.date


def make_db(
    clusters: list[tuple] | None = None,
    firms: list[tuple] | None = None,
    monthly: list[tuple] | None = None,
    tax: list[tuple] | None = None,
    procurement: list[tuple] | None = None,
    digital: list[tuple] | None = None,
    platforms: list[tuple] | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the given core rows.

    clusters: (cluster_id, province, adcode, domain, local_scope)
    firms: (uscc, cluster_id, adcode, above_scale, chain_leader, srdi_level, land_area)
    monthly: (uscc, period, span_months, output, value_added, revenue, employees, energy, rd_expense)
    tax: (uscc, period, span_months, tax_paid)
    procurement: (buyer_uscc, supplier_uscc, supplier_name, supplier_adcode, period, amount)
    digital: (uscc, survey_date, cloud, transformation, maturity)
    platforms: (platform_name, cluster_id)
    """
    con = schema_warehouse()
    for c in clusters or [("C1", "江苏", "320506", "电子", "city")]:
        con.execute("INSERT INTO core.clusters (cluster_id, cluster_name, province, city, adcode, domain, "
                    "leading_industry, level, lon, lat, local_scope, file_id) "
                    "VALUES (?, ?, ?, NULL, ?, ?, NULL, NULL, 0, 0, ?, 1)",
                    [c[0], c[0], c[1], c[2], c[3], c[4]])
    for f in firms or []:
        con.execute("INSERT INTO core.firms VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL, 1)",
                    [f[0], f[0], f[1], f[2], f[3], f[4], f[5], f[6]])
    for m in monthly or []:
        con.execute("INSERT INTO core.firm_monthly VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)", list(m))
    for t in tax or []:
        con.execute("INSERT INTO core.tax VALUES (?, ?, ?, ?)", list(t))
    for p in procurement or []:
        con.execute("INSERT INTO core.procurement VALUES (?, ?, ?, ?, ?, ?, 1, 1)", list(p))
    for d in digital or []:
        con.execute("INSERT INTO core.digital_surveys VALUES (?, ?, ?, ?, ?, false, 1)", list(d))
    for p in platforms or []:
        con.execute("INSERT INTO core.platforms VALUES (?, ?, 'national', 'lab', 1)", list(p))
    return con


def firm(uscc: str, cluster: str = "C1", adcode: str = "320506", above: bool = True, leader: bool = False,
         srdi: str = "none", land: float | None = 10.0) -> tuple:
    return (uscc, cluster, adcode, above, leader, srdi, land)


def rec(uscc: str, period: dt.date, output: float, span: int = 1, value_added: float | None = None,
        revenue: float = 0.0, employees: float = 0.0, energy: float = 0.0, rd: float = 0.0) -> tuple:
    return (uscc, period, span, output, value_added, revenue, employees, energy, rd)


def get(con: duckdb.DuckDBPyConnection, indicator: str, period: dt.date, cluster: str = "C1") -> tuple:
    """(value, n_firms, flags) of one indicator."""
    row = con.execute(
        "SELECT value, n_firms, flags FROM mart.cluster_indicators WHERE cluster_id = ? AND period = ? "
        "AND indicator = ?", [cluster, period, indicator]).fetchone()
    assert row is not None, (indicator, period, cluster)
    return row


def test_span_record_is_flagged_and_output_month_uses_records_ending_in_m() -> None:
    # 1–2月 reported together: one record ending in February with span_months = 2.
    con = make_db(firms=[firm("A"), firm("B")],
                  monthly=[rec("A", D(2025, 2, 1), 300.0, span=2), rec("A", D(2025, 3, 1), 100.0),
                           rec("B", D(2025, 3, 1), 40.0)])
    update_indicators(con, None)
    assert get(con, "output_month", D(2025, 2, 1)) == (300.0, 1, ["span"])
    assert get(con, "output_month", D(2025, 3, 1)) == (140.0, 2, [])  # only records ending in March
    assert get(con, "n_reporting", D(2025, 3, 1))[0] == 2
    assert get(con, "output_ytd", D(2025, 2, 1))[0] == 300.0
    assert get(con, "output_ytd", D(2025, 3, 1))[:2] == (440.0, 2)
    # TTM at February: the span record starts in January, inside the window — no span_edge.
    assert "span_edge" not in get(con, "output_ttm", D(2025, 3, 1))[2]


def test_month_without_records_is_undefined_not_zero() -> None:
    con = make_db(firms=[firm("A")], monthly=[rec("A", D(2025, 1, 1), 10.0), rec("A", D(2025, 3, 1), 5.0)])
    update_indicators(con, None)
    assert get(con, "output_month", D(2025, 2, 1)) == (None, 0, ["undefined:no_records"])
    assert get(con, "n_reporting", D(2025, 2, 1))[0] == 0
    assert get(con, "output_ytd", D(2025, 2, 1))[0] == 10.0


def test_local_supporting_rate_unknown_supplier_and_registry_location() -> None:
    con = make_db(
        firms=[firm("A", leader=True), firm("B"), firm("S1", cluster="C1", adcode="320581")],
        procurement=[
            # S1 is registered in 320581 (Suzhou): the registry wins over the row's 110000 → local.
            ("A", "S1", "s1", "110000", D(2025, 3, 1), 60.0),
            ("A", None, "far", "440300", D(2025, 3, 1), 30.0),   # Shenzhen: not local
            ("B", None, "nowhere", None, D(2025, 3, 1), 10.0),     # unknown: not local
            ("B", None, "near", "320505", D(2025, 2, 1), 20.0),    # local, by name
            ("B", None, "near", "320505", D(2025, 3, 1), 5.0),     # same supplier again
        ],
        monthly=[rec("A", D(2025, 2, 1), 1.0), rec("A", D(2025, 3, 1), 1.0)])
    update_indicators(con, None)
    v, n, flags = get(con, "local_supporting_rate", D(2025, 3, 1))
    assert math.isclose(v, (60 + 20 + 5) / 125) and n == 2
    assert math.isclose(get(con, "unknown_supplier_share", D(2025, 3, 1))[0], 10 / 125)
    assert math.isclose(get(con, "local_supporting_rate_leaders", D(2025, 3, 1))[0], 60 / 90)
    assert get(con, "local_supplier_count", D(2025, 3, 1))[0] == 2  # S1 and "near"
    assert get(con, "local_supplier_count", D(2025, 2, 1))[0] == 1


def test_local_scope_county_city_province() -> None:
    clusters = [("CO", "江苏", "320506", "x", "county"), ("CI", "江苏", "320506", "x", "city"),
                ("PR", "江苏", "320506", "x", "province"), ("DF", "江苏", "320506", "x", None)]
    firms = [firm(f"B{c}", cluster=c) for c, *_ in clusters]
    suppliers = [("320506", 1.0), ("320507", 2.0), ("321000", 4.0), ("110000", 8.0)]
    procurement = [(f"B{c}", None, f"s{ad}", ad, D(2025, 1, 1), amt) for c, *_ in clusters for ad, amt in suppliers]
    con = make_db(clusters=clusters, firms=firms, procurement=procurement)
    update_indicators(con, None)
    p = D(2025, 1, 1)
    assert math.isclose(get(con, "local_supporting_rate", p, "CO")[0], 1 / 15)
    assert math.isclose(get(con, "local_supporting_rate", p, "CI")[0], 3 / 15)
    assert math.isclose(get(con, "local_supporting_rate", p, "PR")[0], 7 / 15)
    assert math.isclose(get(con, "local_supporting_rate", p, "DF")[0], 3 / 15)  # default scope: city
    assert get(con, "local_supplier_count", p, "PR")[0] == 3


def test_per_mu_excludes_firms_without_land() -> None:
    con = make_db(firms=[firm("A", land=10.0), firm("B", land=0.0), firm("C", land=None), firm("E", land=5.0)],
                  monthly=[rec("A", D(2025, 1, 1), 100.0), rec("B", D(2025, 1, 1), 999.0),
                           rec("C", D(2025, 1, 1), 999.0), rec("E", D(2025, 1, 1), 50.0)],
                  tax=[("A", D(2025, 1, 1), 1, 6.0), ("B", D(2025, 1, 1), 1, 99.0), ("C", D(2025, 1, 1), 1, 99.0)])
    update_indicators(con, None)
    # Land firms A (10 亩) and E (5 亩, no tax record): tax 6 / 15 亩, output 150 / 15 亩.
    assert get(con, "per_mu_tax", D(2025, 1, 1))[:2] == (pytest.approx(6 / 15), 2)
    assert get(con, "per_mu_output", D(2025, 1, 1))[:2] == (pytest.approx(10.0), 2)


def test_no_land_is_undefined() -> None:
    con = make_db(firms=[firm("A", land=None)], monthly=[rec("A", D(2025, 1, 1), 100.0)])
    update_indicators(con, None)
    assert get(con, "per_mu_tax", D(2025, 1, 1)) == (None, 0, ["partial_window", "undefined:no_land"])


def test_yoy_comparable_basis_with_firms_entering_and_leaving() -> None:
    con = make_db(
        firms=[firm("A"), firm("N"), firm("L"), firm("S")],
        monthly=[
            rec("A", D(2024, 1, 1), 100.0), rec("A", D(2024, 2, 1), 100.0),
            rec("A", D(2025, 1, 1), 110.0), rec("A", D(2025, 2, 1), 130.0),
            rec("N", D(2025, 1, 1), 500.0), rec("N", D(2025, 2, 1), 500.0),   # entered in 2025
            rec("L", D(2024, 1, 1), 700.0),                                    # left after 2024-01
            # S reported last year only in February: comparable from February on.
            rec("S", D(2024, 2, 1), 50.0), rec("S", D(2025, 1, 1), 60.0), rec("S", D(2025, 2, 1), 10.0),
        ])
    update_indicators(con, None)
    # January 2025: comparable A only (S had no record in Jan 2024): 110 / 100 − 1.
    v, n, _ = get(con, "output_ytd_yoy", D(2025, 1, 1))
    assert math.isclose(v, 0.10) and n == 1
    # February 2025: A and S: (240 + 70) / (200 + 50) − 1.
    v, n, flags = get(con, "output_ytd_yoy", D(2025, 2, 1))
    assert math.isclose(v, 310 / 250 - 1) and n == 2 and "undefined:no_comparable_firms" not in flags
    # 2024: no year before → undefined.
    assert get(con, "output_ytd_yoy", D(2024, 2, 1))[0] is None
    assert "undefined:no_comparable_firms" in get(con, "output_ytd_yoy", D(2024, 2, 1))[2]


def test_ttm_at_start_of_data_is_partial_and_window_drops_old_records() -> None:
    months = [D(2024, m, 1) for m in range(1, 13)] + [D(2025, 1, 1)]
    con = make_db(firms=[firm("A")], monthly=[rec("A", p, float(i + 1), employees=10.0)
                                              for i, p in enumerate(months)])
    update_indicators(con, None)
    v, n, flags = get(con, "output_ttm", D(2024, 3, 1))
    assert (v, n) == (6.0, 1) and "partial_window" in flags  # 1 + 2 + 3, computed over what exists
    v, _, flags = get(con, "output_ttm", D(2024, 12, 1))
    assert v == 78.0 and "partial_window" not in flags
    assert get(con, "output_ttm", D(2025, 1, 1))[0] == 78.0 - 1 + 13  # January 2024 leaves the window
    assert math.isclose(get(con, "labour_productivity", D(2025, 1, 1))[0], 90.0 / 10.0)


def test_span_record_reaching_before_the_ttm_window_is_flagged() -> None:
    con = make_db(firms=[firm("A")],
                  monthly=[rec("A", D(2024, 2, 1), 20.0, span=2)]
                  + [rec("A", D(2024, m, 1), 1.0) for m in range(3, 13)] + [rec("A", D(2025, 1, 1), 1.0)])
    update_indicators(con, None)
    # TTM at 2025-01 covers 2024-02..2025-01; the 1–2月 record ends inside it but starts in January.
    assert "span_edge" in get(con, "output_ttm", D(2025, 1, 1))[2]
    assert "span_edge" not in get(con, "output_ttm", D(2024, 12, 1))[2]


def test_undefined_ratios_are_null_with_reason() -> None:
    con = make_db(firms=[firm("A")], monthly=[rec("A", D(2025, 1, 1), 0.0, revenue=0.0, employees=0.0)])
    update_indicators(con, None)
    p = D(2025, 1, 1)
    # One month of data: every TTM window is also partial.
    assert get(con, "rd_intensity", p) == (None, 1, ["partial_window", "undefined:zero_revenue"])
    assert get(con, "energy_intensity", p) == (None, 1, ["partial_window", "undefined:zero_output"])
    assert get(con, "labour_productivity", p) == (None, 1, ["partial_window", "undefined:zero_employees"])
    assert get(con, "top1_share", p)[2] == ["partial_window", "undefined:zero_output"]
    assert get(con, "local_supporting_rate", p) == (None, 0, ["partial_window", "undefined:no_procurement"])
    assert get(con, "cloud_rate", p) == (None, 0, ["undefined:no_survey"])


def test_concentration_digital_and_registry_counts() -> None:
    con = make_db(
        firms=[firm("A", leader=True, srdi="national"), firm("B", above=False, srdi="provincial"), firm("C")],
        monthly=[rec("A", D(2025, 1, 1), 60.0, revenue=100.0, rd=3.0, energy=6.0),
                 rec("B", D(2025, 1, 1), 30.0, revenue=50.0, energy=3.0),
                 rec("C", D(2025, 1, 1), 10.0, revenue=50.0, rd=1.0, energy=1.0)],
        digital=[("A", D(2024, 6, 1), True, "已完成", 4), ("A", D(2025, 2, 3), False, "实施中", 2),
                 ("B", D(2025, 1, 31), False, "已完成", None)],
        platforms=[("P1", "C1"), ("P2", "C1")])
    con.execute("INSERT INTO core.firm_monthly VALUES ('A', '2025-02-01', 1, 1, NULL, 1, 0, 0, 0, 0)")
    update_indicators(con, None)
    jan, feb = D(2025, 1, 1), D(2025, 2, 1)
    assert math.isclose(get(con, "top1_share", jan)[0], 0.6)
    assert math.isclose(get(con, "hhi", jan)[0], 0.36 + 0.09 + 0.01)
    assert math.isclose(get(con, "rd_intensity", jan)[0], 4 / 200)
    assert math.isclose(get(con, "energy_intensity", jan)[0], 10 / 100)
    # January: A (June survey) and B (31 Jan) surveyed; February: A's new survey replaces the old one.
    assert get(con, "cloud_rate", jan)[:2] == (0.5, 2)
    assert get(con, "transformation_done_rate", jan)[0] == 1.0
    assert get(con, "maturity_mean", jan)[:2] == (4.0, 1)
    assert math.isclose(get(con, "digital_coverage", jan)[0], 2 / 3)
    assert get(con, "cloud_rate", feb)[0] == 0.0
    assert get(con, "transformation_done_rate", feb)[0] == 0.5
    assert get(con, "maturity_mean", feb)[0] == 2.0
    counts = {k: get(con, k, jan)[0] for k in ("n_firms", "n_above_scale", "n_srdi", "n_chain_leaders",
                                                 "n_platforms")}
    assert counts == {"n_firms": 3, "n_above_scale": 2, "n_srdi": 2, "n_chain_leaders": 1, "n_platforms": 2}


def test_classifications_tiers_and_stage_tests() -> None:
    clusters = [(c, "江苏", "320506", "x", "city") for c in ("T", "H", "L", "Z")]
    # 1 亿元 = 10,000 万元. T: 10,000亿 → 万亿级; H: exactly 100亿 → 百亿级; L: just below 100亿.
    firms = [firm("TA", "T", leader=True), firm("HA", "H", leader=True), firm("LA", "L"), firm("ZA", "Z")]
    monthly = [rec("TA", D(2025, 1, 1), 1e8, revenue=100.0, rd=1.0),       # rd 1%: fails by rd
               rec("HA", D(2025, 1, 1), 1e6, revenue=100.0, rd=2.0),       # rd exactly 2%: passes
               rec("LA", D(2025, 1, 1), 999_999.0, revenue=100.0, rd=5.0),
               rec("ZA", D(2025, 1, 1), 1.0)]
    procurement = [("TA", None, "s", "320500", D(2025, 1, 1), 40.0), ("TA", None, "t", "110000", D(2025, 1, 1), 60.0),
                   ("HA", None, "s", "320500", D(2025, 1, 1), 39.0), ("HA", None, "t", "110000", D(2025, 1, 1), 61.0)]
    platforms = [(f"P{i}", "T") for i in range(3)]
    con = make_db(clusters=clusters, firms=firms, monthly=monthly, procurement=procurement, platforms=platforms)
    update_indicators(con, None)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT cluster_id, scale_tier, test_linkage, test_leadership, test_innovation, stage "
        "FROM mart.cluster_classes WHERE period = '2025-01-01'").fetchall()}
    assert got["T"] == ("万亿级", True, True, True, "集群")         # lsr 0.40, leader, 3 platforms
    assert got["H"] == ("百亿级", False, True, True, "过渡")         # lsr 0.39
    assert got["L"] == ("百亿以下", False, False, True, "集聚")
    assert got["Z"] == ("百亿以下", False, False, False, "集聚")


def test_firm_ratings_by_rank_with_weights_and_cap() -> None:
    # Four evaluated firms (above scale, land ≥ 5 亩), one below scale, one with 4 亩.
    p = D(2025, 12, 1)
    firms = [firm(u, land=10.0) for u in ("A", "B", "C", "E")] + [firm("S", above=False), firm("M", land=4.0)]
    monthly, tax = [], []
    # Only tax differs: tax 100, 10, 10, 0 per 10 亩 → per mu 10, 1, 1, 0; group mean 3. A's ratio 10/3 is
    # capped at 3. Every other value is equal across firms → ratio 1.
    for u, t in (("A", 100.0), ("B", 10.0), ("C", 10.0), ("E", 0.0), ("S", 1.0), ("M", 1.0)):
        monthly.append(rec(u, p, 100.0, value_added=30.0, revenue=200.0, employees=10.0, energy=5.0, rd=4.0))
        tax.append((u, p, 1, t))
    con = make_db(firms=firms, monthly=monthly, tax=tax)
    update_indicators(con, None)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT uscc, score, class, reason FROM mart.firm_ratings WHERE period = ?", [p]).fetchall()}
    assert got["A"][0] == pytest.approx(40 * 3 + 60)
    assert got["B"][0] == pytest.approx(40 / 3 + 60)
    assert got["E"][0] == pytest.approx(60.0)
    # Ranks 1, 2, 2, 4 of 4: A (0.25) → A; B and C tie (0.5) → B; E (1.0) → D.
    assert [got[u][1] for u in ("A", "B", "C", "E")] == ["A", "B", "B", "D"]
    assert got["S"][1:] == (None, "not_above_scale")
    assert got["M"][1:] == (None, "land_below_minimum")


def test_firm_ratings_score_only_the_weighed_metrics_and_flag_a_neutral_one(monkeypatch) -> None:
    """Weights on two metrics only: per-mu tax (3) and R&D intensity (1). A pays 100 and B 10 on 10 亩 each: per mu
    10 and 1, group mean 5.5; A spends 4 on R&D of 200 revenue (0.02, the group mean: ratio 1), B has no revenue, so
    its R&D intensity is undefined and scores the neutral 1, flagged. A = 3 × 10/5.5 + 1, B = 3 × 1/5.5 + 1; the
    other metrics are neither scored nor flagged."""
    cfg = copy.deepcopy(ind.classification())
    cfg["firm_rating"]["weights"] = {"per_mu_tax": 3.0, "rd_intensity": 1.0}
    monkeypatch.setattr(ind, "classification", lambda: cfg)
    p = D(2025, 12, 1)
    con = make_db(firms=[firm("A"), firm("B")],
                  monthly=[rec("A", p, 100.0, revenue=200.0, rd=4.0), rec("B", p, 100.0, revenue=0.0, rd=4.0)],
                  tax=[("A", p, 1, 100.0), ("B", p, 1, 10.0)])
    update_indicators(con, None)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT uscc, score, rank_in_group, flags FROM mart.firm_ratings WHERE period = ?", [p]).fetchall()}
    assert got["A"][0] == pytest.approx(3 * 10 / 5.5 + 1) and got["A"][1:] == (1, [])
    assert got["B"][0] == pytest.approx(3 * 1 / 5.5 + 1) and got["B"][1:] == (2, ["undefined:rd_intensity"])


def test_firm_rating_weights_on_an_unknown_metric_are_refused(monkeypatch) -> None:
    cfg = copy.deepcopy(ind.classification())
    cfg["firm_rating"]["weights"] = {"per_mu_tax": 1.0, "return_on_equity": 1.0}
    monkeypatch.setattr(ind, "classification", lambda: cfg)
    con = make_db(firms=[firm("A")], monthly=[rec("A", D(2025, 12, 1), 100.0)])
    with pytest.raises(ValueError, match="return_on_equity"):
        update_indicators(con, None)


def test_province_rollup_recomputes_ratios() -> None:
    clusters = [("C1", "江苏", "320506", "x", "city"), ("C2", "江苏", "320200", "x", "city")]
    con = make_db(clusters=clusters, firms=[firm("A", "C1"), firm("B", "C2", adcode="320200")],
                  monthly=[rec("A", D(2025, 1, 1), 100.0, revenue=100.0, rd=10.0),
                           rec("B", D(2025, 1, 1), 300.0, revenue=900.0, rd=9.0)])
    update_indicators(con, None)
    rows = dict(con.execute("SELECT indicator, value FROM mart.province_indicators WHERE province = '江苏'")
                .fetchall())
    assert rows["output_month"] == 400.0
    assert math.isclose(rows["rd_intensity"], 19 / 1000)  # not the mean of 0.10 and 0.01
    assert math.isclose(rows["hhi"], (100**2 + 300**2) / 400**2)


def _dump(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    out = {}
    for table, key in (("cluster_indicators", "cluster_id, period, indicator"),
                       ("province_indicators", "province, period, indicator"),
                       ("cluster_classes", "cluster_id, period"), ("firm_ratings", "uscc, period")):
        out[table] = con.execute(f"SELECT * FROM mart.{table} ORDER BY {key}").fetchall()
    return out


def _same(a: dict[str, list], b: dict[str, list]) -> None:
    for table in a:
        assert len(a[table]) == len(b[table]), table
        for ra, rb in zip(a[table], b[table], strict=True):
            for x, y in zip(ra, rb, strict=True):
                if isinstance(x, float) and isinstance(y, float):
                    assert x == pytest.approx(y, rel=1e-12, abs=1e-12), (table, ra, rb)
                else:
                    assert x == y, (table, ra, rb)


def _rich_db() -> duckdb.DuckDBPyConnection:
    clusters = [("C1", "江苏", "320506", "电子", "city"), ("C2", "江苏", "320200", "电子", "county"),
                ("C3", "浙江", "330100", "医药", None)]
    firms, monthly, tax, procurement, digital = [], [], [], [], []
    for i in range(12):
        c = clusters[i % 3][0]
        u = f"F{i:02d}"
        firms.append(firm(u, c, adcode=clusters[i % 3][2], above=i % 4 != 0, leader=i < 3, land=float(i % 5) * 3))
        for y in (2024, 2025):
            for mth in range(1, 13):
                if (i + mth) % 7 == 0 or (y == 2025 and mth > 6):
                    continue
                p = D(y, mth, 1)
                span = 2 if mth == 2 and i % 2 == 0 else 1
                if mth == 1 and i % 2 == 0:
                    continue  # 1–2月 reported together
                monthly.append(rec(u, p, 10.0 * (i + 1) + mth + y % 10, span=span, revenue=20.0 + i,
                                   employees=5.0 + i, energy=1.0 + i % 3, rd=0.5 * (i % 4),
                                   value_added=None if i % 3 else 3.0))
                tax.append((u, p, 1, 1.0 + i % 4))
                sup = f"F{(i + 1) % 12:02d}" if mth % 2 else None
                procurement.append((u, sup, f"s{mth % 4}", ["320506", "320211", None, "330102"][mth % 4], p,
                                    5.0 + mth))
        digital.append((u, D(2024, 1 + i % 12, 15), i % 2 == 0, "已完成" if i % 3 == 0 else "实施中", 1 + i % 5))
    return make_db(clusters=clusters, firms=firms, monthly=monthly, tax=tax, procurement=procurement,
                   digital=digital, platforms=[("P1", "C1"), ("P2", "C2")])


def test_incremental_equals_full_recompute() -> None:
    con = _rich_db()
    update_indicators(con, None)
    # Revise one month: a monthly value, a tax value and a procurement row of 2024-05.
    con.execute("UPDATE core.firm_monthly SET output = output * 3 WHERE uscc = 'F01' AND period = '2024-05-01'")
    con.execute("UPDATE core.tax SET tax_paid = 40 WHERE uscc = 'F02' AND period = '2024-05-01'")
    con.execute("UPDATE core.procurement SET supplier_adcode = '320500', amount = 77 WHERE period = '2024-05-01'")
    keys = {"cluster_indicators": "cluster_id, period, indicator", "province_indicators": "province, period, indicator",
            "cluster_classes": "cluster_id, period", "firm_ratings": "uscc, period"}
    for table, key in keys.items():  # the marts' keys are unique by construction (no PRIMARY KEY index)
        n, distinct = con.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM mart.{table}").fetchone()
        assert n == distinct > 0, table
    done = update_indicators(con, {D(2024, 5, 1)})
    assert done == {D(2024, m, 1) for m in range(5, 13)} | {D(2025, m, 1) for m in range(1, 7)}
    incremental = _dump(con)
    update_indicators(con, None)
    _same(incremental, _dump(con))
    # The untouched months really are untouched and the full result differs from before the change.
    assert D(2024, 4, 1) not in done


def test_a_stage_stopped_midway_leaves_the_marts_not_current_and_the_next_try_recomputes_all(monkeypatch) -> None:
    """The stage's statements commit one by one (DuckDB plans a table by its committed rows): a try that fails after
    rebuilding a month's work tables must not leave them passing as current, or the next try would build on them."""
    con, ref = _rich_db(), _rich_db()
    update_indicators(con, None)
    revise = "UPDATE core.procurement SET supplier_adcode = '320500', amount = 77 WHERE period = '2024-05-01'"
    for db in (con, ref):
        db.execute(revise)
    run_file = ind._run_file

    def failing(db: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> duckdb.DuckDBPyConnection:
        if name == "indicators_publish":
            raise RuntimeError("stopped")
        return run_file(db, name, params)

    monkeypatch.setattr(ind, "_run_file", failing)
    with pytest.raises(RuntimeError, match="stopped"):
        update_indicators(con, {D(2024, 5, 1)})
    assert not ind._state(con)[1]
    monkeypatch.setattr(ind, "_run_file", run_file)
    assert len(update_indicators(con, {D(2024, 5, 1)})) == 18   # every month of 2024-01 … 2025-06: a full recompute
    update_indicators(ref, None)
    _same(_dump(con), _dump(ref))


def test_incremental_adding_a_new_month() -> None:
    con = _rich_db()
    update_indicators(con, None)
    con.execute("INSERT INTO core.firm_monthly VALUES ('F00', '2025-07-01', 1, 5, NULL, 5, 0, 5, 1, 0)")
    con.execute("INSERT INTO core.procurement VALUES ('F00', NULL, 'n', '320506', '2025-07-01', 9, 1, 1)")
    assert update_indicators(con, {D(2025, 7, 1)}) == {D(2025, 7, 1)}
    incremental = _dump(con)
    update_indicators(con, None)
    _same(incremental, _dump(con))


def _work_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """The stored procurement aggregates with their links, keyed by names rather than run-dependent ids."""
    return {
        "buyers": con.execute("SELECT buyer_uscc, period, amount, local_amount, unknown_amount, n_rows, prv "
                              "FROM work.proc_buyer_month ORDER BY ALL").fetchall(),
        "suppliers": con.execute("SELECT s.cidx, k.supplier_key, s.period, s.prv FROM work.proc_local_supplier s "
                                 "JOIN work.supplier_ids k USING (sid) ORDER BY ALL").fetchall(),
    }


def test_incremental_nights_keep_links_when_buyers_and_suppliers_come_and_go() -> None:
    """Night after night of incremental updates (never a full one in between) equals a full recompute, also
    when a buyer or a local supplier vanishes from a month, appears in one, or several months change at once."""
    inc, ref = _rich_db(), _rich_db()
    update_indicators(inc, None)
    nights = [
        # a buyer's month and a local supplier's month vanish: their next rows link back past them, which moves
        # the first target they count at into the data (F01 buys monthly; C1 buys locally from s0 every 4 months)
        ({D(2024, 3, 1), D(2024, 8, 1)},
         "DELETE FROM core.procurement WHERE buyer_uscc = 'F01' AND period = '2024-03-01'; "
         "DELETE FROM core.procurement WHERE supplier_name = 's0' AND period = '2024-08-01'"),
        # a new local supplier appears in an early month, and another month's supplier changes
        ({D(2024, 3, 1), D(2024, 10, 1)},
         "INSERT INTO core.procurement VALUES ('F03', NULL, 'new', '320506', '2024-03-01', 4, 1, 1); "
         "UPDATE core.procurement SET supplier_name = 'other' WHERE period = '2024-10-01' AND buyer_uscc = 'F00'"),
        # a whole month disappears, then comes back with different suppliers
        ({D(2025, 2, 1)}, "DELETE FROM core.procurement WHERE period = '2025-02-01'"),
        ({D(2025, 2, 1)}, "INSERT INTO core.procurement VALUES ('F00', NULL, 's1', '320506', '2025-02-01', 3, 1, 1), "
                          "('F04', NULL, 'new', '320211', '2025-02-01', 2, 1, 1)"),
        # an amount revised only: every key keeps its links
        ({D(2024, 12, 1)}, "UPDATE core.procurement SET amount = amount + 1 WHERE period = '2024-12-01'"),
    ]
    for changed, statement in nights:
        for con in (inc, ref):
            con.execute(statement)
        update_indicators(inc, changed)
        update_indicators(ref, None)
        _same(_dump(inc), _dump(ref))
        assert _work_rows(inc) == _work_rows(ref)
    assert any(row[-1] is not None for row in _work_rows(ref)["suppliers"])  # links were really exercised


def test_a_night_appending_a_month_links_its_new_rows_to_their_keys_last_stored_month() -> None:
    """An ordinary night — one month, no stored row after it — links the month's key-month rows to their key's last
    stored month, past a gap too, and a key never seen to none, without re-linking stored rows
    (indicators_proc_keys_append.sql); the latest month delivered again with keys come and gone appends as well, and a
    revised earlier month takes the general form. Work rows and marts equal a full recompute's every night."""
    inc, ref = _rich_db(), _rich_db()
    update_indicators(inc, None)
    nights = [
        # the new month: F00 bought in 2025-06, F01 last in 2025-05 (absent in 2025-06), 'fresh' never sold to C1
        ({D(2025, 7, 1)}, "INSERT INTO core.procurement VALUES ('F00', NULL, 's1', '320506', '2025-07-01', 9, 1, 1), "
                          "('F01', NULL, 'fresh', '320211', '2025-07-01', 4, 1, 1)", "indicators_proc_keys_append"),
        # the same month again: F00 gone from it, F03 come
        ({D(2025, 7, 1)}, "DELETE FROM core.procurement WHERE buyer_uscc = 'F00' AND period = '2025-07-01'; "
                          "INSERT INTO core.procurement VALUES ('F03', NULL, 's2', '320506', '2025-07-01', 6, 1, 1)",
         "indicators_proc_keys_append"),
        # an earlier month revised: stored rows after it may need new links
        ({D(2024, 10, 1)}, "UPDATE core.procurement SET supplier_name = 'other' "
                           "WHERE period = '2024-10-01' AND buyer_uscc = 'F00'", "indicators_proc_keys_incremental"),
    ]
    for changed, statement, form in nights:
        for con in (inc, ref):
            con.execute(statement)
        update_indicators(inc, changed)
        ran = {"indicators_proc_keys_append", "indicators_proc_keys_incremental"} & ind.last_timings.keys()
        assert ran == {form}
        update_indicators(ref, None)
        _same(_dump(inc), _dump(ref))
        assert _work_rows(inc) == _work_rows(ref)
    buyers = {row[0]: row[-1] for row in _work_rows(ref)["buyers"] if row[1] == D(2025, 7, 1)}
    assert buyers == {"F01": D(2025, 5, 1), "F03": D(2025, 6, 1)}
    assert any(row[2] == D(2025, 7, 1) and row[-1] is None for row in _work_rows(ref)["suppliers"])


def test_changed_periods_reads_meta_changes() -> None:
    con = _rich_db()
    con.execute("INSERT INTO meta.changes VALUES (1, 'monthly', '2024-05-01'), (1, 'tax', '2024-06-01'), "
                "(2, 'firms', NULL), (2, 'monthly', '2024-05-01'), (3, 'digital', '2025-04-01')")
    assert changed_periods(con, 1) == {D(2024, 5, 1), D(2024, 6, 1)}
    assert changed_periods(con, 2) is None
    assert changed_periods(con, 3) == {D(2025, m, 1) for m in range(4, 7)}
    assert changed_periods(con, 99) == set()


def test_dictionary_wide_view_and_comments_follow_the_registry() -> None:
    con = make_db(firms=[firm("A")], monthly=[rec("A", D(2025, 1, 1), 1.0)])
    update_indicators(con, None)
    codes = [i.code for i in registry()]
    assert [r[0] for r in con.execute("SELECT indicator FROM mart.indicator_dictionary ORDER BY ordinal")
            .fetchall()] == codes
    wide = [r[0] for r in con.execute("DESCRIBE mart.cluster_indicators_wide").fetchall()]
    assert wide == ["cluster_id", "cluster_name", "province", "period", *codes]
    assert con.execute("SELECT output_month FROM mart.cluster_indicators_wide").fetchone() == (1.0,)
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'mart' "
        "AND (comment IS NULL OR comment = '') AND table_name IN ('indicator_dictionary', 'cluster_indicators', "
        "'cluster_indicators_wide', 'province_indicators', 'cluster_classes', 'firm_ratings')").fetchall()
    assert missing == []
    md = dictionary_markdown()
    assert all(f"`{c}`" in md for c in codes) and md.count("\n") == len(codes) + 2
    # YTD/YoY reach December of the next year; the supply leads' TTM a year earlier 23 months (to 2026-11)
    assert ind.affected_periods({D(2024, 12, 1)}, D(2024, 1, 1), D(2026, 6, 1)) == {
        D(2024, 12, 1), *(D(2025, m, 1) for m in range(1, 13)), *(D(2026, m, 1) for m in range(1, 7))}


def truth_warehouse() -> duckdb.DuckDBPyConnection:
    """core loaded straight from the planted truth files, so the comparison tests this stage alone.

    The truth holds no platforms or digital surveys; those come from the inbox files through
    flows.stages.s04_standardise, keeping rows that validation would keep (registered firm, maturity 1–5; a later file
    wins for the same firm and date).
    """
    import polars as pl

    from flows.stages.s04_standardise import standardise

    con = schema_warehouse()
    for table, name in (("clusters", "clusters_truth"), ("firms", "firms_truth"), ("firm_monthly", "monthly_truth"),
                        ("tax", "tax_truth"), ("procurement", "procurement_truth")):
        con.execute(f"INSERT INTO core.{table} BY NAME SELECT * FROM read_parquet('{TRUTH / name}.parquet')")
    inbox = ROOT / "data" / "sample" / "inbox"
    frames = {"platforms": [], "digital": []}
    for path in sorted(inbox.iterdir()):
        kind = path.name.split("_")[0]
        if kind in frames:
            frames[kind].append(standardise(path, kind).frame.drop("_row", strict=False))
    platforms = pl.concat(frames["platforms"]).unique(["platform_name", "cluster_id"], keep="last")  # noqa: F841
    digital = pl.concat(frames["digital"]).unique(["uscc", "survey_date"], keep="last")  # noqa: F841
    con.execute("INSERT INTO core.platforms BY NAME SELECT * FROM platforms "
                "WHERE cluster_id IN (SELECT cluster_id FROM core.clusters)")
    con.execute("INSERT INTO core.digital_surveys BY NAME SELECT * FROM digital "
                "WHERE uscc IN (SELECT uscc FROM core.firms) AND maturity BETWEEN 1 AND 5")
    return con


@pytest.mark.skipif(not (TRUTH / "indicators.parquet").exists(),
                    reason="planted truth data/sample/truth/indicators.parquet not generated yet "
                           "(flows.sample.generate writes it)")
def test_matches_planted_truth() -> None:
    """Every indicator of every cluster and month against the sample's planted truth (rel tol 1e-9)."""
    import pandas as pd

    con = truth_warehouse()
    update_indicators(con, None)
    truth = pd.read_parquet(TRUTH / "indicators.parquet")
    truth["period"] = pd.to_datetime(truth["period"]).dt.date
    got = con.execute("SELECT cluster_id, period, indicator, value FROM mart.cluster_indicators").df()
    got["period"] = pd.to_datetime(got["period"]).dt.date
    merged = truth.merge(got, on=["cluster_id", "period", "indicator"], how="left", suffixes=("_truth", ""),
                         indicator="found")
    assert (merged["found"] == "both").all(), merged[merged["found"] != "both"].head(20)
    bad = []
    for row in merged.itertuples():
        t, v = row.value_truth, row.value
        if pd.isna(t) and pd.isna(v):
            continue
        if pd.isna(t) or pd.isna(v) or not math.isclose(t, v, rel_tol=1e-9, abs_tol=1e-9):
            bad.append((row.cluster_id, row.period, row.indicator, t, v))
    by_indicator = pd.Series([b[2] for b in bad]).value_counts().to_dict() if bad else {}
    assert not bad, f"{len(bad)} mismatches {by_indicator}, first: {bad[:10]}"


def test_firm_ratings_kept_for_december_and_latest_period_and_on_demand() -> None:
    con = _rich_db()  # data 2024-01 .. 2025-06
    update_indicators(con, None)
    periods = {r[0] for r in con.execute("SELECT DISTINCT period FROM mart.firm_ratings").fetchall()}
    assert periods == {D(2024, 12, 1), D(2025, 6, 1)}
    ind.rate_firms(con, D(2024, 6, 1))
    n = con.execute("SELECT count(*) FROM mart.firm_ratings WHERE period = '2024-06-01'").fetchone()[0]
    assert n == 12  # every firm has a record in the window
    # The on-demand month goes at the next night; a new latest month replaces the previous provisional one.
    con.execute("INSERT INTO core.firm_monthly VALUES ('F00', '2025-07-01', 1, 5, NULL, 5, 0, 5, 1, 0)")
    update_indicators(con, {D(2025, 7, 1)})
    periods = {r[0] for r in con.execute("SELECT DISTINCT period FROM mart.firm_ratings").fetchall()}
    assert periods == {D(2024, 12, 1), D(2025, 7, 1)}


def test_the_stage_runs_its_sql_files_in_the_order_of_their_numbers() -> None:
    """sql/s07_indicators/ is numbered in run order (tests/test_sql_files.py checks the temp tables against the
    numbers); the stage must run the files in that order, on a full recompute and on an incremental night."""
    con = make_db(firms=[firm("F1"), firm("S1", adcode="320507")],
                  monthly=[rec("F1", D(2024, 12, 1), 10.0), rec("F1", D(2025, 1, 1), 12.0)],
                  procurement=[("F1", "S1", "s", None, D(2025, 1, 1), 5.0)])
    for changed in (None, {D(2025, 1, 1)}):
        update_indicators(con, changed)
        ran = [name for name in ind.last_timings if name != "state"]   # first run of each file, in order
        numbers = [int(sql_path(name).name.split("_", 1)[0]) for name in ran]
        assert numbers == sorted(numbers) and len(ran) >= 20, ran
