"""Data drift of firm-level monthly distributions per cluster and source kind, with Evidently (DESIGN §6).

Method (parameters in flows/alerts.toml [rules.data_drift]): for a cluster, a source kind (monthly, tax) and
a month m, each column's firm values of m (sign(x)·ln(1+|x|), flows per month of span) are compared with
Evidently's "wasserstein" stattest (W1 distance normed by the reference's standard deviation) against
(a) the pooled 6 preceding months and (b) the same month a year earlier. Both must exceed the threshold: (b)
removes seasonality (December, 1–2月), (a) removes last year's level. Why not K-S p-values: with hundreds of
firm-months every small, harmless shift is "significant"; a normed distance is an effect size.

Speed: an Evidently Report costs ≈0.3 s per column whatever its size, far too slow for clusters × columns ×
36 months. The scores are therefore computed with Evidently's own stattest function (the code a Report
runs), one call per (cluster, column, month, reference), references capped at max_reference_rows
firm-months by a deterministic hash sample; the Report itself (the HTML an analyst opens) is rendered only
for the latest month, for at most html_max_columns columns per kind (drifting clusters first).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from evidently.legacy.calculations.stattests import wasserstein_stat_test
from evidently.legacy.core import ColumnType

from flows.warehouse import sql_statements

REFERENCES = ("trailing_6m", "same_month_last_year")


@dataclass
class DriftRun:
    """What the drift stage computed: months, result rows, HTML reports, seconds spent."""

    periods: list[dt.date] = field(default_factory=list)
    rows: int = 0
    html: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def _months_back(period: dt.date, n: int) -> dt.date:
    y, m = divmod(period.year * 12 + period.month - 1 - n, 12)
    return dt.date(y, m + 1, 1)


def _input(con: duckdb.DuckDBPyConnection, kind: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    (statement,) = sql_statements(f"drift_input_{kind}")
    return con.execute(statement, {"from": start, "to": end}).df()


def _score(ref: np.ndarray, cur: np.ndarray, threshold: float) -> float:
    """Evidently's wasserstein stattest (normed W1); the same function a Report's ValueDrift calls."""
    score, _ = wasserstein_stat_test.func(pd.Series(ref), pd.Series(cur), ColumnType.Numerical, threshold)
    return float(score)


def _cap(values: np.ndarray, cap: int) -> np.ndarray:
    """Every k-th row: rows are ordered by a hash of the firm, so this is a fixed pseudo-random sample."""
    if len(values) <= cap:
        return values
    return values[np.linspace(0, len(values) - 1, cap).astype(int)]


def _groups(frame: pd.DataFrame) -> dict[tuple[str, dt.date], pd.DataFrame]:
    frame = frame.copy()
    frame["period"] = pd.to_datetime(frame["period"]).dt.date
    return {key: g for key, g in frame.groupby(["cluster_id", "period"], sort=False)}


def compute(con: duckdb.DuckDBPyConnection, periods: list[dt.date], cfg: dict, kinds: dict) -> pd.DataFrame:
    """Per-column drift scores for the given months, all clusters and kinds (rows of mart.drift_results)."""
    if not periods:
        return pd.DataFrame()
    rows: list[tuple] = []
    n_ref_months, cap, min_n = int(cfg["reference_months"]), int(cfg["max_reference_rows"]), int(cfg["min_firms"])
    start, end = _months_back(min(periods), max(12, n_ref_months)), max(periods)
    for kind, spec in kinds.items():
        groups = _groups(_input(con, kind, start, end))
        clusters = sorted({c for c, _ in groups})
        for cluster in clusters:
            for period in periods:
                cur = groups.get((cluster, period))
                if cur is None:
                    continue
                prior = [groups.get((cluster, _months_back(period, k))) for k in range(1, n_ref_months + 1)]
                refs = {"trailing_6m": [g for g in prior if g is not None],
                        "same_month_last_year": [g for g in [groups.get((cluster, _months_back(period, 12)))]
                                                 if g is not None]}
                for column in spec["columns"]:
                    c = cur[column].dropna().to_numpy()
                    for reference, frames in refs.items():
                        if not frames:
                            continue
                        r = _cap(np.concatenate([g[column].dropna().to_numpy() for g in frames]), cap)
                        if len(c) < min_n or len(r) < min_n:
                            continue
                        threshold = float(cfg["raise_score"])
                        score = _score(r, c, threshold)
                        rows.append((period, cluster, kind, column, reference, cfg["method"], threshold, score,
                                     score >= threshold, len(c), len(r)))
    return pd.DataFrame(rows, columns=["period", "cluster_id", "kind", "column_name", "reference", "method",
                                       "threshold", "score", "drifted", "n_current", "n_reference"])


def store(con: duckdb.DuckDBPyConnection, periods: list[dt.date], results: pd.DataFrame) -> None:
    """Replace the months' rows of mart.drift_results (a re-run replaces, never duplicates)."""
    con.execute("CREATE OR REPLACE TEMP TABLE drift_periods (period DATE)")
    con.executemany("INSERT INTO drift_periods VALUES (?)", [[p] for p in periods])
    con.execute("DELETE FROM mart.drift_results WHERE period IN (SELECT period FROM drift_periods)")
    if len(results):
        con.register("drift_new", results)
        con.execute("INSERT INTO mart.drift_results BY NAME SELECT * FROM drift_new")
        con.unregister("drift_new")


def cluster_flags(con: duckdb.DuckDBPyConnection, cfg: dict) -> pd.DataFrame:
    """Per cluster and month: does the drift rule raise (and keep) — from every row of mart.drift_results.

    A column raises when both references reach raise_score (only trailing_6m exists: raise_score_no_seasonal),
    keeps when they reach keep_score; a kind raises/keeps when ≥ drift_share of its tested columns do; the
    cluster when any kind does. `score` is the median over the raising kind's columns of the smaller score.
    """
    res = con.execute(
        "SELECT period, cluster_id, kind, column_name, reference, score FROM mart.drift_results").df()
    if res.empty:
        return pd.DataFrame(columns=["cluster_id", "period", "raise", "keep", "score", "kinds", "columns"])
    res["period"] = pd.to_datetime(res["period"]).dt.date
    wide = res.pivot_table(index=["period", "cluster_id", "kind", "column_name"], columns="reference",
                           values="score").reset_index()
    for ref in REFERENCES:
        if ref not in wide:
            wide[ref] = np.nan
    both = np.fmin(wide["trailing_6m"], wide["same_month_last_year"])
    has_ly = wide["same_month_last_year"].notna()
    wide["s"] = np.where(has_ly, both, wide["trailing_6m"])
    # Seasonal guard: when the same comparison a year earlier (month m-12 against its 6 preceding months)
    # already reached keep_score, a high trailing score is the season (December, 1–2月), not news.
    last = wide[["period", "cluster_id", "kind", "column_name", "trailing_6m"]].rename(
        columns={"trailing_6m": "t6_last_year"})
    last["period"] = [_months_back(p, -12) for p in last["period"]]
    wide = wide.merge(last, how="left", on=["period", "cluster_id", "kind", "column_name"])
    seasonal = wide["t6_last_year"].fillna(0) >= cfg["keep_score"]
    wide["raise"] = ~seasonal & np.where(has_ly, wide["s"] >= cfg["raise_score"],
                                         wide["s"] >= cfg["raise_score_no_seasonal"])
    wide["keep"] = wide["s"] >= cfg["keep_score"]
    kinds = wide.groupby(["period", "cluster_id", "kind"]).agg(
        raise_share=("raise", "mean"), keep_share=("keep", "mean"), score=("s", "median"),
        columns=("column_name", lambda s: ",".join(s[wide.loc[s.index, "raise"]]))).reset_index()
    kinds["raise"] = kinds["raise_share"] >= cfg["drift_share"]
    kinds["keep"] = kinds["keep_share"] >= cfg["drift_share"]
    out = kinds.groupby(["cluster_id", "period"]).apply(
        lambda g: pd.Series({
            "raise": bool(g["raise"].any()), "keep": bool(g["keep"].any()),
            "score": float(g.loc[g["raise"], "score"].max() if g["raise"].any() else g["score"].max()),
            "kinds": ",".join(g.loc[g["raise"], "kind"]),
            "columns": ",".join(c for c in g.loc[g["raise"], "columns"] if c)}),
        include_groups=False).reset_index()
    return out


def unit_jumps(con: duckdb.DuckDBPyConnection, cfg: dict, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Count of firms per cluster and month whose output jumped ≈×10 against their own recent median."""
    (statement,) = sql_statements("drift_unit_jumps")
    return con.execute(statement, {"from": start, "to": end, "months": int(cfg["reference_months"]),
                                   "low": float(cfg["unit_jump_low"]), "high": float(cfg["unit_jump_high"])}).df()


def render_html(con: duckdb.DuckDBPyConnection, period: dt.date, cfg: dict, kinds: dict, results: pd.DataFrame,
                flags: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The Evidently Report (HTML + JSON snapshot) per kind for one month, trailing-6-month reference."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    out_dir.mkdir(parents=True, exist_ok=True)
    drifting = set(flags.loc[(flags["period"] == period) & flags["raise"], "cluster_id"]) if len(flags) else set()
    written: list[Path] = []
    n_ref_months, cap = int(cfg["reference_months"]), int(cfg["max_reference_rows"])
    for kind, spec in kinds.items():
        res = results[(results["kind"] == kind) & (results["period"] == period)
                      & (results["reference"] == "trailing_6m")]
        if res.empty:
            continue
        order = res.assign(d=res["cluster_id"].isin(drifting)).sort_values(["d", "score"], ascending=False)
        headline = spec["columns"][0]
        picked = order[order["d"] | (order["column_name"] == headline)][["cluster_id", "column_name"]]
        picked = picked.head(int(cfg["html_max_columns"])).itertuples(index=False)
        groups = _groups(_input(con, kind, _months_back(period, n_ref_months), period))
        cur_cols, ref_cols = {}, {}
        for cluster, column in picked:
            name = f"{cluster}·{column}"
            cur_cols[name] = pd.Series(groups[(cluster, period)][column].dropna().to_numpy())
            frames = [groups.get((cluster, _months_back(period, k))) for k in range(1, n_ref_months + 1)]
            ref_cols[name] = pd.Series(_cap(np.concatenate(
                [g[column].dropna().to_numpy() for g in frames if g is not None]), cap))
        if not cur_cols:
            continue
        current, reference = pd.DataFrame(cur_cols), pd.DataFrame(ref_cols)
        definition = DataDefinition(numerical_columns=list(cur_cols))
        report = Report([ValueDrift(column=c, method=cfg["method"], threshold=float(cfg["raise_score"]))
                         for c in cur_cols])
        snapshot = report.run(Dataset.from_pandas(current, data_definition=definition),
                              Dataset.from_pandas(reference, data_definition=definition))
        html = out_dir / f"drift_{kind}.html"
        snapshot.save_html(str(html))
        (out_dir / f"drift_{kind}.json").write_text(snapshot.json(), encoding="utf-8")
        written.append(html)
    return written


def run(con: duckdb.DuckDBPyConnection, periods: list[dt.date], latest: dt.date, cfg: dict, kinds: dict,
        reports_dir: Path) -> DriftRun:
    """Compute and store the months' drift scores; render the HTML report for the latest month."""
    t0 = time.perf_counter()
    results = compute(con, periods, cfg, kinds)
    store(con, periods, results)
    out = DriftRun(periods=list(periods), rows=len(results))
    if latest in periods:
        flags = cluster_flags(con, cfg)
        out.html = render_html(con, latest, cfg, kinds, results, flags,
                               Path(reports_dir) / "drift" / latest.strftime("%Y-%m"))
    out.seconds = time.perf_counter() - t0
    return out
