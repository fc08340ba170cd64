"""The indicator stage: monitoring indicators, classifications and ratings from core into mart
(docs/architecture.md#indicators).

One registry (flows/registry/indicators.toml, loaded by flows/support/registry.py) defines every indicator;
this module writes it into mart.indicator_dictionary, generates the wide view from it, runs the files of
sql/s07_indicators/ it names and checks that they produce exactly the registered codes. The
classification thresholds and weights live in flows/registry/classification.toml.

Work is set-based and grows with the changed months, not with history. The inputs are stored per month in
schema work under integer ids (indicators_work.sql): firm facts per firm and month and their sums per
cluster and month (indicators_firm_month.sql); procurement per buyer and month, the distinct local
suppliers per cluster and month, and their sums per cluster and month (indicators_proc_*.sql, one month of
procurement rows per statement, so memory is bounded by a month), and the supply leads' inputs — each month's
outside suppliers with their amounts, least names and buying firms under integer ids (indicators_chain_work.sql) —
so no later step reads core.procurement again. A full recompute builds every month, an incremental night only the
changed ones: it reads the changed months' procurement and the stored rows of the others. The indicator SQL then
gets the target periods as a temp table; TTM sums are sums over 12 small per-cluster-month rows. Distinct counts
over a TTM window (buyers, local suppliers) are exact without a distinct aggregation: each stored key-month row
carries prv, the previous month its key was seen, so it counts at the targets from max(month, prv + 12 months) to
month + 11 months. The links are made afresh on a full recompute (indicators_proc_keys_full.sql); a night that only
appends a month after every stored one — the ordinary night — links its rows to their keys' last stored months
(indicators_proc_keys_append.sql), any other night re-links the keys that came or went
(indicators_proc_keys_incremental.sql).

Run order: the numbered files of sql/s07_indicators/, each declaring the tables it reads and writes — the
dictionary and wide view, the data range and state, the state cleared (indicators_state_clear.sql: the stage's
statements commit one by one, see update_indicators), the config and target temp tables (the only values bound
from Python, as named parameters), indicators_maps.sql and indicators_chain_maps.sql (registry → ids), on a full
recompute the work tables emptied (indicators_work.sql, indicators_chain_work.sql), the work-table rebuilds of the
changed months (firm facts, procurement, and the supply-chain aggregates of indicators_chain_month.sql), the
shared inputs (fm, cm, firm_ttm, cluster_ttm), the indicator files the registry names, then publish, classify, the
supply-chain marts (indicators_chain.sql: chain_segments and chain_flows; indicators_lead_window_full.sql or
_incremental.sql: the supply leads' window, summed afresh or rolled by a month; indicators_lead_amounts.sql: the lead
candidates and their TTM amounts, or with one target indicators_lead_amounts_one.sql from the rolled window;
indicators_lead_rank.sql: the leads ranked; indicators_lead_buyers.sql, or with one target
indicators_lead_buyers_one.sql: their distinct buying firms; indicators_leads.sql: supply_leads)
and the development index (indicators_cluster_index.sql), whose rules and weights are in
flows/registry/chain_index.toml.
The work tables hold registry-derived ids, so a changed registry or configuration forces a full recompute.

Exact sums: every sum (and mean) of a DOUBLE casts the values to DECIMAL(38,12) — 12 decimals, 26 integer digits —
adds them as 128-bit integers and casts the total back to DOUBLE. A DOUBLE sum depends on the order DuckDB's threads
add in, so two runs of the same night differed in the last bits (a value rounded to 12 significant digits flipped,
a firm's rating score or a supply lead's rank among equal amounts changed); an exact sum does not depend on order,
so every run, on one process or on Dask workers, publishes the same marts. Sums of integers (counts, maturity
levels) are exact in DOUBLE already.

Firm ratings (mart.firm_ratings) are annual (TTM at December): they are computed for the December periods and
for the latest period of the data (the provisional rating of the running year), not for every month;
rate_firms(con, period) computes them for any other month on demand.

Flags in mart.cluster_indicators.flags (sorted VARCHAR[]):
  span            a record ending in m covers more than one month (1–2月 reported together)
  span_edge       a record inside the TTM window covers months before the window
  partial_window  the window (TTM, YTD, or last year's YTD for YoY) starts before the first month with data;
                  the value is computed over the months that exist
  no_procurement  local_supplier_count is 0 because nothing was bought in the window
  undefined:<why> the value is NULL: no_records, no_comparable_firms, zero_base, no_land, zero_revenue,
                  zero_output, zero_employees, not_reported, no_procurement, zero_amount,
                  no_leader_procurement, no_survey, no_maturity, no_firms
mart.province_indicators adds undefined:no_values / undefined:zero_denominator; mart.firm_ratings flags
undefined:<metric> for a value scored at the neutral ratio 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import tomllib
from functools import cache

import duckdb

from flows.support.adcodes import adcode_names
from flows.support.registry import REGISTRY_PATH, registry
from flows.support.settings import REGISTRY_DIR
from flows.support.warehouse import identifier, run_sql, sql_files

CLASSIFICATION_PATH = REGISTRY_DIR / "classification.toml"
CHAIN_INDEX_PATH = REGISTRY_DIR / "chain_index.toml"
# The dimensions of the development index: mart.cluster_index has one column per dimension, in this order.
INDEX_DIMENSIONS = ("scale", "growth", "linkage", "innovation", "digital", "green", "land")

# The stage's SQL folder (numbered files in run order).
STAGE_SQL = "s07_indicators"
# Run after the indicator files (which the registry names): publish, classify, the chain marts, the index.
SQL_AFTER = ("indicators_publish", "classify_clusters", "classify_firms", "indicators_chain",
             "indicators_lead_window", "indicators_lead_amounts", "indicators_lead_rank", "indicators_lead_buyers",
             "indicators_leads", "indicators_cluster_index")
# Seconds per SQL file of the last update_indicators call (for bench/bench_indicators.py).
last_timings: dict[str, float] = {}
last_statement_timings: dict[str, float] = {}
# CPU seconds (the process's, DuckDB's threads included) per SQL file of the last call: on a shared machine wall
# seconds say little, and the stage's cost is its CPU.
last_cpu_timings: dict[str, float] = {}
# Up to this many target periods, per-firm TTM sums come from a range join (indicators_firm_ttm_few.sql).
FEW_TARGETS = 2
# The firm rating's metrics (sql/s07_indicators/24_classify_firms.sql scores each in its own column).
RATING_METRICS = ("per_mu_tax", "per_mu_value_added", "output_per_tce", "labour_productivity", "rd_intensity")


@cache
def classification() -> dict:
    """The classification thresholds and weights (flows/registry/classification.toml)."""
    return tomllib.loads(CLASSIFICATION_PATH.read_text(encoding="utf-8"))


@cache
def chain_index_config() -> dict:
    """The supply-chain rules and the development index (flows/registry/chain_index.toml), checked against the registry
    so a typo or a neutral indicator fails loudly instead of scoring nothing."""
    cfg = tomllib.loads(CHAIN_INDEX_PATH.read_text(encoding="utf-8"))
    chain, index = cfg["chain"], cfg["index"]
    if not (float(chain["weak_ratio"]) > 0 and int(chain["min_peers"]) >= 1 and int(chain["max_leads"]) >= 1):
        raise ValueError("chain_index.toml: weak_ratio > 0, min_peers ≥ 1 and max_leads ≥ 1 are required")
    if index["method"] not in ("minmax", "percentile"):
        raise ValueError("chain_index.toml: index.method must be 'minmax' or 'percentile'")
    dims = index["dimension"]
    if tuple(d["code"] for d in dims) != INDEX_DIMENSIONS:
        raise ValueError(f"chain_index.toml: the dimensions must be {INDEX_DIMENSIONS} in that order")
    if abs(sum(float(d["weight"]) for d in dims) - 1.0) > 1e-9:
        raise ValueError("chain_index.toml: dimension weights must sum to 1")
    direction = {i.code: i.direction for i in registry()}
    for d in dims:
        for ind in d["indicators"]:
            if direction.get(ind["code"]) in (None, "neutral"):
                raise ValueError(f"chain_index.toml: {ind['code']} is not a registered indicator with a direction")
            if float(ind["weight"]) <= 0 or ind.get("transform", "none") not in ("none", "log", "log1p"):
                raise ValueError(f"chain_index.toml: {ind['code']}: weight > 0 and transform none|log|log1p")
    return cfg


def _config_hash() -> str:
    """Hash of everything that defines the marts; a change forces a full recompute."""
    h = hashlib.sha256()
    stage_sql = sorted(path for path in sql_files().values() if path.parent.name == STAGE_SQL)
    for path in [REGISTRY_PATH, CLASSIFICATION_PATH, CHAIN_INDEX_PATH, *stage_sql]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def refresh_dictionary(con: duckdb.DuckDBPyConnection) -> None:
    """Write the registry into mart.indicator_dictionary and regenerate the wide view's columns from it."""
    reg = registry()
    run_sql(con, "indicators_dictionary", {
        "codes": [i.code for i in reg], "names_zh": [i.name_zh for i in reg], "names_en": [i.name_en for i in reg],
        "units": [i.unit for i in reg], "units_en": [i.unit_en for i in reg],
        "directions": [i.direction for i in reg], "windows": [i.window for i in reg],
        "rollups": [i.rollup for i in reg], "sql_files": [i.sql for i in reg],
        "definitions": [i.definition for i in reg], "definitions_zh": [i.definition_zh for i in reg],
    }, {"indicator_columns": [i.code for i in reg]})
    for i in reg:  # COMMENT ON takes no parameter: a string literal, quotes doubled
        comment = f"{i.name_zh}（{i.unit}） / {i.name_en} ({i.unit}): {i.definition}".replace("'", "''")
        con.execute(f"COMMENT ON COLUMN mart.cluster_indicators_wide.{identifier(i.code)} IS '{comment}'")


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """First and last month with monthly, tax or procurement data (the periods the marts cover)."""
    row = run_sql(con, "indicators_data_range").fetchone()
    if row is None or row[0] is None:
        return None
    return row[0].replace(day=1), row[1].replace(day=1)


def affected_periods(changed: set[dt.date], first: dt.date, last: dt.date) -> set[dt.date]:
    """Periods whose windows touch a changed month: TTM m..m+11, YTD and YoY the rest of m's year and
    the next year (m through December of the following year), and the supply leads' TTM a year earlier
    (mart.supply_leads.amount_prev_ttm: m+12..m+23), within the data range."""
    out: set[dt.date] = set()
    months = _months(first, last)
    for c in changed:
        c = c.replace(day=1)
        end = max(dt.date(c.year + 1, 12, 1), _add_months(c, 23))
        out.update(m for m in months if c <= m <= end)
    return out


def changed_periods(con: duckdb.DuckDBPyConnection, run_id: int) -> set[dt.date] | None:
    """Months a run touched, from meta.changes; None (recompute all) when it changed a registry.

    Digital surveys hold until the next survey, so a survey change touches every later month too.
    """
    rows = con.execute("SELECT kind, period FROM meta.changes WHERE run_id = $run_id", {"run_id": run_id}).fetchall()
    if any(period is None for _, period in rows):
        return None
    rng = data_range(con)
    out: set[dt.date] = set()
    for kind, period in rows:
        month = period.replace(day=1)
        out.add(month)
        if kind in ("digital", "digital_surveys") and rng is not None:
            out.update(m for m in _months(month, rng[1]))
    return out


def _config_params() -> dict[str, object]:
    """The registry and the configuration as the parameters of sql/s07_indicators/07_indicators_config.sql."""
    cfg = classification()
    tier, st, fr = cfg["scale_tier"], cfg["stage"], cfg["firm_rating"]
    classes = sorted(fr["classes"], key=lambda c: float(c["upto"]))
    if fr["group"] not in ("cluster", "all"):
        raise ValueError("classification.toml: firm_rating.group must be 'cluster' or 'all'")
    if not fr["weights"] or not set(fr["weights"]) <= set(RATING_METRICS):
        raise ValueError(f"classification.toml: firm_rating.weights must weigh some of {RATING_METRICS} and nothing "
                         f"else, not {sorted(fr['weights'])}")
    chain = chain_index_config()
    ch, ix = chain["chain"], chain["index"]
    dim_inds = [(d["code"], i) for d in ix["dimension"] for i in d["indicators"]]
    names = adcode_names()
    return {
        "ind_codes": [i.code for i in registry()], "ind_directions": [i.direction for i in registry()],
        "ind_rollups": [i.rollup for i in registry()],
        "tier_names": [t["name"] for t in tier["tiers"]], "tier_names_en": [t["en"] for t in tier["tiers"]],
        "tier_min_wan": [float(t["min_yi"]) * 1e4 for t in tier["tiers"]],
        **{key: st[key] for key in ("linkage_min_local_supporting_rate", "leadership_min_chain_leaders",
                                    "innovation_min_platforms", "innovation_min_rd_intensity")},
        "cluster_name": st["cluster"]["name"], "cluster_en": st["cluster"]["en"],
        "transition_name": st["transition"]["name"], "transition_en": st["transition"]["en"],
        "agglomeration_name": st["agglomeration"]["name"], "agglomeration_en": st["agglomeration"]["en"],
        "below_name": tier["below"]["name"], "below_en": tier["below"]["en"],
        "require_above_scale": fr["require_above_scale"], "min_land_mu": fr["min_land_mu"], "cap": fr["cap"],
        "rating_group": fr["group"], "class_names": [c["class"] for c in classes],
        "class_upto": [float(c["upto"]) for c in classes],
        "weight_metrics": list(fr["weights"]), "weights": [float(v) for v in fr["weights"].values()],
        "unlabelled_segment": ch["unlabelled_segment"], "max_leads": ch["max_leads"],
        "weak_ratio": ch["weak_ratio"], "min_peers": ch["min_peers"], "index_method": ix["method"],
        "dim_codes": [d["code"] for d in ix["dimension"]],
        "dim_weights": [float(d["weight"]) for d in ix["dimension"]],
        "dim_ind_dimensions": [d for d, _ in dim_inds], "dim_ind_codes": [i["code"] for _, i in dim_inds],
        "dim_ind_weights": [float(i["weight"]) for _, i in dim_inds],
        "dim_ind_transforms": [i.get("transform", "none") for _, i in dim_inds],
        "adcode_prefixes": [r[0] for r in names], "adcode_names": [r[1] for r in names],
    }


def _state(con: duckdb.DuckDBPyConnection) -> tuple[str, bool]:
    """What the marts and work tables depend on besides the facts (the configuration and the registries), and
    whether the marts were last computed with exactly that (sql/s07_indicators/03_indicators_state.sql)."""
    *registries, stored = run_sql(con, "indicators_state").fetchone()
    key = _config_hash() + ":" + hashlib.sha256(repr(tuple(registries)).encode()).hexdigest()
    return key, stored == key


def update_indicators(con: duckdb.DuckDBPyConnection, changed: set[dt.date] | None) -> set[dt.date]:
    """Recompute the marts for the periods whose windows touch `changed` (None: everything) and return them.

    A changed registry or configuration, or marts never computed, force a full recompute, so the result is
    always what a full recompute would give. Its statements commit one by one (see inside): a stage stopped midway
    leaves no state, so the next try recomputes everything.
    """
    last_timings.clear()
    last_statement_timings.clear()
    last_cpu_timings.clear()
    t = time.perf_counter()
    refresh_dictionary(con)
    rng = data_range(con)
    state, current = _state(con)
    full = changed is None or not current
    last_timings["state"] = time.perf_counter() - t
    if rng is None:
        targets: set[dt.date] = set()
        source: set[dt.date] = set()
    elif full:
        targets = source = set(_months(*rng))
    else:
        assert changed is not None
        source = {c.replace(day=1) for c in changed}
        targets = affected_periods(source, *rng)
    # Insertion order is never relied on (every reader sorts); dropping it lets DuckDB stream with less memory.
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        # Each statement commits on its own, not the stage as one transaction: DuckDB's planner estimates a table by
        # its committed rows, so inside a transaction every table the stage made or filled counted as empty (its temp
        # tables; on a full recompute every work table too) and its joins built their hash tables on the big side
        # (nation full recompute 250 → 191 CPU-s; session 12 had taken the look-ups out of the transaction for the
        # same reason). The state is cleared first and saved last, so a stage stopped midway (a failed try, a killed
        # night) leaves the marts not current and the next try recomputes everything: the result is always what a
        # full recompute gives. Nobody reads the night's copy before it is published, and it is published only when
        # the whole night succeeded (flows/support/warehouse.py building).
        _run_file(con, "indicators_state_clear")
        if rng is not None:
            _lookups(con, sorted(targets), sorted(source), rng)
        if full:  # the work tables start empty (and in their current layout)
            _run_file(con, "indicators_work")
            _run_file(con, "indicators_chain_work")
        if rng is None:
            _run_file(con, "indicators_clear")
        else:
            _run(con, sorted(targets), sorted(source), rng[1], full)
        run_sql(con, "indicators_state_save", {"config_hash": state, "first_period": rng[0] if rng else None,
                                               "last_period": rng[1] if rng else None})
    finally:
        con.execute(f"SET preserve_insertion_order = {bool(keep_order)}")
    return targets


def rate_firms(con: duckdb.DuckDBPyConnection, period: dt.date) -> None:
    """mart.firm_ratings for one period on demand (the nightly run keeps December and the latest period only;
    the next nightly run drops such extra periods again). The marts must be current (update_indicators)."""
    rng = data_range(con)
    if rng is None:
        return
    period = period.replace(day=1)
    run_sql(con, "indicators_config", _config_params())
    # keep the other periods' ratings: only this one is replaced
    _targets(con, [period], [], [period], rng, drop_unrated_periods=False)
    for name in ("indicators_maps", "indicators_base", "indicators_firm_ttm_few", "classify_firms"):
        run_sql(con, name)


def _targets(con: duckdb.DuckDBPyConnection, targets: list[dt.date], source: list[dt.date], rated: list[dt.date],
             rng: tuple[dt.date, dt.date], drop_unrated_periods: bool) -> None:
    """The run's target, source and rated periods and its bounds (sql/s07_indicators/08_indicators_targets.sql)."""
    first, last = rng
    run_sql(con, "indicators_targets", {
        "targets": targets, "sources": source, "rated": rated, "first_period": first, "last_period": last,
        "lo": targets[0] if targets else first, "hi": targets[-1] if targets else first,
        "sp_lo": min(source) if source else first, "sp_hi": max(source) if source else first,
        "drop_unrated_periods": drop_unrated_periods})


def _run_file(con: duckdb.DuckDBPyConnection, name: str,
              params: dict | None = None) -> duckdb.DuckDBPyConnection:
    """Run one SQL file of the stage, adding up the time of the file (last_timings, last_cpu_timings) and of each
    statement (last_statement_timings; a file run once per month sums over the months). Returns the connection, whose
    result is the file's last statement's."""
    t0, c0 = time.perf_counter(), time.process_time()
    run_sql(con, name, params, timings=last_statement_timings)
    last_timings[name] = last_timings.get(name, 0.0) + time.perf_counter() - t0
    last_cpu_timings[name] = last_cpu_timings.get(name, 0.0) + time.process_time() - c0
    return con


def _add_months(d: dt.date, n: int) -> dt.date:
    k = d.year * 12 + d.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def _lookups(con: duckdb.DuckDBPyConnection, targets: list[dt.date], source: list[dt.date],
             rng: tuple[dt.date, dt.date]) -> None:
    """The run's temp look-ups, from the configuration and the registries only: configuration, targets, registry
    maps and the supply-chain maps."""
    _run_file(con, "indicators_config", _config_params())
    _run_file(con, "indicators_rollup")  # the roll-up formula (rollup_value), shared with the report's panel
    # Rated periods: the annual rating (December) and the latest period (the running year's provisional one).
    rated = [t for t in targets if t.month == 12 or t == rng[1]]
    _targets(con, targets, source, rated, rng, drop_unrated_periods=True)
    _run_file(con, "indicators_maps")
    _run_file(con, "indicators_chain_maps")


def _proc_keys(con: duckdb.DuckDBPyConnection, full: bool) -> str:
    """The file that links the rebuilt months' key-month rows: afresh on a full recompute; on a night that only
    appends a month (the ordinary night) to their keys' last stored month, without re-linking any stored row;
    else by the general incremental form (sql/s07_indicators/15_indicators_proc_keys_*.sql)."""
    if full:
        return "indicators_proc_keys_full"
    appended = _run_file(con, "indicators_proc_keys_appended").fetchone()[0]
    return "indicators_proc_keys_append" if appended else "indicators_proc_keys_incremental"


def _run(con: duckdb.DuckDBPyConnection, targets: list[dt.date], source: list[dt.date], last: dt.date,
         full: bool) -> None:
    """Run the indicator SQL for the target periods (also drops periods that left the data range), after
    rebuilding the stored inputs of the source months (the look-ups of _lookups are made)."""
    # The stored inputs of the source months: firm facts, then procurement one month at a time — the month's rows
    # located once (indicators_proc_month) feed both the procurement and the supply-chain aggregates
    # (indicators_chain_month, indicators_chain_work.sql).
    _run_file(con, "indicators_firm_month")
    if not full:  # the supply leads' window: out go the months leaving it or rebuilt, as they were stored
        _run_file(con, "indicators_lead_window_out")
    _run_file(con, "indicators_proc_begin")
    for month in source:
        _run_file(con, "indicators_proc_month", {"month": month})
        _run_file(con, "indicators_chain_month")
    _run_file(con, _proc_keys(con, full))
    _run_file(con, "indicators_proc_end")
    _run_file(con, "indicators_proc_clusters")
    _run_file(con, "indicators_base")
    _run_file(con, "indicators_firm_ttm_few" if len(targets) <= FEW_TARGETS else "indicators_firm_ttm")
    _run_file(con, "indicators_cluster_ttm")
    for name in dict.fromkeys(i.sql.removesuffix(".sql") for i in registry()):
        _run_file(con, name)
    produced = {r[0] for r in con.execute("SELECT DISTINCT indicator FROM ind_new").fetchall()}
    expected = {i.code for i in registry()}
    if targets and produced != expected:
        raise RuntimeError(f"indicator SQL and registry disagree: missing {sorted(expected - produced)}, "
                           f"unregistered {sorted(produced - expected)}")
    for name in SQL_AFTER:
        if name == "indicators_lead_window":  # rolled on an incremental night, summed afresh on a full recompute
            name += "_full" if full else "_incremental"
        # one target (an ordinary night: the last period) is ranked on the rolled window, and its leads' buyers are
        # counted without first cutting the window's rows to the leads' keys
        elif name in ("indicators_lead_amounts", "indicators_lead_buyers") and targets == [last]:
            name += "_one"
        _run_file(con, name)
