"""Data drift of firm-level monthly distributions per cluster and source kind, with Evidently
(docs/architecture.md#snapshots-alerts-and-reports).

Method (parameters in flows/registry/alerts.toml [rules.data_drift]): for a cluster, a source kind (monthly, tax) and
a month m, each column's firm values of m (sign(x)·ln(1+|x|), flows per month of span) are compared with
Evidently's "wasserstein" stattest (W1 distance normed by the reference's standard deviation) against
(a) the pooled 6 preceding months and (b) the same month a year earlier. Both must exceed the threshold: (b)
removes seasonality (December, 1–2月), (a) removes last year's level. Why not K-S p-values: with hundreds of
firm-months every small, harmless shift is "significant"; a normed distance is an effect size.

Exact on every firm-month, not sampled. The score is what Evidently's stattest returns,
W1(ref, cur) / max(std(ref), 0.001), W1 = ∫|F_ref(x) − F_cur(x)| dx over the two empirical CDFs. Calling that
function per (cluster, column, month, reference) sorts each month's values again in every test it takes part
in (as current, in six trailing references, as a year-earlier reference): ≈2 ms a call, 27 k calls and
≈100 s of a province's first night (36 months); earlier references were also capped at 5,000 rows, a sample
for large clusters. Instead each (cluster, column) is sorted once over all loaded months, each value keeping
its month (`_Sorted`). A month's or pooled months' CDF is then a running count along that order, and
∫|F_ref − F_cur| is a finite sum over the sorted values of the months involved (both CDFs are constant between
consecutive values), so nothing is binned or approximated; the reference's variance comes from per-month
sums of x and x². tests/test_drift.py checks the scores against Evidently's own stattest.

The Evidently Report (the HTML an analyst opens) costs ≈0.2 s per column, nearly all of it drawing plotly
figures, so it is rendered for the latest month only, for at most html_max_columns columns per kind (drifting
clusters first). It is given the same data, so its scores are the stored ones. Its input is taken from the values
the scores read (HtmlJob: plain arrays; reading the picked clusters again cost ≈0.7 CPU-s a nation night), and
the night renders it in a process of its own (run's html_pool) beside the report stage:
importing Evidently (≈3 s) and drawing its figures were most of a night's alert stage, and nothing later in the
night reads the HTML.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from flows.support.warehouse import run_sql, sql_statements

RESULT_COLUMNS = ["period", "cluster_id", "kind", "column_name", "reference", "method", "threshold", "score",
                  "drifted", "n_current", "n_reference"]
FLAG_COLUMNS = ["cluster_id", "period", "raise", "keep", "score", "kinds", "columns"]


@dataclass
class DriftRun:
    """What the drift stage computed: months, result rows, the rule per cluster and month over every stored
    score (cluster_flags, which the alerts read), HTML reports (those still rendering elsewhere in `pending`
    until wait_html), seconds spent (total and per step)."""

    periods: list[dt.date] = field(default_factory=list)
    rows: int = 0
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_COLUMNS), repr=False)
    html: list[Path] = field(default_factory=list)
    pending: list[Future] = field(default_factory=list, repr=False)
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    def wait_html(self) -> list[Path]:
        """The HTML reports once every one rendering in another process is written (its failure raises here)."""
        while self.pending:
            self.html.append(self.pending.pop(0).result())
        return self.html


def _months_back(period: dt.date, n: int) -> dt.date:
    y, m = divmod(period.year * 12 + period.month - 1 - n, 12)
    return dt.date(y, m + 1, 1)


def _month_of(start: dt.date, period: dt.date) -> int:
    """`period` counted in months from `start` (the `month` of the inputs)."""
    return (period.year - start.year) * 12 + period.month - start.month


def _input(con: duckdb.DuckDBPyConnection, kind: str, start: dt.date, end: dt.date,
           months: list[int] | None = None) -> pl.DataFrame:
    """The kind's firm values of months start..end (of `months` only, if given), in no order; `month` and
    `months` count months from start."""
    (statement,) = sql_statements(f"drift_input_{kind}")
    return con.execute(statement, {"from": start, "to": end, "months": months}).pl()


def _values(column: pl.Series) -> np.ndarray:
    return column.drop_nulls().drop_nans().to_numpy()


@dataclass
class _Sorted:
    """One cluster's values of one column over the loaded months, sorted once, each with its month.

    Any month's or pooled months' CDF is then a running count along u, so no test re-sorts anything; n, s1
    and s2 are each month's count and sums of (x − c) and (x − c)² (c: the mean of u, a stable variance).
    """

    u: np.ndarray
    month: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray

    @classmethod
    def build(cls, values: np.ndarray, months: np.ndarray, n_months: int) -> _Sorted:
        ok = ~np.isnan(values)
        if not ok.all():   # most columns have no missing value: no copy of them
            values, months = values[ok], months[ok]
        # Not a stable sort (≈3× faster): the order of equal values is then not fixed, and need not be. They form
        # one block in any order, and every sum below is the same over any order of a block: W1's terms inside
        # it have gap 0 and the counts at its end are the block's; s1, s2 and the mean add equal numbers.
        order = np.argsort(values)
        u, month = values[order], months[order]
        x = u - u.mean() if len(u) else u
        return cls(u, month, np.bincount(month, minlength=n_months),
                   np.bincount(month, weights=x, minlength=n_months),
                   np.bincount(month, weights=x * x, minlength=n_months))

    def scores(self, target: int, references: dict[str, range], min_n: int) -> dict[str, tuple[float, int]]:
        """Evidently's wasserstein stattest, W1(ref, cur) / max(std(ref), 0.001), of month `target` against
        each reference (a range of months), as (score, n_reference); only when both sides have min_n values.

        W1 = ∫|F_ref − F_cur| is summed exactly over the sorted values of the months involved: between two
        consecutive values both empirical CDFs are constant.
        """
        if self.n[target] < min_n:
            return {}
        lo = min(r.start for r in references.values())
        window = (self.month >= lo) & (self.month <= target)
        # a night's new month reads only the months its tests take: the window is then every value, not copied
        u, month = (self.u, self.month) if window.all() else (self.u[window], self.month[window])
        gaps = np.diff(u)
        cur = np.cumsum(month == target)[:-1] / self.n[target]
        out = {}
        for name, months in references.items():
            n = int(self.n[months.start:months.stop].sum())
            if n < min_n:
                continue
            inside = (month >= months.start) & (month < months.stop)
            w1 = float(np.sum(np.abs(np.cumsum(inside)[:-1] / n - cur) * gaps))  # not `@`: BLAS threads
            s1, s2 = self.s1[months.start:months.stop].sum(), self.s2[months.start:months.stop].sum()
            std = np.sqrt(max(s2 / n - (s1 / n) ** 2, 0.0))
            out[name] = (w1 / max(std, 0.001), n)
        return out


@dataclass
class Inputs:
    """The firm values a night's scores read, per kind and cluster (`month` counts months from start; `firm` a
    firm's rowid in core.firms): read once for the scores and kept for the latest month's HTML jobs, whose values
    are among them; `firms` gives each firm's uscc, read with them (sql/drift_firm_keys.sql says why)."""

    start: dt.date
    n_months: int
    targets: list[int]
    by_kind: dict[str, dict[str, pl.DataFrame]] = field(default_factory=dict, repr=False)
    firms: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False)


def read_inputs(con: duckdb.DuckDBPyConnection, periods: list[dt.date], cfg: dict, kinds: dict) -> Inputs:
    """Every kind's firm values that the given months' tests read, partitioned by cluster."""
    n_ref = int(cfg["reference_months"])
    start, end = _months_back(min(periods), max(12, n_ref)), max(periods)
    n_months = _month_of(start, end) + 1
    targets = sorted({_month_of(start, p) for p in periods})
    # The months a target's tests read: itself, its trailing months and the month a year earlier. A night that
    # scores one new month reads 8 of the 13 months before it; where the targets need every month (a first
    # night), all are read as one range.
    needed = sorted({m for t in targets for m in (t - 12, *range(t - n_ref, t + 1)) if m >= 0})
    read = None if len(needed) == n_months else needed
    by_kind = {kind: {cluster: frame for (cluster,), frame in _input(con, kind, start, end, months=read).partition_by(
        "cluster_id", as_dict=True).items()} for kind in kinds}
    return Inputs(start, n_months, targets, by_kind, run_sql(con, "drift_firm_keys").pl())


def compute(con: duckdb.DuckDBPyConnection, periods: list[dt.date], cfg: dict, kinds: dict) -> pd.DataFrame:
    """Per-column drift scores for the given months, all clusters and kinds (rows of mart.drift_results)."""
    if not periods:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return scores(read_inputs(con, periods, cfg, kinds), cfg, kinds)


def scores(inputs: Inputs, cfg: dict, kinds: dict) -> pd.DataFrame:
    """The drift scores of the inputs' target months (rows of mart.drift_results)."""
    n_ref, min_n, threshold = int(cfg["reference_months"]), int(cfg["min_firms"]), float(cfg["raise_score"])
    rows: list[tuple] = []
    for kind, spec in kinds.items():
        for cluster, frame in sorted(inputs.by_kind[kind].items()):
            row_months = frame["month"].to_numpy()
            for column in spec["columns"]:
                values = _Sorted.build(frame[column].to_numpy(), row_months, inputs.n_months)
                for t in inputs.targets:
                    references = {"trailing_6m": range(t - n_ref, t), "same_month_last_year": range(t - 12, t - 11)}
                    for reference, (score, n) in values.scores(t, references, min_n).items():
                        rows.append((_months_back(inputs.start, -t), cluster, kind, column, reference, cfg["method"],
                                     threshold, score, score >= threshold, int(values.n[t]), n))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def store(con: duckdb.DuckDBPyConnection, periods: list[dt.date], results: pd.DataFrame) -> None:
    """Replace the months' rows of mart.drift_results (a re-run replaces, never duplicates)."""
    con.execute("CREATE OR REPLACE TEMP TABLE drift_periods (period DATE)")
    con.execute("INSERT INTO drift_periods SELECT unnest(?::DATE[])", [periods])
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
    The rule is sql/drift_flags.sql: one pass over the table, however many months it holds.
    """
    (statement,) = sql_statements("drift_flags")
    flags = con.execute(statement, {k: float(cfg[k]) for k in (
        "raise_score", "raise_score_no_seasonal", "keep_score", "drift_share")}).df()
    flags["period"] = pd.to_datetime(flags["period"]).dt.date
    return flags[FLAG_COLUMNS]


def unit_jumps(con: duckdb.DuckDBPyConnection, cfg: dict, targets: pd.DataFrame) -> pd.DataFrame:
    """Count of firms per cluster and month whose output jumped ≈×10 against their own recent median.

    Only for the (cluster_id, period) rows of `targets`: the count is evidence of a drift alert, so only the
    months in which the rule holds need it.
    """
    (statement,) = sql_statements("drift_unit_jumps")
    months = int(cfg["reference_months"])
    periods = pd.to_datetime(targets["period"])
    # The history the medians read, as constants: the scan of core.firm_monthly skips the other months' blocks.
    since = (periods.min() - pd.DateOffset(months=months)).date() if len(targets) else None
    until = periods.max().date() if len(targets) else None
    con.register("drift_targets", targets[["cluster_id", "period"]])
    try:
        return con.execute(statement, {"months": months, "low": float(cfg["unit_jump_low"]),
                                       "high": float(cfg["unit_jump_high"]), "since": since,
                                       "until": until}).df()
    finally:
        con.unregister("drift_targets")


def _html_columns(results: pd.DataFrame, kind: str, period: dt.date, drifting: set[str], headline: str,
                  limit: int) -> list[tuple[str, str]]:
    """(cluster, column) pairs for the report: drifting clusters' columns, then headline columns by score."""
    res = results[(results["kind"] == kind) & (results["period"] == period)
                  & (results["reference"] == "trailing_6m")]
    order = res.assign(d=res["cluster_id"].isin(drifting)).sort_values(["d", "score"], ascending=False)
    picked = order[order["d"] | (order["column_name"] == headline)][["cluster_id", "column_name"]]
    return list(picked.head(limit).itertuples(index=False, name=None))


@dataclass
class HtmlJob:
    """One kind's Evidently Report as plain data: the picked columns' firm values of the month (current) and of
    the trailing months (reference), by "cluster·column", and where it goes. Rendered by render_job in any
    process: nothing in it refers to the warehouse."""

    current: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]
    method: str
    threshold: float
    html: Path


def html_jobs(inputs: Inputs, period: dt.date, cfg: dict, kinds: dict, results: pd.DataFrame,
              flags: pd.DataFrame, out_dir: Path) -> list[HtmlJob]:
    """The Evidently Reports of one month (one the inputs scored), trailing-6-month reference, one per kind with
    columns to show; the picked clusters' values taken from the inputs (ordered by month and uscc), not read
    again."""
    out_dir.mkdir(parents=True, exist_ok=True)
    drifting = set(flags.loc[(flags["period"] == period) & flags["raise"], "cluster_id"]) if len(flags) else set()
    jobs: list[HtmlJob] = []
    n_ref = int(cfg["reference_months"])
    t = _month_of(inputs.start, period)
    if t not in inputs.targets:
        raise ValueError(f"the drift inputs do not hold {period:%Y-%m}'s tests (their start: {inputs.start})")
    for kind, spec in kinds.items():
        picked = _html_columns(results, kind, period, drifting, spec["columns"][0], int(cfg["html_max_columns"]))
        if not picked:
            continue
        frames = {cluster: inputs.by_kind[kind][cluster].filter(pl.col("month").is_between(t - n_ref, t)).join(
            inputs.firms, on="firm").sort("month", "uscc") for cluster in {c for c, _ in picked}}
        current, reference = {}, {}
        for cluster, column in picked:
            rows = frames[cluster]
            current[f"{cluster}·{column}"] = _values(rows.filter(pl.col("month") == t)[column])
            reference[f"{cluster}·{column}"] = _values(rows.filter(pl.col("month") < t)[column])
        jobs.append(HtmlJob(current, reference, cfg["method"], float(cfg["raise_score"]),
                            out_dir / f"drift_{kind}.html"))
    return jobs


def prepare_html() -> None:
    """Import what render_job needs (Evidently: ≈3 CPU-s), as the first job of the process the HTML renders in;
    the night starts that process early, while the ingest leaves a core to spare (flows.nightly.night_worker)."""
    from evidently import DataDefinition, Dataset, Report  # noqa: F401
    from evidently.metrics import ValueDrift  # noqa: F401


def render_job(job: HtmlJob) -> Path:
    """Write one Evidently Report (HTML + JSON snapshot beside it); returns the HTML's path."""
    # Imported here, not at module level: `import evidently` takes ≈3–7 s (it loads its legacy metrics,
    # sklearn, nltk, scipy.stats), which `clusterwatch alerts` and every other reader of flows.stages.s10_alerts paid.
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    definition = DataDefinition(numerical_columns=list(job.current))
    report = Report([ValueDrift(column=c, method=job.method, threshold=job.threshold) for c in job.current])
    current = pd.DataFrame({c: pd.Series(v) for c, v in job.current.items()})
    reference = pd.DataFrame({c: pd.Series(v) for c, v in job.reference.items()})
    snapshot = report.run(Dataset.from_pandas(current, data_definition=definition),
                          Dataset.from_pandas(reference, data_definition=definition))
    snapshot.save_html(str(job.html))
    job.html.with_suffix(".json").write_text(snapshot.json(), encoding="utf-8")
    return job.html


def run(con: duckdb.DuckDBPyConnection, periods: list[dt.date], latest: dt.date, cfg: dict, kinds: dict,
        reports_dir: Path, html_pool: Executor | None = None) -> DriftRun:
    """Compute and store the months' drift scores, judge the rule over every stored score, and render the
    HTML report for the latest month: here, or in `html_pool` (a process pool), in which case it is pending in
    the result until its wait_html."""
    out = DriftRun(periods=list(periods))
    t0 = time.perf_counter()
    inputs = read_inputs(con, periods, cfg, kinds) if periods else None
    results = scores(inputs, cfg, kinds) if inputs else pd.DataFrame(columns=RESULT_COLUMNS)
    store(con, periods, results)
    out.rows = len(results)
    out.steps["scores"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    out.flags = cluster_flags(con, cfg)
    out.steps["rule"] = time.perf_counter() - t1
    if inputs is not None and latest in periods:
        t2 = time.perf_counter()
        jobs = html_jobs(inputs, latest, cfg, kinds, results, out.flags,
                         Path(reports_dir) / "drift" / latest.strftime("%Y-%m"))
        if html_pool is None:
            out.html = [render_job(job) for job in jobs]
        else:
            out.pending = [html_pool.submit(render_job, job) for job in jobs]
        out.steps["html"] = time.perf_counter() - t2
    out.seconds = time.perf_counter() - t0
    return out
