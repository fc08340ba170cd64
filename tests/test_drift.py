"""Drift scores (flows/stages/s09_drift.py) are exactly Evidently's wasserstein stattest on every firm-month.

flows/stages/s09_drift.py scores from each column's values sorted once instead of calling Evidently per test; these
tests call Evidently's own function on the same values, pooled reference months included, and check that a
nightly increment scores a month as the first night did.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

from flows.stages import s09_drift as drift
from flows.stages.s10_alerts import config

MONTHS = [dt.date(2023 + m // 12, m % 12 + 1, 1) for m in range(20)]
KEY = ["period", "cluster_id", "kind", "column_name", "reference"]


@pytest.fixture(scope="module")
def warehouse() -> duckdb.DuckDBPyConnection:
    """Two clusters (60 and 13 firms: the small one drops below min_firms in some months), 20 months with
    gaps, negative profits, tied zeros, missing values, 1–2月 records over two months and a shift in month 16."""
    rng = np.random.default_rng(7)
    con = duckdb.connect()
    con.execute("""
        CREATE SCHEMA core;
        CREATE TABLE core.firms (uscc VARCHAR, cluster_id VARCHAR);
        CREATE TABLE core.firm_monthly (uscc VARCHAR, period DATE, span_months INTEGER, output DOUBLE,
            value_added DOUBLE, revenue DOUBLE, profit DOUBLE, employees DOUBLE, energy DOUBLE, rd_expense DOUBLE);
        CREATE TABLE core.tax (uscc VARCHAR, period DATE, span_months INTEGER, tax_paid DOUBLE);""")
    firms = [(f"{c}{i:03d}", c) for c, n in (("A", 60), ("B", 13)) for i in range(n)] + [("X000", None)]
    # inserted against uscc order: a firm's rowid (the inputs' `firm`) does not give the uscc order
    con.executemany("INSERT INTO core.firms VALUES (?, ?)", firms[::-1])
    monthly, tax = [], []
    for uscc, cluster in firms:
        size = rng.lognormal(6, 1.5)
        for i, period in enumerate(MONTHS):
            if period.month == 2 or rng.random() < 0.1:
                continue                                   # 1–2月 reported together in January; gaps
            span = 2 if period.month == 1 else 1
            level = size * span * (1.8 if cluster == "A" and i >= 16 else 1.0) * rng.lognormal(0, 0.2)
            energy = None if rng.random() < 0.1 else level * 0.02
            monthly.append((uscc, period, span, level, level * 0.3, level * 1.1, level * rng.normal(0.05, 0.1),
                            round(size / 10), energy, 0.0 if rng.random() < 0.4 else level * 0.03))
            tax.append((uscc, period, span, level * 0.05))
    con.executemany("INSERT INTO core.firm_monthly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", monthly)
    con.executemany("INSERT INTO core.tax VALUES (?, ?, ?, ?)", tax)
    return con


def _evidently(con: duckdb.DuckDBPyConnection, kinds: dict, cfg: dict) -> pd.DataFrame:
    """Evidently's stattest per (month, cluster, kind, column, reference) on the plain firm values."""
    # imported here, not at the top: importing evidently costs seconds in every process that collects this module
    from evidently.legacy.calculations.stattests import wasserstein_stat_test
    from evidently.legacy.core import ColumnType

    rows = []
    for kind, spec in kinds.items():
        frame = drift._input(con, kind, MONTHS[0], MONTHS[-1])
        for t in range(12, len(MONTHS)):
            refs = {"trailing_6m": range(t - 6, t), "same_month_last_year": range(t - 12, t - 11)}
            for cluster in frame["cluster_id"].unique():
                rows_c = frame.filter(pl.col("cluster_id") == cluster)
                for column in spec["columns"]:
                    cur = drift._values(rows_c.filter(pl.col("month") == t)[column])
                    for reference, months in refs.items():
                        ref = drift._values(rows_c.filter(pl.col("month").is_in(list(months)))[column])
                        if min(len(cur), len(ref)) < cfg["min_firms"]:
                            continue
                        score, _ = wasserstein_stat_test.func(pd.Series(ref), pd.Series(cur), ColumnType.Numerical,
                                                              cfg["raise_score"])
                        rows.append((MONTHS[t], cluster, kind, column, reference, score, len(cur), len(ref)))
    return pd.DataFrame(rows, columns=[*KEY, "score", "n_current", "n_reference"])


def test_scores_are_evidentlys_stattest(warehouse):
    cfg, kinds = config()["rules"]["data_drift"], config()["drift"]["kinds"]
    got = drift.compute(warehouse, MONTHS[12:], cfg, kinds)
    want = _evidently(warehouse, kinds, cfg)
    both = want.merge(got, on=KEY, how="outer", suffixes=("", "_got"), indicator=True)
    assert (both["_merge"] == "both").all(), both[both["_merge"] != "both"]
    assert set(got["cluster_id"]) == {"A", "B"} and len(got) > 150
    assert np.allclose(both["score_got"], both["score"], rtol=1e-9, atol=1e-12)
    assert (both["n_current_got"] == both["n_current"]).all() and (both["n_reference_got"] == both["n_reference"]).all()
    assert got.loc[got["period"] == MONTHS[16], "drifted"].any()      # the planted shift is seen


def test_a_nightly_month_scores_as_the_first_night(warehouse):
    cfg, kinds = config()["rules"]["data_drift"], config()["drift"]["kinds"]
    first = drift.compute(warehouse, MONTHS[12:], cfg, kinds)
    nightly = drift.compute(warehouse, MONTHS[-1:], cfg, kinds)
    pd.testing.assert_frame_equal(first[first["period"] == MONTHS[-1]].reset_index(drop=True), nightly)


def test_html_report_rendered_in_its_own_process_shows_the_stored_scores(warehouse, tmp_path):
    """The Evidently Report of the latest month computes its own scores: they are the stored ones. Rendered as
    the night renders it, in a spawned process from the jobs read here, whose first job imported Evidently."""
    cfg, kinds = config()["rules"]["data_drift"], config()["drift"]["kinds"]
    inputs = drift.read_inputs(warehouse, MONTHS[-1:], cfg, kinds)
    results = drift.scores(inputs, cfg, kinds)
    jobs = drift.html_jobs(inputs, MONTHS[-1], cfg, kinds, results, pd.DataFrame(columns=drift.FLAG_COLUMNS),
                           tmp_path)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        prepared = pool.submit(drift.prepare_html)      # as flows.nightly.night_worker starts it
        run = drift.DriftRun(pending=[pool.submit(drift.render_job, job) for job in jobs])
        assert prepared.result() is None
        html = run.wait_html()
    assert [p.name for p in html] == ["drift_monthly.html", "drift_tax.html"] and not run.pending
    stored = {f"{r.cluster_id}·{r.column_name}": r.score
              for r in results[results["reference"] == "trailing_6m"].itertuples()}
    for path in html:
        metrics = json.loads(path.with_suffix(".json").read_text())["metrics"]
        shown = {m["config"]["column"]: m["value"] for m in metrics}
        assert shown and all(abs(v - stored[c]) < 1e-9 for c, v in shown.items()), shown


def test_html_jobs_take_the_latest_and_trailing_months_from_the_scores_inputs_in_firm_order(warehouse, tmp_path):
    """The HTML's values are not read again: each picked column holds the month's and its 6 trailing months' firm
    values as the warehouse gives them ordered by month and firm (the order Evidently's index plot follows)."""
    cfg, kinds = config()["rules"]["data_drift"], config()["drift"]["kinds"]
    inputs = drift.read_inputs(warehouse, MONTHS[-1:], cfg, kinds)
    results = drift.scores(inputs, cfg, kinds)
    jobs = drift.html_jobs(inputs, MONTHS[-1], cfg, kinds, results, pd.DataFrame(columns=drift.FLAG_COLUMNS),
                           tmp_path)
    assert [j.html.name for j in jobs] == ["drift_monthly.html", "drift_tax.html"]
    for kind, job in zip(kinds, jobs, strict=True):
        uscc = warehouse.execute("SELECT rowid AS firm, uscc FROM core.firms").pl()
        frame = drift._input(warehouse, kind, MONTHS[-7], MONTHS[-1]).join(uscc, on="firm").sort(
            "month", "uscc")   # months 0..6
        assert job.current.keys() == job.reference.keys() and len(job.current) > 1
        for key in job.current:
            cluster, column = key.split("·")
            rows = frame.filter(pl.col("cluster_id") == cluster)
            np.testing.assert_array_equal(job.current[key], drift._values(rows.filter(pl.col("month") == 6)[column]))
            np.testing.assert_array_equal(job.reference[key], drift._values(rows.filter(pl.col("month") < 6)[column]))
            assert len(job.current[key]) and len(job.reference[key]) > len(job.current[key])


def test_html_jobs_refuse_a_month_the_inputs_did_not_score(warehouse, tmp_path):
    cfg, kinds = config()["rules"]["data_drift"], config()["drift"]["kinds"]
    inputs = drift.read_inputs(warehouse, MONTHS[-1:], cfg, kinds)
    with pytest.raises(ValueError, match="do not hold"):
        drift.html_jobs(inputs, MONTHS[-2], cfg, kinds, drift.scores(inputs, cfg, kinds),
                        pd.DataFrame(columns=drift.FLAG_COLUMNS), tmp_path)


def test_each_kind_reads_every_month_its_scores_need_whatever_the_kind_before_it_held(warehouse):
    """A nightly month's input is cut to the months its tests read; the cut is the same for every kind, not the
    months the previous kind's last cluster happened to report."""
    cfg, kinds = config()["rules"]["data_drift"], config()["drift"]["kinds"]
    assert list(kinds)[-1] == "tax" and len(kinds) > 1
    warehouse.begin()
    try:      # cluster B, the last one read, reports no monthly statistics in the latest month
        warehouse.execute("DELETE FROM core.firm_monthly WHERE period = ? AND uscc LIKE 'B%'", [MONTHS[-1]])
        together = drift.compute(warehouse, MONTHS[-1:], cfg, kinds)
        alone = drift.compute(warehouse, MONTHS[-1:], cfg, {"tax": kinds["tax"]})
    finally:
        warehouse.rollback()
    tax = together[together["kind"] == "tax"].reset_index(drop=True)
    assert set(tax["cluster_id"]) == {"A", "B"} and tax["n_current"].gt(0).all()
    pd.testing.assert_frame_equal(tax, alone)
