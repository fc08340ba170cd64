"""The lead table's cells as chain_leads.sql writes them (s11_chain.leads_by_cluster): the same text as Python's
formats, which wrote them row by row before ("{:,.1f}", "{:.1%}", "{:+.1%}", the segments joined, "new" where
nothing was bought a year earlier, "—" for no change), and a number it cannot write the same way refused."""

from __future__ import annotations

import datetime as dt
import math
import random

import duckdb
import pytest

from flows.render.chain import TEXT
from flows.stages.s11_chain import LEAD_CELLS, leads_by_cluster

PERIOD = dt.date(2025, 12, 1)
COLUMNS = ("cluster_id, period, rank, supplier_name, supplier_uscc, province, city, amount_ttm, share_of_purchases, "
           "n_buying_firms, segments, amount_prev_ttm, change_rate")


def _leads_db(leads: list[tuple]) -> duckdb.DuckDBPyConnection:
    """mart.supply_leads holding `leads` (cluster_id, rank, name, uscc, province, city, amount, share, buyers,
    segments, prev, change) in PERIOD."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA mart")
    con.execute("CREATE TABLE mart.supply_leads (cluster_id VARCHAR, period DATE, rank BIGINT, supplier_name VARCHAR,"
                " supplier_uscc VARCHAR, province VARCHAR, city VARCHAR, amount_ttm DOUBLE, share_of_purchases DOUBLE,"
                " n_buying_firms BIGINT, segments VARCHAR[], amount_prev_ttm DOUBLE, change_rate DOUBLE)")
    con.executemany(f"INSERT INTO mart.supply_leads ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(lead[0], PERIOD, *lead[1:]) for lead in leads])
    return con


def test_lead_cells_are_written_as_the_lead_table_writes_them_by_hand() -> None:
    con = _leads_db([
        ("C1", 2, "乙", None, None, None, 0.25, 0.0005, 1, None, 0.0, None),
        ("C1", 1, "甲", "91110105MA01ABCD2X", "北京市", "北京市", 1234567.25, 0.12345, 3, ["装配", "材料"],
         10.0, -0.00049),
        ("C2", 1, "丙", "91350203QJKLG54FQH", None, None, 2.675, 1.0, 2, [], 5.0, None),
        ("C2", 2, "丁", "X1", "江苏省", "无锡市", -1234.45, 0.15, 1, ["设备"], 4.0, 0.35),
    ])
    leads = leads_by_cluster(con, PERIOD, ["C1", "C2"], TEXT["zh"], "zh")
    assert leads == {
        "C1": [{"rank": 1, "name": "甲", "uscc": "91110105MA01ABCD2X", "location": "北京市", "amount": "1,234,567.2",
                "share": "12.3%", "buyers": 3, "supplies": "装配、材料", "change": "-0.0%"},
               {"rank": 2, "name": "乙", "uscc": "", "location": "所在地不明", "amount": "0.2", "share": "0.1%",
                "buyers": 1, "supplies": "", "change": "新增"}],
        "C2": [{"rank": 1, "name": "丙", "uscc": "91350203QJKLG54FQH",
                "location": "所在地不明（信用代码登记地：福建省 厦门市）", "amount": "2.7", "share": "100.0%",
                "buyers": 2, "supplies": "", "change": "—"},
               {"rank": 2, "name": "丁", "uscc": "X1", "location": "江苏省 无锡市", "amount": "-1,234.5",
                "share": "15.0%", "buyers": 1, "supplies": "设备", "change": "+35.0%"}]}
    assert all(list(lead) == list(LEAD_CELLS) for rows in leads.values() for lead in rows)
    english = leads_by_cluster(con, PERIOD, ["C1"], TEXT["en"], "en")["C1"]
    assert [(lead["supplies"], lead["change"]) for lead in english] == [("装配, 材料", "-0.0%"), ("", "new")]


def test_lead_numbers_are_the_text_pythons_formats_give() -> None:
    """Ties, negatives, large and tiny values, ±inf and NaN: DuckDB's format() and Python's must agree on each."""
    rng = random.Random(19)
    values = [0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 2.675, -0.0005, 1e-12, 999.95, 1e15 + 0.5, 9.87e29,
              math.inf, -math.inf, math.nan]
    values += [rng.uniform(-1e7, 1e7) for _ in range(500)] + [round(rng.uniform(0, 1), 4) for _ in range(500)]
    con = _leads_db([("C", n, "x", None, "p", None, v, v / 100, 1, None, 1.0, v / 100)
                     for n, v in enumerate(values, start=1)])
    got = leads_by_cluster(con, PERIOD, ["C"], TEXT["zh"], "zh")["C"]
    assert [(lead["amount"], lead["share"], lead["change"]) for lead in got] == [
        (f"{v:,.1f}", f"{v / 100:.1%}", f"{v / 100:+.1%}") for v in values]


@pytest.mark.parametrize(("amount", "share", "change"), [(None, 0.1, 0.1), (1e31, 0.1, 0.1), (1.0, None, 0.1),
                                                         (1.0, 0.1, -1e29)])
def test_a_lead_number_that_cannot_be_written_as_python_writes_it_is_refused(amount, share, change) -> None:
    con = _leads_db([("C", 1, "x", None, "p", None, amount, share, 1, None, 1.0, change)])
    with pytest.raises(duckdb.Error, match="mart.supply_leads: .* cannot be written"):
        leads_by_cluster(con, PERIOD, ["C"], TEXT["zh"], "zh")
