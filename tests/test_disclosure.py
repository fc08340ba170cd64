"""Disclosure control of the public edition against a determined reader.

Planted scenarios (tests/planted.py: a 2-firm cluster, a dominated cluster, a province with one cluster and
provinces with two and three, a month in which only 2 firms of a cluster report, 24 months so the first
year's TTM cells are partial windows) are published as two consecutive monthly editions. The recovery test
then plays the reader: from the public files only (table and trend CSVs, edition files) it runs the
differencing attack (out(m) = S(m) − S(m−1) + out(m−12) on TTM, the same on YTD) and the roll-up attack
(a total minus its shown parts bounds the hidden parts from above), and fails if any sensitive cell comes
back within the protection range. The same attack, run against the old pattern-only suppression, recovers
cells — so the attack is real.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from conftest import charts_unpainted, schema_warehouse
from planted import GAP_MONTH, LATEST, build
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from flows.stages import s07_indicators as indicators
from flows.stages import s10_alerts as alerts
from flows.stages.s11_report import render_report
from flows.support import disclosure, disclosure_audit

EDITIONS = (dt.date(2025, 11, 1), LATEST)
PROTECTION = disclosure.settings()["protection_range"]
Key = tuple[str, dt.date, str]


def _month(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def _add(period: dt.date, n: int) -> dt.date:
    y, m = divmod(period.year * 12 + period.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The planted warehouse with one alert on the 2-firm cluster, and its two public editions."""
    root = tmp_path_factory.mktemp("disclosure")
    wh = build(root / "w.duckdb")
    with duckdb.connect(str(wh)) as con:
        evidence = {"start": {"value": -0.5, "threshold": -0.1}, "latest": {"value": -0.5, "threshold": -0.1},
                    "months": 1}
        con.execute("INSERT INTO mart.alerts (alert_id, rule, subject, cluster_id, period, last_period, severity, "
                    "message_zh, message_en, evidence, status) VALUES ('a1', 'output_ytd_yoy_low', 'AH_TWO', "
                    "'AH_TWO', ?, ?, 'warning', '合肥双企产业集群工业总产值累计同比-50.0%', 'x', ?, 'new')",
                    [LATEST, LATEST, json.dumps(evidence)])
    with charts_unpainted():
        files = [render_report(wh, p, lang="zh", audience="public", out_dir=root / "out" / f"{p:%Y-%m}",
                               maps_dir=root / "maps", pdf=False) for p in EDITIONS]
    return wh, files


def _truth(wh: Path) -> tuple[dict[Key, float], set[Key]]:
    """Every additive cell's true value, and the sensitive ones by the rules' own definition, computed here
    from the core tables (fewer than 3 contributing firms, or the largest 2 firms above 85%)."""
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.execute("""
            WITH m AS (SELECT f.uscc, c.cluster_id, c.province, fm.period, fm.output
                       FROM core.firm_monthly fm JOIN core.firms f USING (uscc)
                       JOIN core.clusters c USING (cluster_id)),
                 t AS (SELECT DISTINCT period AS target FROM m),
                 cell AS (
                     SELECT t.target AS period, m.uscc, m.cluster_id, m.province,
                            sum(m.output) FILTER (WHERE m.period = t.target) AS output_month,
                            sum(m.output) FILTER (WHERE year(m.period) = year(t.target)) AS output_ytd,
                            sum(m.output) AS output_ttm
                     FROM t JOIN m ON m.period BETWEEN t.target - INTERVAL 11 MONTH AND t.target
                     GROUP BY ALL),
                 long AS (SELECT * FROM cell UNPIVOT (v FOR indicator IN (output_month, output_ytd, output_ttm))),
                 grp AS (SELECT unnest([cluster_id, 'P:' || province, 'ALL']) AS row_id, period, indicator, v
                         FROM long WHERE v IS NOT NULL AND v > 0),
                 ranked AS (SELECT *, row_number() OVER (PARTITION BY row_id, period, indicator ORDER BY v DESC) AS rn
                            FROM grp)
            SELECT row_id, period, indicator, sum(v), count(*), sum(v) FILTER (WHERE rn <= 2)
            FROM ranked GROUP BY ALL""").fetchall()
    values = {(r, p, i): v for r, p, i, v, _, _ in rows}
    sensitive = {(r, p, i) for r, p, i, v, n, top2 in rows if n < 3 or top2 > 0.85 * v}
    return values, sensitive


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _number(text: str) -> float | None:
    return None if text in ("", disclosure.SYMBOL) else float(text)


def _public_knowledge(files) -> dict[Key, float]:
    """What a reader holds: every number of the public CSVs and the edition files, as cells."""
    known: dict[Key, float] = {}
    for f in files:
        for row in _read_csv(f.tables[0]):
            if row["row_kind"] == "cluster" and _number(row["output_ttm"]) is not None:
                known[(row["cluster_id"], f.period, "output_ttm")] = _number(row["output_ttm"])
        names = {r["cluster_name"]: r["cluster_id"] for r in _read_csv(f.tables[0]) if r["row_kind"] == "cluster"}
        for row in _read_csv(f.tables[1]):
            row_id = "ALL" if row["row_kind"] == "total" else f"P:{row['province']}"
            for code in ("output_ttm", "output_ytd"):
                if _number(row[code]) is not None:
                    known[(row_id, f.period, code)] = _number(row[code])
        trend = next(p for p in f.chart_data if p.name == "trend_output_ttm.csv")
        for row in _read_csv(trend):
            for name, text in row.items():
                if name != "period" and _number(text) is not None:
                    known[(names[name], _month(row["period"]), "output_ttm")] = _number(text) * 1e4  # 亿元 → 万元
        for r, p, i, v in json.loads(f.edition.read_text(encoding="utf-8"))["published"]:
            known[(r, _month(p), i)] = v
    return known


def attack(known: dict[Key, float], members: dict[str, list[str]], months: list[dt.date]
           ) -> tuple[dict[Key, float], dict[Key, float]]:
    """The reader's differencing and roll-up attacks, repeated until nothing new comes out.

    Returns exact recoveries and upper bounds (a total minus its shown parts bounds every hidden part).
    """
    exact = dict(known)
    first = months[0]
    rows = list(members)
    # total = Σ parts: each province over its clusters, all over clusters, all over provinces.
    relations = [(t, p) for t, p in members.items() if p != [t]]
    relations.append(("ALL", sorted(r for r in rows if r.startswith("P:"))))
    changed = True
    while changed:
        changed = False

        def put(key: Key, value: float) -> None:
            nonlocal changed
            if key not in exact:
                exact[key] = value
                changed = True

        for row in rows:
            for m in months:
                prev, year_ago = _add(m, -1), _add(m, -12)
                out_ago = 0.0 if year_ago < first else exact.get((row, year_ago, "output_month"))
                ttm, ttm_prev = exact.get((row, m, "output_ttm")), (0.0 if m == first else
                                                                     exact.get((row, prev, "output_ttm")))
                if ttm is not None and ttm_prev is not None and out_ago is not None:
                    put((row, m, "output_month"), ttm - ttm_prev + out_ago)       # differencing on TTM
                ytd, ytd_prev = exact.get((row, m, "output_ytd")), (0.0 if m.month == 1 or m == first else
                                                                     exact.get((row, prev, "output_ytd")))
                if ytd is not None and ytd_prev is not None:
                    put((row, m, "output_month"), ytd - ytd_prev)                # differencing on YTD
                outs = [0.0 if k < first else exact.get((row, k, "output_month")) for k in
                        (_add(m, -j) for j in range(12))]
                if all(o is not None for o in outs):
                    put((row, m, "output_ttm"), sum(outs))
                ytd_outs = [exact.get((row, k, "output_month")) for k in months if k.year == m.year and k <= m]
                if all(o is not None for o in ytd_outs):
                    put((row, m, "output_ytd"), sum(ytd_outs))
        for total, parts in relations:
            for m in months:
                for code in disclosure_audit.ADDITIVE:
                    whole = exact.get((total, m, code))
                    hidden = [p for p in parts if (p, m, code) not in exact]
                    if whole is not None and len(hidden) == 1:                       # roll-up, exact
                        put((hidden[0], m, code), whole - sum(exact[(p, m, code)] for p in parts if p != hidden[0]))
                    if whole is None and not hidden:                                 # a hidden total
                        put((total, m, code), sum(exact[(p, m, code)] for p in parts))
    upper: dict[Key, float] = {}
    for total, parts in relations:
        for m in months:
            for code in disclosure_audit.ADDITIVE:
                whole = exact.get((total, m, code))
                if whole is None:
                    continue
                rest = whole - sum(exact.get((p, m, code), 0.0) for p in parts)
                for p in parts:
                    if (p, m, code) not in exact:
                        upper[(p, m, code)] = min(upper.get((p, m, code), math.inf), rest)
    return exact, upper


def _exposed(exact: dict[Key, float], upper: dict[Key, float], truth: dict[Key, float], sensitive: set[Key],
             months: list[dt.date]) -> list[str]:
    """Sensitive cells the attack pins within the protection range (exactly, or bounded above too closely)."""
    out = []
    for key in sorted(sensitive, key=str):
        if key[1] not in months or truth[key] <= 0:
            continue
        v = truth[key]
        if key in exact and abs(exact[key] - v) < PROTECTION * v:
            out.append(f"{key} recovered as {exact[key]:.2f} (true {v:.2f})")
        elif key in upper and upper[key] < (1 + PROTECTION) * v:
            out.append(f"{key} bounded by {upper[key]:.2f} (true {v:.2f})")
    return out


def _members(wh: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return disclosure_audit.members_of(dict(con.execute(
            "SELECT cluster_id, province FROM core.clusters").fetchall()))


def test_recovery_attacks_on_the_public_editions_get_no_sensitive_cell_within_the_protection_range(published):
    wh, files = published
    truth, sensitive = _truth(wh)
    months = sorted({k[1] for k in truth})
    exact, upper = attack(_public_knowledge(files), _members(wh), months)
    assert len(exact) > 400  # the reader does derive a lot: only protection is asked, not silence
    assert _exposed(exact, upper, truth, sensitive, months) == []


def test_the_same_attacks_break_pattern_only_suppression(published):
    """Without the audit (primary + roll-up pattern rules only, every shown additive cell published) the
    differencing and roll-up attacks recover sensitive cells: the recovery test above has teeth."""
    wh, _ = published
    exposed = _pattern_only_exposed(wh)
    assert any(f"('JS_B', datetime.date({GAP_MONTH.year}, {GAP_MONTH.month}, 1), 'output_month')" in e
               for e in exposed), exposed  # the month only 2 firms reported, by differencing TTM/YTD
    assert any("AH_DOM" in e or "安徽" in e for e in exposed), exposed  # the dominated cluster, by roll-up


def _pattern_only_exposed(wh: Path) -> list[str]:
    """The attacks against primary + roll-up pattern suppression alone (every shown additive cell out)."""
    truth, sensitive = _truth(wh)
    months = sorted({k[1] for k in truth})
    with duckdb.connect(str(wh), read_only=True) as con:
        frame = disclosure.panel(con, months)
        status = disclosure.primary(frame, "public", disclosure.contributions(con, months))
    values = {(r, p, i): v for r, p, i, v in frame.select("row_id", "period", "indicator", "value").rows()}
    status = disclosure.secondary(values, status, disclosure.relations(frame))
    known = {k: v for k, v in values.items() if k[2] in disclosure_audit.ADDITIVE and k not in status
             and v is not None}
    return _exposed(*attack(known, _members(wh), months), truth, sensitive, months)


def test_every_edition_is_audited_and_records_the_result(published):
    _, files = published
    for f in files:
        body = json.loads(f.edition.read_text(encoding="utf-8"))
        audit = body["audit"]
        assert audit["passed"] and audit["cells_checked"] > 300
        assert audit["min_protection"] >= PROTECTION
        assert audit["protection_range"] == PROTECTION and "highs" in audit["solver"]
        html = f.html.read_text(encoding="utf-8")
        assert 'id="disclosure-audit"' in html and f"审核单元格{audit['cells_checked']}个" in html
    second = json.loads(files[1].edition.read_text(encoding="utf-8"))
    assert second["earlier_editions"] == [files[0].edition.name]
    assert second["audit"]["earlier_edition_cells"] > 0


def test_editions_stay_consistent_what_one_withheld_the_next_withholds(published):
    _, files = published
    first, second = (json.loads(f.edition.read_text(encoding="utf-8")) for f in files)
    withheld_later = {tuple(k) for k in second["withheld"]}
    assert {tuple(k) for k in first["withheld"]} <= withheld_later
    shown_later = {(r, p, i) for r, p, i, _ in second["published"]}
    assert not shown_later & {tuple(k) for k in first["withheld"]}


def test_planted_scenarios_are_withheld_where_the_rules_say(published):
    wh, files = published
    rows = {r["cluster_id"]: r for r in _read_csv(files[1].tables[0])}
    provinces = {r["province"]: r for r in _read_csv(files[1].tables[1])}
    assert rows["AH_TWO"]["output_ttm"] == disclosure.SYMBOL        # 2 firms
    assert rows["AH_DOM"]["output_ttm"] == disclosure.SYMBOL        # one firm ≈95%
    assert rows["AH_DOM"]["scale_tier"] == disclosure.SYMBOL        # the tier would give the output's range
    assert provinces["云南省"]["output_ttm"] == disclosure.SYMBOL     # the province is its 2-firm cluster
    assert provinces["安徽省"]["output_ttm"] == disclosure.SYMBOL
    # Partial-window TTM: in the first month TTM = that month's output; a sensitive month is never shown.
    trend = {r["period"]: r for r in _read_csv(next(p for p in files[1].chart_data
                                                    if p.name == "trend_output_ttm.csv"))}
    assert all(trend[m]["合肥双企产业集群"] == "" for m in trend)


def test_alert_text_never_carries_a_value_its_table_withholds(published):
    _, files = published
    html = files[1].html.read_text(encoding="utf-8")
    assert "-50.0%" not in html and "工业总产值累计同比—*" in html and "合肥双企产业集群" in html


def test_internal_digest_withholds_values_of_clusters_with_fewer_than_3_firms(published):
    wh, _ = published
    with duckdb.connect(str(wh), read_only=True) as con:
        row = dict(zip(["rule", "subject", "cluster_id", "period", "evidence"], con.execute(
            "SELECT rule, subject, cluster_id, period, evidence FROM mart.alerts").fetchone(), strict=True))
        frame = disclosure.protect(con, [LATEST], "internal")
    shown = {(r, p, i): v for r, p, i, v in frame.select("row_id", "period", "indicator", "shown").rows()}
    assert alerts.quotes_withheld(row, lambda r, p, i: shown.get((r, p, i)))
    text = alerts.stored_message(row, "zh", "合肥双企产业集群", withhold=True)
    assert "—*" in text and "50" not in text.replace("预警线-10%", "")


def test_lp_bounds_are_the_tightest_a_reader_can_derive():
    """A province of clusters a, b over one month: with the province and b published, a is exact; with b
    withheld too, a lies in [0, province]."""
    m = dt.date(2025, 1, 1)
    members = {"a": ["a"], "b": ["b"], "P:x": ["a", "b"]}
    key_a, key_b, key_p = (("a", m, "output_month"), ("b", m, "output_month"), ("P:x", m, "output_month"))
    found, support, _ = disclosure_audit.bounds(disclosure_audit.Model(members, m), {key_p: 10.0, key_b: 4.0},
                                                {key_a: 6.0})
    assert found[0].low == pytest.approx(6.0) and found[0].high == pytest.approx(6.0)
    assert set(support[key_a]["low"]) == {key_p, key_b}
    found, _, _ = disclosure_audit.bounds(disclosure_audit.Model(members, m), {key_p: 10.0}, {key_a: 6.0})
    assert found[0].low == pytest.approx(0.0) and found[0].high == pytest.approx(10.0)
    # Differencing: TTM of consecutive months and the month a year earlier give the month.
    first = dt.date(2024, 1, 1)
    ttm = {("a", p, "output_ttm"): v for p, v in ((dt.date(2024, 12, 1), 120.0), (dt.date(2025, 1, 1), 125.0))}
    ttm[("a", first, "output_month")] = 10.0
    found, _, _ = disclosure_audit.bounds(disclosure_audit.Model({"a": ["a"]}, first), ttm,
                                          {("a", dt.date(2025, 1, 1), "output_month"): 15.0})
    assert found[0].low == pytest.approx(15.0) and found[0].high == pytest.approx(15.0)


def test_the_audit_solver_gives_linprogs_bounds_and_dual_support_bit_for_bit():
    """The audit drives scipy's HiGHS directly (disclosure_audit.Block) for speed; the complementary cells it
    withholds follow the duals, so on blocks shaped like the audit's (0/1 sums of non-negative monthly
    outputs, degenerate as published tables are) every optimum, the cells with a non-zero dual and every
    unbounded side must be exactly what scipy.optimize.linprog(method="highs") gives — also with no published
    cell at all, and when an LP met before is answered from memory."""
    rng = np.random.default_rng(7)
    for rows, cols in ((40, 60), (120, 90), (0, 12)):
        a = (rng.random((rows, cols)) < 0.08).astype(float)
        a[:, rng.integers(cols)] = 0.0                              # a variable no cell bounds: max unbounded
        b = a @ rng.integers(0, 5, cols).astype(float)              # integral sums: degenerate vertices
        objectives = []
        for _ in range(20):
            c = np.zeros(cols)
            c[rng.choice(cols, size=int(rng.integers(1, 4)), replace=False)] = 1.0
            objectives += [c, -c]
        for block in (disclosure_audit.Block(csr_matrix(a), b), disclosure_audit.Block(csr_matrix(a), b)):
            for c in objectives:
                ref = linprog(c, A_eq=a if rows else None, b_eq=b if rows else None, bounds=(0, None),
                              method="highs")
                got = block.minimum(c, ("x", dt.date(2025, 1, 1), "output_month"))
                if ref.status == 3:
                    assert got is None
                    continue
                assert ref.status == 0 and got is not None
                assert got[0] == ref.fun
                assert np.array_equal(got[1], np.flatnonzero(np.abs(ref.eqlin.marginals) > 1e-12)
                                      if rows else np.zeros(0))
        assert block.solved == 0   # the second block, the same as the first, was answered from memory


def test_a_sensitive_cell_pinned_by_earlier_editions_refuses_the_edition():
    m = dt.date(2025, 1, 1)
    members = {"a": ["a"], "b": ["b"], "P:x": ["a", "b"]}
    values = {("a", m, "output_month"): 6.0, ("b", m, "output_month"): 4.0, ("P:x", m, "output_month"): 10.0}
    with pytest.raises(disclosure_audit.DisclosureError, match="a/2025-01/output_month"):
        disclosure_audit.audit_and_complete(values, {("a", m, "output_month"): "few"}, members, m,
                                            {("b", m, "output_month"): 4.0, ("P:x", m, "output_month"): 10.0},
                                            0.15, 5, lambda st: st)
    status, audit = disclosure_audit.audit_and_complete(values, {("a", m, "output_month"): "few"}, members, m,
                                                        {}, 0.15, 5, lambda st: st)
    assert status[("b", m, "output_month")] == "complementary" and audit.passed and audit.complementary == 1


def test_linked_growth_is_withheld_with_either_years_output():
    m = dt.date(2025, 3, 1)
    values = {("c", m, "output_ytd_yoy"): 0.1, ("c", m, "output_ytd"): 5.0,
              ("c", m.replace(year=2024), "output_ytd"): 4.5}
    assert disclosure.linked(values, {("c", m.replace(year=2024), "output_ytd"): "few"})[
        ("c", m, "output_ytd_yoy")] == "linked"
    assert disclosure.linked(values, {}) == {}


def test_protected_frame_only_shows_cells_without_status(published):
    wh, _ = published
    with duckdb.connect(str(wh), read_only=True) as con:
        frame = disclosure.protect_edition(con, [LATEST], "public").frame
    assert frame.filter(pl.col("status").is_not_null() & pl.col("shown").is_not_null()).height == 0
    counts = defaultdict(int)
    for s in frame["status"].drop_nulls():
        counts[s] += 1
    assert counts["few"] and counts["dominance"]


# ------------------------------------------------------------------------------ the issue's scenario


@pytest.fixture(scope="module")
def sample_scenario(sample_warehouse, tmp_path_factory):
    """The bundled sample with the scenario the attacks were first run on: only 2 firms of 长沙 CS_CM report
    in January 2025 (its TTM cells around it have ≈150 firms), and one firm of 合肥 HF_AI dominates its
    output; marts recomputed, two consecutive public editions."""
    root = tmp_path_factory.mktemp("scenario")
    wh = root / "clusterwatch.duckdb"
    shutil.copyfile(sample_warehouse.warehouse, wh)
    with duckdb.connect(str(wh)) as con:
        con.execute("""DELETE FROM core.firm_monthly WHERE period = DATE '2025-01-01' AND uscc IN (
                           SELECT uscc FROM core.firm_monthly JOIN core.firms USING (uscc)
                           WHERE cluster_id = 'CS_CM' AND period = DATE '2025-01-01' ORDER BY uscc OFFSET 2)""")
        con.execute("""UPDATE core.firm_monthly SET output = output * 2000 WHERE uscc = (
                           SELECT uscc FROM core.firms WHERE cluster_id = 'HF_AI' ORDER BY uscc LIMIT 1)""")
        indicators.update_indicators(con, None)
    with charts_unpainted():
        files = [render_report(wh, p, lang="zh", audience="public", out_dir=root / "out" / f"{p:%Y-%m}",
                               maps_dir=root / "maps", pdf=False) for p in EDITIONS]
    return wh, files


def test_the_attacks_from_the_issue_recover_nothing_from_the_samples_public_editions(sample_scenario):
    wh, files = sample_scenario
    truth, sensitive = _truth(wh)
    assert any(k[0] == "CS_CM" for k in sensitive) and any(k[0] == "HF_AI" for k in sensitive)
    months = sorted({k[1] for k in truth})
    exact, upper = attack(_public_knowledge(files), _members(wh), months)
    assert _exposed(exact, upper, truth, sensitive, months) == []
    january = "('CS_CM', datetime.date(2025, 1, 1), 'output_month')"
    assert any(january in e for e in _pattern_only_exposed(wh))  # what the issue found, before the audit
    for f in files:
        audit = json.loads(f.edition.read_text(encoding="utf-8"))["audit"]
        assert audit["passed"] and audit["min_protection"] >= PROTECTION and audit["cells_checked"] > 100


def test_a_cell_confidential_only_after_a_revision_is_reported_not_audited():
    """An earlier edition showed a's value; a revision makes a confidential: the audit names it (nothing can
    withdraw a published value) and protects the rest."""
    m = dt.date(2025, 1, 1)
    members = {"a": ["a"], "b": ["b"], "P:x": ["a", "b"]}
    values = {("a", m, "output_month"): 6.0, ("b", m, "output_month"): 4.0, ("P:x", m, "output_month"): 10.0}
    status, audit = disclosure_audit.audit_and_complete(values, {("a", m, "output_month"): "few"}, members, m,
                                                        {("a", m, "output_month"): 6.0}, 0.15, 5, lambda st: st)
    assert audit.passed and audit.out_before == ["a/2025-01/output_month"] and audit.cells_checked == 0


def test_the_public_map_withholds_what_the_edition_withholds(published):
    _, files = published
    edition = json.loads(files[1].edition.read_text(encoding="utf-8"))
    withheld = {(r, i) for r, p, i in edition["withheld"] if p == f"{LATEST:%Y-%m}"}
    folder = files[1].map_png.parent
    geo = json.loads(next(folder.glob("*.geojson")).read_text(encoding="utf-8"))
    html = next(folder.glob("*.html")).read_text(encoding="utf-8")
    payload = json.loads(html.split('<script type="application/json" id="data">')[1].split("</script>")[0])
    drawn = {c["cluster_id"]: c for c in payload["clusters"]}
    hidden_on_map = 0
    for feature in geo["features"]:
        cid, props = feature["id"], feature["properties"]
        for code in ("output_ttm", "local_supporting_rate", "per_mu_tax", "output_ytd_yoy", "cloud_rate"):
            if (cid, code) in withheld:
                hidden_on_map += 1
                assert props[code] is None and drawn[cid][code] is None, (cid, code)
        if (cid, "output_ttm") in withheld:
            assert props["scale_tier"] is None
    assert hidden_on_map >= 3 and "前2家企业占比超过85%" in html
    assert files[1].map_png.stat().st_size > 50_000


def test_an_older_month_rendered_again_keeps_what_a_newer_edition_withheld(published, tmp_path):
    wh, files = published
    out = tmp_path / "out"
    shutil.copytree(files[0].html.parent.parent, out)
    with charts_unpainted():
        again = render_report(wh, EDITIONS[0], lang="zh", audience="public", out_dir=out / f"{EDITIONS[0]:%Y-%m}",
                              maps_dir=tmp_path / "maps", pdf=False)
    body = json.loads(again.edition.read_text(encoding="utf-8"))
    newer = json.loads(files[1].edition.read_text(encoding="utf-8"))
    assert files[1].edition.name in body["earlier_editions"]
    in_panel = {(r, p) for r, p, _ in body["withheld"]} | {(r, p) for r, p, _, _ in body["published"]}
    withheld = {tuple(k) for k in body["withheld"]}
    assert {tuple(k) for k in newer["withheld"] if (k[0], k[1]) in in_panel} <= withheld


def test_labour_productivity_is_withheld_when_one_firm_dominates_the_headcount(tmp_path):
    """Output TTM shown ÷ labour productivity shown = the mean headcount: a headcount dominated by one firm
    makes labour productivity confidential although the output is not."""
    wh = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(wh)) as con:
        con.execute("UPDATE core.firm_monthly SET employees = 5000 WHERE uscc = (SELECT min(uscc) FROM core.firms "
                    "WHERE cluster_id = 'HN_C')")
        indicators.update_indicators(con, None)
        frame = disclosure.protect_edition(con, [LATEST], "public").frame
    status = {(r, i): s for r, p, i, s in frame.select("row_id", "period", "indicator", "status").rows()}
    assert status[("HN_C", "labour_productivity")] == "dominance" and status[("HN_C", "output_ttm")] is None


def test_the_all_cluster_row_is_the_exact_sum_whatever_order_the_clusters_are_added_in():
    """Ω = 0.1 + 0.2 + 0.3: added as doubles in file order the sum is 0.6000000000000001 (and 0.6 in another
    order, so the report's total row changed in its last digits from one night to the next); summed exactly, as
    the province roll-up is, it is 0.6 — and a ratio's Σ numerator / Σ denominator likewise."""
    con = schema_warehouse()
    con.execute("INSERT INTO core.clusters (cluster_id, province) VALUES ('A', '甲'), ('B', '甲'), ('C', '乙')")
    period = dt.date(2025, 12, 1)
    con.executemany("INSERT INTO mart.cluster_indicators (cluster_id, period, indicator, value, numerator, "
                    "denominator, n_firms) VALUES (?, ?, ?, ?, ?, ?, 3)",
                    [[cid, period, "output_ttm", v, None, None] for cid, v in (("A", 0.1), ("B", 0.2), ("C", 0.3))]
                    + [[cid, period, "local_supporting_rate", n / 0.3, n, 0.3]
                       for cid, n in (("A", 0.1), ("B", 0.2), ("C", 0.3))])
    frame = disclosure.panel(con, [period]).filter(pl.col("row_id") == "ALL")
    got = dict(frame.select("indicator", "value").rows())
    assert (0.1 + 0.2) + 0.3 != 0.6      # the doubles' sum in file order is not the exact one
    assert got["output_ttm"] == 0.6
    assert got["local_supporting_rate"] == 0.6 / 0.9
