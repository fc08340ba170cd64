"""Supply-chain view (chain map, 补链招商 leads, weak links) and the cluster development index.

Hand-worked cases from rows the tests insert, incremental == full, and the sample night against the planted truth
(flows/sample_truth.chain and cluster_index: polars, independent of the SQL).
"""

from __future__ import annotations

import base64
import copy
import csv
import datetime as dt
import math
import re

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_UNDER_TEST, charts_unpainted
from polars.testing import assert_frame_equal
from test_indicators import _rich_db, firm, make_db, rec

from flows.stages import s07_indicators as ind
from flows.stages.s07_indicators import chain_index_config, update_indicators
from flows.support import disclosure

D = dt.date
TRUTH = SAMPLE_UNDER_TEST / "truth"
KEYS = {
    "chain_flows": ["cluster_id", "period", "buyer_segment", "supplier_group", "supplier_segment"],
    "chain_segments": ["cluster_id", "period", "segment"],
    "supply_leads": ["cluster_id", "period", "rank"],
    "cluster_index": ["cluster_id", "period"],
}


def _segments(con: duckdb.DuckDBPyConnection, segments: dict[str, str]) -> None:
    for uscc, seg in segments.items():
        con.execute("UPDATE core.firms SET chain_segment = ? WHERE uscc = ?", [seg, uscc])


def _mart(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> pl.DataFrame:
    return con.execute(f"SELECT * FROM mart.{table} WHERE {where} ORDER BY {', '.join(KEYS[table])}").pl()


def _chain_db() -> duckdb.DuckDBPyConnection:
    """C1 (Suzhou 320506, city scope) buys from a member, a local non-member, elsewhere in Jiangsu, Beijing and an
    unknown place; 2024 holds one earlier purchase from the Beijing supplier."""
    con = make_db(
        clusters=[("C1", "江苏", "320506", "电子", "city")],
        firms=[firm("A", "C1", "320506"), firm("B", "C1", "320506")],
        monthly=[rec("A", D(2024, 1, 1), 50.0), rec("A", D(2025, 6, 1), 100.0), rec("B", D(2025, 6, 1), 30.0)],
        procurement=[
            ("A", None, "旧账", "110105", D(2024, 1, 1), 1.0),
            ("A", "X", "北京甲", "110105", D(2024, 3, 1), 25.0),
            ("A", "B", "B名", None, D(2025, 1, 1), 10.0),  # member: segment from the registry, location 320506
            ("A", None, "本地乙", "320507", D(2025, 2, 1), 20.0),
            ("A", None, "无锡丙", "320211", D(2025, 3, 1), 30.0),
            ("A", "X", "北京甲", "110105", D(2025, 4, 1), 40.0),
            ("A", "X", "北京甲", "110105", D(2025, 12, 1), 5.0),
            ("A", None, "某丁", None, D(2025, 5, 1), 15.0),
            ("B", "X", "北京甲", "110105", D(2025, 7, 1), 5.0),
        ])
    _segments(con, {"A": "整机制造", "B": "核心零部件"})
    update_indicators(con, None)
    return con


def test_flows_split_members_by_segment_and_outside_suppliers_by_location() -> None:
    con = _chain_db()
    flows = _mart(con, "chain_flows", "period = DATE '2025-12-01'")
    got = {(r["buyer_segment"], r["supplier_segment"]): (r["supplier_group"], r["amount_ttm"], r["local_share"])
           for r in flows.iter_rows(named=True)}
    assert got == {
        ("整机制造", "核心零部件"): ("member", 10.0, 1.0),
        ("整机制造", "外部·本地非成员"): ("local", 20.0, 1.0),
        ("整机制造", "外部·省内其他地区"): ("province", 30.0, 0.0),
        ("整机制造", "外部·外省"): ("other_province", 45.0, 0.0),
        ("整机制造", "外部·所在地不明"): ("unknown", 15.0, 0.0),
        ("核心零部件", "外部·外省"): ("other_province", 5.0, 0.0),
    }
    a = flows.filter(pl.col("buyer_segment") == "整机制造")
    assert a["buyer_segment_local_share"].to_list() == [30 / 120] * 5
    assert a.filter(pl.col("supplier_group") == "province")["share_of_buyer_segment"].item() == 30 / 120
    assert a.filter(pl.col("supplier_group") == "province")["share_of_cluster"].item() == 30 / 125
    # the segments' local purchases add up to the cluster's local supporting rate
    rate = con.execute("SELECT value FROM mart.cluster_indicators WHERE period = '2025-12-01' "
                       "AND indicator = 'local_supporting_rate'").fetchone()[0]
    assert rate == pytest.approx(flows["local_amount_ttm"].sum() / flows["amount_ttm"].sum()) == 30 / 125


def test_leads_rank_non_local_outsiders_with_location_buyers_segments_and_last_year() -> None:
    con = _chain_db()
    leads = _mart(con, "supply_leads", "period = DATE '2025-12-01'")
    assert leads.select("rank", "supplier_key", "supplier_uscc", "province", "city", "location_class", "amount_ttm",
                        "n_buying_firms", "segments", "main_segment").rows() == [
        (1, "X", "X", "北京市", "北京市", "other_province", 50.0, 2, ["整机制造", "核心零部件"], "整机制造"),
        (2, "无锡丙", None, "江苏省", "无锡市", "province", 30.0, 1, ["整机制造"], "整机制造"),
        (3, "某丁", None, None, None, "unknown", 15.0, 1, ["整机制造"], "整机制造"),
    ]  # the member B and the local 本地乙 are no leads
    x = leads.row(0, named=True)
    assert (x["share_of_purchases"], x["amount_prev_ttm"], x["change_amount"], x["change_rate"]) == (
        50 / 125, 25.0, 25.0, 1.0)
    assert leads["amount_prev_ttm"].to_list() == [25.0, 0.0, 0.0]
    assert leads["change_rate"].to_list()[1:] == [None, None]  # nothing a year earlier: no growth rate
    # 2025-06 (window 2024-07..2025-06): the window a year earlier starts before the data (2024-01): no comparison
    june = _mart(con, "supply_leads", "period = DATE '2025-06-01'")
    assert june.select("supplier_key", "amount_ttm").rows() == [("X", 40.0), ("无锡丙", 30.0), ("某丁", 15.0)]
    assert june["amount_prev_ttm"].null_count() == june.height and june["change_rate"].null_count() == june.height


def test_a_leads_segments_run_from_the_largest_amount_down_with_equal_amounts_by_name() -> None:
    """Ties on the amount are broken by the segment's name; a zero and a negative amount (a refund) come last, in
    that order (indicators_leads.sql sorts the segments as a list, not with an ordered aggregate)."""
    segs = {"A": "b-seg", "B": "a-seg", "C": "c-seg", "D": "d-seg", "E": "e-seg"}
    amounts = {"A": 20.0, "B": 20.0, "C": 30.0, "D": 0.0, "E": -5.0}
    con = make_db(firms=[firm(u) for u in segs], monthly=[rec(u, D(2025, 6, 1), 1.0) for u in segs],
                  procurement=[(u, "X", "北京甲", "110105", D(2025, 6, 1), a) for u, a in amounts.items()])
    _segments(con, segs)
    update_indicators(con, None)
    lead = _mart(con, "supply_leads", "period = DATE '2025-06-01'")
    assert lead.select("supplier_key", "segments", "main_segment").rows() == [
        ("X", ["c-seg", "a-seg", "b-seg", "d-seg", "e-seg"], "c-seg")]


def test_segments_count_firms_and_add_up_to_the_cluster_output() -> None:
    con = _chain_db()
    seg = _mart(con, "chain_segments", "period = DATE '2025-06-01'")
    assert seg.select("segment", "n_firms", "output_ttm", "n_firms_contrib", "top2_output_ttm", "purchases_ttm",
                      "local_share").rows() == [
        ("整机制造", 1, 100.0, 1, 100.0, 115.0, 30 / 115), ("核心零部件", 1, 30.0, 1, 30.0, None, None)]
    assert seg["weak_reason"].to_list() == ["too_few_peers", "no_purchases"]
    assert seg["weak_link"].to_list() == [None, None]


def test_weak_link_is_a_segment_buying_locally_far_less_than_its_domain_peers() -> None:
    clusters = [("C1", "江苏", "320506", "汽车", "city"), ("C2", "江苏", "320211", "汽车", "city"),
                ("C3", "江苏", "320102", "汽车", "city"), ("C4", "江苏", "320402", "医药", "city")]
    firms, procurement = [], []
    # local share of segment 零部件: C1 0.2, C2 0.6, C3 0.8 (peers' medians 0.7, 0.5, 0.4); C4 has no peer
    for c, (adcode, local) in zip(("C1", "C2", "C3", "C4"), (("320506", 2), ("320211", 6), ("320102", 8),
                                                             ("320402", 1)), strict=True):
        firms.append(firm(f"{c}F", c, adcode))
        procurement += [(f"{c}F", None, "本地", adcode, D(2025, 1, 1), float(local)),
                        (f"{c}F", None, "外地", "110105", D(2025, 1, 1), float(10 - local))]
    con = make_db(clusters=clusters, firms=firms, procurement=procurement)
    _segments(con, {f"{c}F": "零部件" for c in ("C1", "C2", "C3", "C4")})
    update_indicators(con, None)
    seg = _mart(con, "chain_segments")
    cols = ("cluster_id", "local_share", "peer_local_share", "n_peers", "weak_link", "weak_reason")
    assert seg.select(cols).rows() == [
        ("C1", 0.2, pytest.approx(0.7), 2, True, None), ("C2", 0.6, pytest.approx(0.5), 2, False, None),
        ("C3", 0.8, pytest.approx(0.4), 2, False, None), ("C4", 0.1, None, 0, None, "too_few_peers")]


def test_index_normalises_each_indicator_across_clusters_by_its_direction(monkeypatch) -> None:
    con = _rich_db()
    update_indicators(con, None)
    period = D(2025, 6, 1)
    idx = {r["cluster_id"]: r for r in _mart(con, "cluster_index", f"period = DATE '{period}'").iter_rows(named=True)}
    energy = dict(con.execute("SELECT cluster_id, value FROM mart.cluster_indicators WHERE period = ? "
                              "AND indicator = 'energy_intensity'", [period]).fetchall())
    x = {c: math.log(v) for c, v in energy.items()}  # transform = "log" in flows/registry/chain_index.toml
    lo, hi = min(x.values()), max(x.values())
    assert lo < hi
    for c, v in x.items():  # lower is better: the least energy per output scores 100
        assert idx[c]["green"] == pytest.approx(100 * (hi - v) / (hi - lo))
    weights = {d["code"]: d["weight"] for d in chain_index_config()["index"]["dimension"]}
    for r in idx.values():
        dims = {d: r[d] for d in weights if r[d] is not None}
        assert r["missing_dimensions"] == sorted(set(weights) - set(dims))
        assert r["total"] == pytest.approx(sum(weights[d] * s for d, s in dims.items())
                                           / sum(weights[d] for d in dims))
    assert sorted(r["rank"] for r in idx.values()) == [1, 2, 3]
    assert max(idx.values(), key=lambda r: r["total"])["rank"] == 1
    # percentile: ranks by direction, 0 for the worst and 100 for the best of three
    cfg = copy.deepcopy(chain_index_config())
    cfg["index"]["method"] = "percentile"
    monkeypatch.setattr(ind, "chain_index_config", lambda: cfg)
    update_indicators(con, None)
    green = dict(con.execute("SELECT cluster_id, green FROM mart.cluster_index WHERE period = ?", [period]).fetchall())
    order = sorted(energy, key=energy.get)
    assert [green[c] for c in order] == [100.0, 50.0, 0.0]


def test_index_config_refuses_a_neutral_indicator_or_weights_not_summing_to_one(monkeypatch, tmp_path) -> None:
    text = ind.CHAIN_INDEX_PATH.read_text(encoding="utf-8")
    for bad, message in ((text.replace('code = "energy_intensity"', 'code = "hhi"'), "hhi"),
                         (text.replace("weight = 0.20", "weight = 0.30"), "sum to 1")):
        path = tmp_path / "chain_index.toml"
        path.write_text(bad, encoding="utf-8")
        monkeypatch.setattr(ind, "CHAIN_INDEX_PATH", path)
        ind.chain_index_config.cache_clear()
        with pytest.raises(ValueError, match=message):
            ind.chain_index_config()
    ind.chain_index_config.cache_clear()


def test_leads_are_the_top_suppliers_by_ttm_amount_when_most_suppliers_fall_below_the_cut(monkeypatch) -> None:
    """With max_leads = 2 most suppliers are dropped before the window sums (indicators_chain.sql): the leads must
    still be the two largest TTM amounts of all suppliers, ties by key — including a supplier of many small months,
    one whose later return (a negative amount) takes it below the cut, and two equal amounts."""
    cfg = copy.deepcopy(chain_index_config())
    cfg["chain"]["max_leads"] = 2
    monkeypatch.setattr(ind, "chain_index_config", lambda: cfg)
    rows = [("多月", m, 10.0) for m in range(1, 7)] + [("大单", 3, 100.0), ("退货", 2, 80.0), ("退货", 4, -50.0),
                                                       ("平甲", 6, 45.0), ("平乙", 6, 45.0)]
    rows += [(f"小{i:02d}", 1 + i % 6, float(1 + i)) for i in range(20)]
    con = make_db(firms=[firm("A")], monthly=[rec("A", D(2025, m, 1), 1.0) for m in range(1, 7)],
                  procurement=[("A", None, key, "110105", D(2025, m, 1), amount) for key, m, amount in rows])
    update_indicators(con, None)
    got = con.execute("SELECT period, rank, supplier_key, amount_ttm FROM mart.supply_leads "
                      "ORDER BY period, rank").fetchall()
    want = []
    for m in range(1, 7):
        ttm: dict[str, float] = {}
        for key, month, amount in rows:
            if month <= m:
                ttm[key] = ttm.get(key, 0.0) + amount
        top = sorted(ttm.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        want += [(D(2025, m, 1), r, key, amount) for r, (key, amount) in enumerate(top, start=1)]
    assert got == want
    assert ("退货", 80.0) in [(k, a) for _, _, k, a in want] and ("退货", 30.0) not in [(k, a) for _, _, k, a in want]
    assert [(k, a) for p, _, k, a in want if p == D(2025, 6, 1)] == [("大单", 100.0), ("多月", 60.0)]


def test_chain_marts_incremental_equal_full_recompute() -> None:
    inc, ref = _rich_db(), _rich_db()
    for con in (inc, ref):
        _segments(con, {f"F{i:02d}": ("上游", "中游", "下游")[i % 3] for i in range(11)})
    update_indicators(inc, None)
    change = ("UPDATE core.procurement SET supplier_adcode = '110105', amount = amount + 3 "
              "WHERE period = '2024-05-01'; "
              "INSERT INTO core.procurement VALUES ('F04', 'F07', 'n', NULL, '2024-09-01', 9, 1, 1)")
    for con in (inc, ref):
        con.execute(change)
    update_indicators(inc, {D(2024, 5, 1), D(2024, 9, 1)})
    update_indicators(ref, None)
    for table in KEYS:
        a, b = _mart(inc, table), _mart(ref, table)
        assert a.height > 0 and a.select(KEYS[table]).is_duplicated().sum() == 0, table
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-12), table


def test_a_revised_month_reaches_the_leads_that_compare_with_it_a_year_later() -> None:
    """A purchase in March 2024 is in the leads' TTM a year earlier up to February 2026 (past the December of the
    next year that the output indicators need): the incremental night recomputes through then."""
    inc = _chain_db()
    inc.execute("INSERT INTO core.procurement VALUES ('A', 'X', '北京甲', '110105', '2026-02-01', 1, 1, 1)")
    update_indicators(inc, None)
    inc.execute("UPDATE core.procurement SET amount = 125 WHERE period = '2024-03-01'")
    done = update_indicators(inc, {D(2024, 3, 1)})
    assert D(2026, 2, 1) in done
    got = _mart(inc, "supply_leads", "supplier_key = 'X' AND period = DATE '2026-02-01'")
    assert got.select("amount_ttm", "amount_prev_ttm").row(0) == (51.0, 125.0)  # 2025-03..2026-02: 40 + 5 + 5 + 1
    update_indicators(inc, None)
    assert_frame_equal(_mart(inc, "supply_leads", "supplier_key = 'X' AND period = DATE '2026-02-01'"), got)


def _lead_x(con: duckdb.DuckDBPyConnection, period: dt.date) -> tuple:
    return con.execute("SELECT supplier_name, supplier_adcode, n_buying_firms, amount_ttm FROM mart.supply_leads "
                       "WHERE supplier_key = 'X' AND period = ?", [period]).fetchone()


def test_incremental_leads_read_a_revised_old_month_and_a_new_month_as_a_full_recompute_does() -> None:
    """A lead's name, location and distinct buying firms come from per-month stored rows (work.chain_supplier_month).
    A revised old month must replace its stored rows in every window holding it: X's January row changes buyer
    (A → B, so A no longer buys from X), name (the least 北京丙 → 北京甲, by code point) and location (the least
    110101 → 110108); a stale January would keep 3 buyers, 北京丙 and 110101. A new month then adds a buyer to
    windows read from the stored months only. Night after night, incremental equals a full recompute."""
    months = [D(2025, m, 1) for m in range(1, 8)]
    firms = [firm("A", "C1", "320506"), firm("B", "C1", "320506"), firm("C", "C1", "320506")]
    procurement = [("A", "X", "北京丙", "110101", D(2025, 1, 1), 10.0),
                   ("B", "X", "北京乙", "110105", D(2025, 2, 1), 20.0),
                   ("C", "X", "北京乙", "110105", D(2025, 4, 1), 30.0),
                   ("B", None, "天津丁", "120101", D(2025, 6, 1), 1.0)]
    inc, ref = (make_db(firms=firms, monthly=[rec(u, m, 1.0) for u in "ABC" for m in months[:6]],
                        procurement=procurement) for _ in range(2))
    update_indicators(inc, None)
    assert _lead_x(inc, D(2025, 6, 1)) == ("北京丙", "110101", 3, 60.0)
    nights = [
        ({D(2025, 1, 1)}, "UPDATE core.procurement SET buyer_uscc = 'B', supplier_name = '北京甲', "
                          "supplier_adcode = '110108' WHERE period = '2025-01-01'"),
        ({D(2025, 7, 1)}, "INSERT INTO core.procurement VALUES ('A', 'X', '北京戊', '110109', '2025-07-01', 5, 1, 1)"),
    ]
    for changed, statement in nights:
        for con in (inc, ref):
            con.execute(statement)
        update_indicators(inc, changed)
        update_indicators(ref, None)
        for table in KEYS:
            assert_frame_equal(_mart(inc, table), _mart(ref, table), check_exact=True), table
    # hand-worked: January's row now B's; every window from January to July holds it
    assert [_lead_x(inc, m) for m in months] == [
        ("北京甲", "110108", 1, 10.0), ("北京乙", "110105", 1, 30.0), ("北京乙", "110105", 1, 30.0),
        ("北京乙", "110105", 2, 60.0), ("北京乙", "110105", 2, 60.0), ("北京乙", "110105", 2, 60.0),
        ("北京乙", "110105", 3, 65.0)]


def test_an_ordinary_night_counts_its_leads_buying_firms_once_each_as_a_full_recompute_does() -> None:
    """A night with one target (a new last month) counts its leads' distinct buying firms with
    indicators_lead_buyers_one.sql: A buys from X in three months of the window and B in one, so X has 2 buying firms,
    not 4 rows; Y's only buyer is A. The marts equal a full recompute's."""
    months = [D(2025, m, 1) for m in range(1, 5)]
    firms = [firm("A", "C1", "320506"), firm("B", "C1", "320506")]
    procurement = [("A", "X", "北京乙", "110105", D(2025, 1, 1), 10.0),
                   ("A", "X", "北京乙", "110105", D(2025, 2, 1), 10.0),
                   ("A", "Y", "天津丁", "120101", D(2025, 2, 1), 5.0),
                   ("B", "X", "北京乙", "110105", D(2025, 3, 1), 10.0)]
    inc, ref = (make_db(firms=firms, monthly=[rec(u, m, 1.0) for u in "AB" for m in months[:3]],
                        procurement=procurement) for _ in range(2))
    update_indicators(inc, None)
    new_month = ("INSERT INTO core.firm_monthly VALUES ('A', '2025-04-01', 1, 1.0, NULL, 0, 0, 0, 0, 0); "
                 "INSERT INTO core.procurement VALUES ('A', 'X', '北京乙', '110105', '2025-04-01', 10, 1, 1)")
    for con in (inc, ref):
        con.execute(new_month)
    update_indicators(inc, {D(2025, 4, 1)})
    assert "indicators_lead_buyers_one" in ind.last_timings and "indicators_lead_buyers" not in ind.last_timings
    got = inc.execute("SELECT supplier_key, n_buying_firms FROM mart.supply_leads WHERE period = '2025-04-01' "
                      "ORDER BY supplier_key").fetchall()
    assert got == [("X", 2), ("Y", 1)]
    update_indicators(ref, None)
    assert "indicators_lead_buyers" in ind.last_timings
    for table in KEYS:
        assert_frame_equal(_mart(inc, table), _mart(ref, table), check_exact=True), table


def _lead_text(con: duckdb.DuckDBPyConnection, cluster: str, period: dt.date) -> list[tuple]:
    return con.execute("SELECT supplier_key, supplier_name, supplier_uscc, supplier_adcode FROM mart.supply_leads "
                       "WHERE cluster_id = ? AND period = ? ORDER BY supplier_key", [cluster, period]).fetchall()


def test_a_suppliers_text_is_stored_once_and_a_clusters_month_only_where_its_rows_spell_it_otherwise() -> None:
    """A supplier's name, uscc and location are stored once (work.supplier_text: the least of its first month's rows);
    a cluster's month gets its own least values (work.chain_supplier_text) only where its rows differ, and a lead
    still shows the least of each over its cluster's window. X (uscc X, Beijing) is 北京乙 to C1 and 北京甲 to C2 in
    January: its text is 北京乙 (乙 U+4E59 < 甲 U+7532) and only C2's January is stored apart. In February C2 writes
    北京丙 (U+4E19) at 110108: C2's February is stored apart. 某丁 (no uscc, no location) is spelled alike everywhere:
    nothing apart. Then January is revised (C1 now writes 北京丁, U+4E01): the supplier's text stays, C1's January is
    stored apart, and the marts equal a full recompute's."""
    months = [D(2025, 1, 1), D(2025, 2, 1)]
    firms = [firm("A", "C1", "320506"), firm("B", "C2", "330106")]
    clusters = [("C1", "江苏", "320506", "电子", "city"), ("C2", "浙江", "330106", "电子", "city")]
    procurement = [("A", "X", "北京乙", "110105", months[0], 10.0), ("B", "X", "北京甲", "110105", months[0], 20.0),
                   ("A", "X", "北京乙", "110105", months[1], 1.0), ("B", "X", "北京丙", "110108", months[1], 2.0),
                   ("A", None, "某丁", None, months[0], 3.0), ("B", None, "某丁", None, months[1], 4.0)]
    inc, ref = (make_db(clusters=clusters, firms=firms, monthly=[rec(u, m, 1.0) for u in "AB" for m in months],
                        procurement=procurement) for _ in range(2))
    update_indicators(inc, None)

    def stored(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
        text = con.execute("SELECT i.supplier_key, t.supplier_name, t.supplier_uscc, t.supplier_adcode "
                           "FROM work.supplier_text t JOIN work.supplier_ids i USING (sid) ORDER BY 1").fetchall()
        apart = con.execute(
            "SELECT c.cluster_id, d.period, i.supplier_key, d.supplier_name, d.supplier_uscc, d.supplier_adcode "
            "FROM work.chain_supplier_text d JOIN work.supplier_ids i USING (sid) JOIN cluster_map c USING (cidx) "
            "ORDER BY 1, 2, 3").fetchall()
        return text, apart

    assert stored(inc) == (
        [("X", "北京乙", "X", "110105"), ("某丁", "某丁", None, None)],
        [("C2", months[0], "X", "北京甲", "X", "110105"), ("C2", months[1], "X", "北京丙", "X", "110108")])
    assert _lead_text(inc, "C1", months[1]) == [("X", "北京乙", "X", "110105"), ("某丁", "某丁", None, None)]
    assert _lead_text(inc, "C2", months[0]) == [("X", "北京甲", "X", "110105")]
    assert _lead_text(inc, "C2", months[1]) == [("X", "北京丙", "X", "110105"), ("某丁", "某丁", None, None)]

    revision = ("UPDATE core.procurement SET supplier_name = '北京丁' "
                "WHERE buyer_uscc = 'A' AND period = '2025-01-01' AND supplier_uscc = 'X'")
    for con in (inc, ref):
        con.execute(revision)
    update_indicators(inc, {months[0]})
    update_indicators(ref, None)
    assert stored(inc) == (
        [("X", "北京乙", "X", "110105"), ("某丁", "某丁", None, None)],
        [("C1", months[0], "X", "北京丁", "X", "110105"), ("C2", months[0], "X", "北京甲", "X", "110105"),
         ("C2", months[1], "X", "北京丙", "X", "110108")])
    assert _lead_text(inc, "C1", months[1]) == [("X", "北京丁", "X", "110105"), ("某丁", "某丁", None, None)]
    for table in KEYS:
        assert_frame_equal(_mart(inc, table), _mart(ref, table), check_exact=True), table


def test_a_supplier_first_seen_local_gets_its_text_when_it_first_supplies_a_cluster_from_outside() -> None:
    """Y (uscc Y, Suzhou 320505) is local to C1 (Suzhou) in January: it gets an id but no stored text (only outside
    suppliers' texts are kept). In February it supplies C2 (Hangzhou) from outside: its text comes from February's
    row, and C2's lead shows it. A row without uscc and name has no supplier key and is no lead."""
    months = [D(2025, 1, 1), D(2025, 2, 1)]
    con = make_db(clusters=[("C1", "江苏", "320506", "电子", "city"), ("C2", "浙江", "330106", "电子", "city")],
                  firms=[firm("A", "C1", "320506"), firm("B", "C2", "330106")],
                  monthly=[rec(u, m, 1.0) for u in "AB" for m in months],
                  procurement=[("A", "Y", "苏州乙", "320505", months[0], 10.0),
                               ("B", "Y", "苏州甲", "320505", months[1], 20.0),
                               ("B", None, None, "110105", months[1], 5.0)])
    update_indicators(con, None)
    update_indicators(con, {months[1]})   # February rebuilt: Y keeps its one text
    assert con.execute("SELECT i.supplier_key, t.supplier_name, t.supplier_uscc, t.supplier_adcode "
                       "FROM work.supplier_text t JOIN work.supplier_ids i USING (sid)").fetchall() == [
        ("Y", "苏州甲", "Y", "320505")]
    assert _lead_text(con, "C2", months[1]) == [("Y", "苏州甲", "Y", "320505")]
    assert _lead_text(con, "C1", months[1]) == []


def _ttm_top(rows: list[tuple[str, dt.date, float]], period: dt.date, n: int) -> list[tuple[str, float]]:
    """The n largest TTM amounts at `period` (window period − 11 months … period), ties by key: worked out from
    the rows the test inserts."""
    lo = D(period.year - 1, period.month, 1) if period.month == 12 else D(period.year - 1, period.month + 1, 1)
    ttm: dict[str, float] = {}
    for key, month, amount in rows:
        if lo <= month <= period:
            ttm[key] = ttm.get(key, 0.0) + amount
    return sorted(ttm.items(), key=lambda kv: (-round(kv[1], 6), kv[0]))[:n]


def test_an_ordinary_nights_leads_roll_the_window_a_month_in_and_a_month_out_and_take_revisions(monkeypatch) -> None:
    """An ordinary night ranks the leads on the rolled window (work.chain_supplier_window): the new month is added and
    the month that leaves the window taken out, a revised month swaps its old amounts for the new ones. 旧大 leads
    with January 2024 and drops out when January leaves; 新秀 rises with its new months; a revision of a month inside
    the window (June) and of the last month itself change the ranking. The leads at each night's last period are the
    top two TTM amounts worked out from the rows, and the stored window equals the rows' sums."""
    cfg = copy.deepcopy(chain_index_config())
    cfg["chain"]["max_leads"] = 2
    monkeypatch.setattr(ind, "chain_index_config", lambda: cfg)
    months = [D(2024, m, 1) for m in range(1, 13)] + [D(2025, m, 1) for m in range(1, 5)]
    rows: list[tuple[str, dt.date, float]] = [("旧大", D(2024, 1, 1), 500.0), ("旧大", D(2024, 2, 1), 10.0)]
    rows += [("稳定", m, 30.0) for m in months]
    rows += [("新秀", m, 100.0) for m in months[12:]]
    rows += [("退货", D(2024, 6, 1), 200.0), ("退货", D(2025, 2, 1), -150.0)]
    con = make_db(firms=[firm("A")], monthly=[rec("A", m, 1.0) for m in months if m <= D(2024, 12, 1)],
                  procurement=[("A", None, k, "110105", m, a) for k, m, a in rows if m <= D(2024, 12, 1)])
    update_indicators(con, None)

    def night(changed: set[dt.date], statement: str | None = None) -> None:
        if statement:
            con.execute(statement)
        for month in changed - {r[0] for r in con.execute("SELECT DISTINCT period FROM core.firm_monthly").fetchall()}:
            con.execute("INSERT INTO core.firm_monthly VALUES ('A', ?, 1, 1.0, NULL, 0, 0, 0, 0, 0)", [month])
            con.executemany("INSERT INTO core.procurement VALUES ('A', NULL, ?, '110105', ?, ?, 1, 1)",
                            [[key, m, amount] for key, m, amount in rows if m == month])
        update_indicators(con, changed)
        last = con.execute("SELECT max(period) FROM core.procurement").fetchone()[0]
        got = con.execute("SELECT supplier_key, amount_ttm FROM mart.supply_leads WHERE period = ? ORDER BY rank",
                          [last]).fetchall()
        assert got == _ttm_top(rows, last, 2), last
        window = dict(con.execute(
            "SELECT i.supplier_key, w.amount::DOUBLE FROM work.chain_supplier_window w JOIN work.supplier_ids i "
            "USING (sid) WHERE (SELECT period FROM work.chain_window) = ?", [last]).fetchall())
        assert window == dict(_ttm_top(rows, last, 99)), last

    night({D(2025, 1, 1)})   # 2024-01 leaves: 旧大 (510 at 2024-12) falls to 10, and leaves the window with 2024-02
    assert ind.last_timings.keys() >= {"indicators_lead_window_incremental", "indicators_lead_amounts_one"}
    rows[rows.index(("退货", D(2024, 6, 1), 200.0))] = ("退货", D(2024, 6, 1), 400.0)
    night({D(2024, 6, 1), D(2025, 2, 1)}, "UPDATE core.procurement SET amount = 400 WHERE supplier_name = '退货' "
                                          "AND period = '2024-06-01'")   # a revised month inside the window
    night({D(2025, 3, 1)})
    rows[rows.index(("新秀", D(2025, 3, 1), 100.0))] = ("新秀", D(2025, 3, 1), 1.0)
    night({D(2025, 3, 1)}, "UPDATE core.procurement SET amount = 1 WHERE supplier_name = '新秀' "
                           "AND period = '2025-03-01'")   # the last month itself revised
    assert _ttm_top(rows, D(2025, 3, 1), 2) == [("稳定", 360.0), ("退货", 250.0)]   # 新秀 201 now
    night({D(2025, 4, 1)})


def test_lead_table_says_new_and_where_an_unlocated_supplier_registered(tmp_path) -> None:
    from flows.render.chain import draw_section
    from flows.stages.s11_chain import chain_content

    con = _chain_db()
    con.execute("INSERT INTO core.procurement VALUES "
                "('A', '91350203QJKLG54FQH', '厦门戊', NULL, '2025-08-01', 7, 1, 1)")
    update_indicators(con, None)
    section = draw_section(chain_content(con, D(2025, 12, 1), "zh", "internal",
                                         [{"cluster_id": "C1", "cluster_name": "苏州测试"}], lambda cid, code: False),
                           tmp_path, "r")
    leads = {lead["name"]: lead for lead in section["blocks"][0]["leads"]}
    assert leads["厦门戊"]["location"] == "所在地不明（信用代码登记地：福建省 厦门市）"
    assert leads["某丁"]["location"] == "所在地不明"  # no USCC: nothing to tell
    assert (leads["北京甲"]["location"], leads["北京甲"]["change"]) == ("北京市", "+100.0%")
    assert leads["无锡丙"]["change"] == "新增"  # nothing bought from it a year earlier
    assert {p.name for p in section["files"]} == {"index_radar.png", "C1_chain.svg", "C1.html"}


def test_a_standalone_page_shows_its_diagram_and_radar_as_svg_with_the_names_kept_as_text(tmp_path) -> None:
    """The page's images are SVG whose labels are <text> the browser sets in the system's fonts (not glyph outlines,
    not pixels), and drawing the page again gives the same bytes (no date, fixed clip ids)."""
    from flows.render.chain import draw_section
    from flows.stages.s11_chain import chain_content

    con = _chain_db()
    update_indicators(con, None)
    decided = chain_content(con, D(2025, 12, 1), "zh", "internal",
                            [{"cluster_id": "C1", "cluster_name": "苏州测试"}], lambda cid, code: False)
    pages = []
    for out in (tmp_path / "a", tmp_path / "b"):
        draw_section(decided, out, "r")
        pages.append((out / "r_chain" / "C1.html").read_bytes())
    assert pages[0] == pages[1]
    html = pages[0].decode("utf-8")
    (diagram,) = (base64.b64decode(uri).decode("utf-8") for uri in
                  re.findall(r'<img id="diagram" src="data:image/svg\+xml;base64,([^"]+)"', html))
    assert re.search(r"<text[^>]*>图　苏州测试产业链采购流向", diagram)
    assert re.search(r"<text[^>]*>成员·", diagram) and re.search(r"<text[^>]*>外部·", diagram)
    (radar,) = re.findall(r'<div id="radar">(.*?)</div>', html)
    layers = [base64.b64decode(uri).decode("utf-8") for uri in
              re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', radar)]
    assert len(layers) == 3 and re.search(r"<text[^>]*>苏州测试</text>", layers[2])


def test_the_reports_chain_diagram_is_the_svg_written_beside_it_and_shown_on_the_clusters_page(tmp_path) -> None:
    """The report (HTML and PDF) shows a detailed cluster's chain diagram as the SVG of <cluster id>_chain.svg in its
    chain folder, names as text, and the cluster's standalone page shows the same diagram."""
    from flows.render.chain import draw_section
    from flows.stages.s11_chain import chain_content

    con = _chain_db()
    update_indicators(con, None)
    decided = chain_content(con, D(2025, 12, 1), "zh", "internal",
                            [{"cluster_id": "C1", "cluster_name": "苏州测试"}], lambda cid, code: False)
    section = draw_section(decided, tmp_path, "r")
    (block,) = section["blocks"]
    uri = block["diagram"]
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == (tmp_path / "r_chain" / "C1_chain.svg").read_bytes()
    title = [t.text for t in _svg(uri).iter(f"{SVG}text")][-1]
    assert title == "图　苏州测试产业链采购流向（近12个月，左：供应方，右：采购方环节）"
    page = (tmp_path / "r_chain" / "C1.html").read_text(encoding="utf-8")
    assert f'<img id="diagram" src="{uri}"' in page


def _flow(buyer: str, group: str, supplier: str, amount: float, local: float | None) -> dict:
    return {"buyer_segment": buyer, "supplier_group": group, "supplier_segment": supplier, "amount_ttm": amount,
            "buyer_segment_local_share": local}


def _svg(uri: str):
    return _svg_document(base64.b64decode(uri.split(",", 1)[1]).decode("utf-8"))


def _svg_document(svg: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(svg)


SVG = "{http://www.w3.org/2000/svg}"


def _svg_texts(root) -> list[tuple[float, str, float, str]]:
    """Each <text> of an SVG: x, anchor, font size and text."""
    return [(float(t.get("x")), t.get("text-anchor"), float(t.get("font-size")), t.text)
            for t in root.iter(f"{SVG}text")]


def _drawn_width(text: str, size: float) -> float:
    """The text's width in points as matplotlib lays it out (shaped) in the chart font: what a browser setting it in
    Noto Sans CJK SC draws."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    from flows.render.style import chart_style

    return TextToPath().get_text_width_height_descent(
        text, FontProperties(family=chart_style()["font.family"], size=size), ismath=False)[0]


def _texts_past_the_view(root) -> list[str]:
    view_left, _, view_width, _ = (float(v) for v in root.get("viewBox").split())
    past = []
    for x, anchor, size, text in _svg_texts(root):
        width = _drawn_width(text, size)
        start = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
        if start < view_left or start + width > view_left + view_width:
            past.append(text)
    return past


def _band_start(root) -> float:
    """Where the first band leaves the left boxes (pt): the axes' place."""
    return float(re.match(r"M([\d.]+) ", next(root.iter(f"{SVG}path")).get("d")).group(1))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_standalone_diagram_keeps_every_name_inside_its_svg_and_short_names_at_the_fixed_margins(
        lang: str) -> None:
    """An SVG cuts off what lies past its edge, and the browser sets the names unmeasured: a segment name longer than
    the fixed margins allow (they fit the names seen so far) moves the axes in, one too long for that widens the
    view; short names keep the fixed margins and the figure's own view. Checked against the names' widths as
    matplotlib shapes them in the chart font."""
    from flows.render.chain import BAND_X, DIAGRAM_MARGINS, DIAGRAM_XLIM, chain_svgs

    long_name = "新能源汽车关键零部件及系统集成服务"
    very_long = "零部件及其配套的各种精密加工、表面处理、检测认证、仓储物流与售后维修服务的综合环节"
    cases = {"short": [_flow("整机制造", "member", "核心零部件", 1.2e6, 0.64),
                       _flow("整机制造", "local", None, 2e6, 0.64)],
             "long": [_flow(long_name, "member", long_name, 1.2e6, 0.64),
                      _flow(long_name, "other_province", None, 3.4e6, 0.64)],
             "very long": [_flow(very_long, "member", very_long, 1.2e6, 0.64),
                           _flow(long_name, "other_province", None, 3.4e6, 0.64)]}
    svgs = {case: _svg_document(svg) for case, svg in zip(cases, chain_svgs(
        [(flows, "图　苏州测试产业链采购流向") for flows in cases.values()], lang), strict=True)}
    for case, root in svgs.items():
        assert _texts_past_the_view(root) == [], case
    figure = "0 0 648 374.4"   # DIAGRAM_IN at 72 pt an inch
    assert svgs["short"].get("viewBox") == svgs["long"].get("viewBox") == figure != svgs["very long"].get("viewBox")
    (x0, x1), m = DIAGRAM_XLIM, DIAGRAM_MARGINS
    fixed = 648 * (m["left"] + (BAND_X[0] - x0) / (x1 - x0) * (m["right"] - m["left"]))
    assert round(fixed, 2) == _band_start(svgs["short"]) < _band_start(svgs["long"])


def test_a_chain_diagram_draws_its_layouts_labels_bands_and_boxes_in_order() -> None:
    """The SVG shows the layout (_diagram_layout) as it is: every label aligned to its side of the boxes (the gap
    between a label's parts an en space, which a browser does not collapse), the title last, and the bands (half
    opaque) then the boxes in the layout's colours and order."""
    from flows.render.chain import SVG_GAP, _diagram_layout, chain_svgs

    flows = [_flow("整机制造", "member", "核心零部件", 1.2e6, 0.64), _flow("整机制造", "local", None, 2e6, 0.64),
             _flow("核心零部件", "province", None, 5e5, None), _flow("核心零部件", "unknown", None, 1e5, None)]
    for lang in ("zh", "en"):
        layout = _diagram_layout(flows, lang)
        root = _svg_document(chain_svgs([(flows, "图　苏州测试")], lang)[0])
        texts = _svg_texts(root)
        assert [(text, {"end": "right", "start": "left"}[anchor]) for _, anchor, _, text in texts[:-1]] == \
            [(text, ha) for *_, text, ha in layout.labels]
        assert all(SVG_GAP in text and "  " not in text for *_, text in texts[:-1])
        assert texts[-1][1:] == ("middle", 11.0, "图　苏州测试")
        paths = list(root.iter(f"{SVG}path"))
        assert [p.get("fill") for p in paths] == [c for *_, c in layout.bands] + [c for *_, c in layout.boxes]
        assert len(paths) == len(flows) + 4 + 2   # bands, left boxes, right boxes
        assert [p.get("fill-opacity") for p in paths] == ["0.45"] * len(flows) + [None] * 6


def test_a_standalone_diagram_is_well_formed_svg_whatever_a_name_holds() -> None:
    """Segment names come from the registry: markup characters in one are text, not SVG."""
    from flows.render.chain import chain_svgs

    name = 'A&B <i>"x"</i>'
    root = _svg_document(chain_svgs([([_flow(name, "member", name, 1e6, 0.5)], f"图　{name}")], "zh")[0])
    assert [text for *_, text in _svg_texts(root)] == [f"成员·{name}\u2002100.00亿 (100%)",
                                                        f"{name}\u2002100.00亿\u2002本地配套率 50%", f"图　{name}"]


def test_a_clusters_radar_does_not_depend_on_the_other_clusters_drawn_or_their_order() -> None:
    from flows.render.chain import radars

    labels = ["规模", "增长", "创新", "数字化"]
    a, b = ("甲产业集群", [80.0, None, 30.0, 55.0]), ("乙", [10.0, 90.0, 45.0, 60.0])
    ab, ba = radars([a, b], [50.0, 50.0, 50.0, 50.0], labels), radars([b, a], [50.0, 50.0, 50.0, 50.0], labels)
    assert ab[0].tobytes() == ba[1].tobytes() and ab[1].tobytes() == ba[0].tobytes()
    assert ab[0].tobytes() != ab[1].tobytes() and ab[0].size == ab[1].size


def test_a_standalone_pages_radar_is_the_frame_drawn_once_per_marks_between_the_clusters_own_area_and_line() -> None:
    """The page's radar is three SVG layers shown one over the other in the figure's drawing order: under (the white
    background and the cluster's area), the frame (grid, dimension labels, dashed median: drawn once for each set of
    marked labels) and over (the cluster's line, the outer circle, its title). Every artist is in exactly one layer,
    and a cluster's layers do not depend on the clusters drawn before it."""
    from flows.render.chain import radars

    labels = ["规模", "增长", "创新", "数字化"]
    a, b, c = ("甲产业集群", [80.0, None, 30.0, 55.0]), ("乙", [10.0, 90.0, 45.0, 60.0]), ("丙", [5.0, 5.0, 5.0, 5.0])
    abc = radars([a, b, c], [50.0, 50.0, 50.0, 50.0], labels, svg=True)
    cba = radars([c, b, a], [50.0, 50.0, 50.0, 50.0], labels, svg=True)
    assert abc == cba[::-1]
    svg = [{k: base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") for k, uri in layers.items()} for layers in abc]
    texts = [{k: re.findall(r"<text[^>]*>([^<]*)</text>", layer) for k, layer in layers.items()} for layers in svg]
    assert texts[0] == {"under": [], "frame": ["规模", "增长*", "创新", "数字化"], "over": ["甲产业集群"]}
    assert texts[1] == {"under": [], "frame": labels, "over": ["乙"]}
    assert abc[1]["frame"] == abc[2]["frame"] != abc[0]["frame"]    # the same marks: the frame drawn once
    for layers in svg:
        # the white background and the area (alpha 0.2) under everything; the dashed median only in the frame;
        # the cluster's line (1.4 pt) and the outer circle (black) over the frame (matplotlib's frame states a
        # style in CSS, the layers written directly in attributes)
        assert _styled(layers["under"], "fill", "#ffffff") and _styled(layers["under"], "opacity", "0.2")
        assert _styled(layers["under"], "fill", "#c8553d")
        assert "#ffffff" not in layers["frame"] + layers["over"] and "opacity" not in layers["frame"] + layers["over"]
        assert _styled(layers["over"], "stroke", "#000000")
        assert not _styled(layers["under"] + layers["frame"], "stroke", "#000000")
        assert "stroke-dasharray" in layers["frame"] and "stroke-dasharray" not in layers["under"] + layers["over"]
        assert _styled(layers["over"], "stroke-width", "1.4")
        assert not _styled(layers["under"] + layers["frame"], "stroke-width", "1.4")
    assert texts[2]["over"] == ["丙"] and svg[2]["under"] != svg[1]["under"]


def _styled(svg: str, prop: str, value: str) -> bool:
    """Whether an element of the SVG has `prop` set to `value`, as CSS (matplotlib) or as an attribute."""
    return re.search(rf'(?:[;"]\s*{prop}: {re.escape(value)}[;"]|\s{prop}="{re.escape(value)}")', svg) is not None


def test_a_standalone_radars_line_and_area_lie_at_the_clusters_scores_and_its_title_above() -> None:
    """The layers drawn without matplotlib put the cluster's line and area where the scores are: each vertex at its
    score's share of the outer circle's radius (a missing score at the centre), the area under the same points, the
    title (markup in a name is text) centred over the circle."""
    from flows.render.chain import radars

    labels = ["规模", "增长", "创新", "数字化"]
    values = [80.0, None, 30.0, 100.0]
    (layers,) = radars([("甲&<乙>集群", values)], [50.0] * 4, labels, svg=True)
    under, over = (base64.b64decode(layers[k].split(",", 1)[1]).decode("utf-8") for k in ("under", "over"))

    def points(d: str) -> list[tuple[float, float]]:
        numbers = [float(v) for v in re.findall(r"-?[\d.]+", d)]
        return list(zip(numbers[::2], numbers[1::2], strict=True))

    circle = points(re.search(r'<path d="([^"]*)" fill="none" stroke="#000000"', over).group(1))
    xs, ys = [x for x, _ in circle], [y for _, y in circle]
    centre, radius = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2), (max(xs) - min(xs)) / 2
    line = points(re.search(r'<path d="([^"]*)" clip-path="url\(#axes\)" fill="none"', over).group(1))
    area = points(re.search(r'<path d="([^"]*)" clip-path="url\(#axes\)" fill="#c8553d"', under).group(1))
    assert line[:-1] == area and line[-1] == line[0]
    shares = [math.dist(p, centre) / radius for p in line[:-1]]
    assert shares == pytest.approx([(v or 0.0) / 100 for v in values], abs=0.002)
    assert math.atan2(centre[1] - line[0][1], line[0][0] - centre[0]) == pytest.approx(0.0, abs=0.002)  # east
    assert math.atan2(centre[1] - line[2][1], line[2][0] - centre[0]) == pytest.approx(math.pi, abs=0.002)
    assert math.atan2(centre[1] - line[3][1], line[3][0] - centre[0]) == pytest.approx(-math.pi / 2, abs=0.002)
    (title,) = _svg(layers["over"]).iter(f"{SVG}text")
    assert (title.text, title.get("text-anchor")) == ("甲&<乙>集群", "middle")
    assert float(title.get("x")) == pytest.approx(centre[0], abs=0.01) and float(title.get("y")) < min(ys)


def test_the_index_radar_figure_is_split_so_that_every_part_fits_an_a4_page(tmp_path) -> None:
    """A PDF page cannot split an image: one figure of 45 radars (12 rows) would run off the page and be cut."""
    from PIL import Image

    from flows.render.chain import radar_grids

    tiles = [Image.new("RGB", (286, 297), (k, 0, 0)) for k in range(45)]
    paths = radar_grids(tiles, tmp_path)
    assert [p.name for p in paths] == ["index_radar.png", "index_radar_2.png", "index_radar_3.png"]
    text_width_in, text_height_in = (210 - 2 * 15) / 25.4, (297 - 2 * 18) / 25.4  # monthly_report.css @page
    seen = []
    for path in paths:
        with Image.open(path) as figure:
            assert figure.height / figure.width * text_width_in < text_height_in - 0.5  # and room for the caption
            seen += [figure.getpixel((col * 286 + 5, row * 297 + 5))[0] for row in range(figure.height // 297)
                     for col in range(figure.width // 286)]
    assert seen[:45] == list(range(45)) and set(seen[45:]) <= {255}  # every radar once, in order; blank cells


def test_every_column_of_the_new_marts_has_a_chinese_and_english_comment() -> None:
    con = _chain_db()
    rows = con.execute("SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'mart' AND "
                       "table_name IN ('chain_segments', 'chain_flows', 'supply_leads', 'cluster_index')").fetchall()
    assert len({r[0] for r in rows}) == 4
    assert [r[:2] for r in rows if not r[2] or " / " not in r[2]] == []


# ------------------------------------------------------------------ the sample night against the planted truth
@pytest.fixture(scope="module")
def night(sample_warehouse):
    with duckdb.connect(str(sample_warehouse.warehouse), read_only=True) as con:
        yield con


@pytest.mark.parametrize("table", list(KEYS))
def test_sample_night_chain_marts_and_index_equal_the_planted_truth(night, table) -> None:
    truth = pl.read_parquet(TRUTH / f"{table}.parquet").sort(KEYS[table])
    got = _mart(night, table).select(truth.columns)
    assert got.height == truth.height > 0
    # The night converts land from 平方米 at 666.6667 m² per 亩 (docs/architecture.md#input-contract), the truth holds
    # exact 亩: per_mu_*
    # differ by ≈1e-7 relative, the land scores (0–100) by < 1e-6. Everything else agrees to 1e-9.
    abs_tol = 1e-5 if table == "cluster_index" else 0.0
    assert_frame_equal(got, truth, check_exact=False, rel_tol=1e-9, abs_tol=abs_tol, check_dtypes=False)


def test_sample_xushui_leads_are_the_planted_dominant_suppliers_then_the_rest_by_amount(night) -> None:
    from flows.sample.core import DOMINANT

    leads = _mart(night, "supply_leads", "cluster_id = 'XS_AUTO' AND period = DATE '2025-12-01'")
    top = leads.head(3)
    assert sorted(next(d[-1] for d in DOMINANT if name.endswith(d[-1])) for name in top["supplier_name"]) == sorted(
        d[-1] for d in DOMINANT)
    assert top["supplier_uscc"].null_count() == 0 and top["location_class"].to_list().count("province") == 1
    new = top.filter(pl.col("supplier_name").str.ends_with(DOMINANT[2][-1]))  # first sells in 2025
    assert new.select("amount_prev_ttm", "change_rate").row(0) == (0.0, None)
    assert leads["rank"].to_list() == list(range(1, leads.height + 1))
    assert leads["amount_ttm"].is_sorted(descending=True)
    assert set(leads["location_class"]) <= {"province", "other_province", "unknown"}
    assert leads.filter(pl.col("location_class") != "unknown")["province"].null_count() == 0


# ------------------------------------------------------------------ the report's supply-chain section
@pytest.fixture(scope="module")
def editions(sample_warehouse, tmp_path_factory):
    from flows.stages.s11_report import render_report

    out = tmp_path_factory.mktemp("chain_report")
    with charts_unpainted():        # the supply-chain section's own diagrams are drawn; the trend charts are not
        return {aud: render_report(sample_warehouse.warehouse, D(2025, 12, 1), lang="zh", audience=aud,
                                   out_dir=out / aud, maps_dir=out / "maps", pdf=False)
                for aud in ("internal", "public")}


def test_internal_report_shows_index_ranking_chain_diagrams_and_leads(editions, night, tmp_path) -> None:
    from conftest import headless_chromium

    files = editions["internal"]
    html = files.html.read_text(encoding="utf-8")
    section = html.split('id="s8"', 1)[1]
    n = night.execute("SELECT count(*) FROM core.clusters").fetchone()[0]
    ranking = re.search(r'<table id="index-table">.*?</table>', section, re.S).group(0)
    assert ranking.count("<tr>") == n + 1  # header and one row per cluster
    first = night.execute("SELECT c.cluster_name FROM mart.cluster_index i JOIN core.clusters c USING (cluster_id) "
                          "WHERE period = '2025-12-01' AND rank = 1").fetchone()[0]
    assert re.search(r'<td class="num">1</td><td class="text">([^<]*)</td>', ranking).group(1) == first
    top = night.execute("SELECT supplier_name FROM mart.supply_leads WHERE cluster_id = 'XS_AUTO' "
                        "AND period = '2025-12-01' ORDER BY rank LIMIT 5").fetchall()
    xs = section.split('<h4 class="chain-cluster">徐水区汽车及零部件产业集群', 1)[1].split("<h4", 1)[0]
    assert [name for (name,) in top] == re.findall(r'<td class="num">\d+</td><td class="text">([^<]*)</td>', xs)[:5]
    assert xs.count("data:image/svg+xml;base64,") == 1 and "data:image/png" not in xs  # its chain diagram
    # one standalone page and one chain diagram per cluster, offline: only data: URIs
    pages = [p for p in files.chain if p.suffix == ".html"]
    assert len(pages) == n and len([p for p in files.chain if p.name.endswith("_chain.svg")]) == n
    page = next(p for p in pages if p.stem == "XS_AUTO")
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page.read_text(encoding="utf-8"))
    assert refs and all(r.startswith("data:") for r in refs)
    dom = headless_chromium(["--dump-dom", page.as_uri()], tmp_path / "profile", check=True).stdout
    assert len(re.findall(r"<tr>", dom.split('id="leads"', 1)[1])) == 1 + night.execute(
        "SELECT count(*) FROM mart.supply_leads WHERE cluster_id = 'XS_AUTO' AND period = '2025-12-01'").fetchone()[0]


def test_public_report_shows_segment_aggregates_only(editions, night) -> None:
    files = editions["public"]
    html = files.html.read_text(encoding="utf-8")
    section = html.split('id="s8"', 1)[1]
    names = [r[0] for r in night.execute("SELECT DISTINCT supplier_name FROM mart.supply_leads "
                                         "WHERE period = '2025-12-01'").fetchall()]
    assert not any(name in html for name in names)
    assert "外部·" not in section and "class=\"leads\"" not in section
    assert [p.name for p in files.chain] == ["index_radar.png"]  # no flow diagram, no standalone page
    # a segment whose output comes from fewer than 3 firms or two dominant ones is withheld
    seg = night.execute("SELECT c.cluster_name, s.segment FROM mart.chain_segments s JOIN core.clusters c "
                        "USING (cluster_id) WHERE period = '2025-12-01' AND (n_firms_contrib < 3 "
                        "OR top2_output_ttm > 0.85 * output_ttm)").fetchall()
    assert seg  # the sample's chain leaders dominate 整机制造 in some clusters
    for cluster, segment in seg:
        block = section.split(f'<h4 class="chain-cluster">{cluster}', 1)[1].split("<h4", 1)[0]
        row = re.search(rf"<td class=\"text\">{re.escape(segment)}</td>.*?</tr>", block, re.S).group(0)
        assert disclosure.SYMBOL in row
        # the segments add up to the cluster's output: when that is shown, a second segment is withheld too
        with files.tables[0].open(encoding="utf-8-sig", newline="") as handle:
            total_shown = next(r for r in csv.DictReader(handle) if r["cluster_name"] == cluster)["output_ttm"] \
                != disclosure.SYMBOL
        assert block.count(disclosure.SYMBOL) >= (2 if total_shown else 1)
