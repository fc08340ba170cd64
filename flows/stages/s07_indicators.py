"""The indicator stage: monitoring indicators, classifications and ratings from core into mart (DESIGN §5).

One registry (flows/registry/indicators.toml) defines every indicator; this module loads it into
mart.indicator_dictionary, generates the wide view from it, runs the sql/indicators_*.sql files it names and
checks that they produce exactly the registered codes, and renders it as Markdown for the README. The
classification thresholds and weights live in flows/registry/classification.toml.

Work is set-based and grows with the changed months, not with history. The inputs are stored per month in
schema work under integer ids (sql/indicators_work.sql): firm facts per firm and month and their sums per
cluster and month (sql/indicators_firm_month.sql); procurement per buyer and month, the distinct local
suppliers per cluster and month, and their sums per cluster and month (sql/indicators_proc_*.sql, one month of
procurement rows per statement, so memory is bounded by a month). A full recompute builds every month, an
incremental night only the changed ones. The indicator SQL then gets the target periods as a temp table; TTM
sums are sums over 12 small per-cluster-month rows. Distinct counts over a TTM window (buyers, local
suppliers) are exact without a distinct aggregation: each stored key-month row carries prv, the previous month
its key was seen, so it counts at the targets from max(month, prv + 12 months) to month + 11 months.

Run order (_run): indicators_maps.sql (registry → ids), the work-table rebuilds of the changed months (firm facts,
procurement, and the supply-chain aggregates of sql/indicators_chain_month.sql), indicators_base.sql (fm, cm,
firm_ttm, cluster_ttm), the indicator files the registry names, then SQL_AFTER: publish, classify, the supply-chain
marts (sql/indicators_chain.sql: chain_segments, chain_flows, supply_leads) and the development index
(sql/indicators_cluster_index.sql), whose rules and weights are in flows/registry/chain_index.toml.
The work tables hold registry-derived ids, so a changed registry or configuration forces a full recompute.

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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

import duckdb

from flows.support.adcodes import adcode_names
from flows.support.settings import REGISTRY_DIR, SQL_DIR
from flows.support.warehouse import sql_text

REGISTRY_PATH = REGISTRY_DIR / "indicators.toml"
CLASSIFICATION_PATH = REGISTRY_DIR / "classification.toml"
CHAIN_INDEX_PATH = REGISTRY_DIR / "chain_index.toml"
# The dimensions of the development index: mart.cluster_index has one column per dimension, in this order.
INDEX_DIMENSIONS = ("scale", "growth", "linkage", "innovation", "digital", "green", "land")

DIRECTIONS = ("higher_better", "lower_better", "neutral")
WINDOWS = ("month", "ytd", "ttm", "as_of", "registry")
ROLLUPS = ("sum", "ratio", "growth", "max_share", "hhi")
# Run after the indicator files (which the registry names): publish, then classify.
SQL_AFTER = ("indicators_publish.sql", "classify_clusters.sql", "classify_firms.sql", "indicators_chain.sql",
             "indicators_cluster_index.sql")
# Seconds per SQL file of the last update_indicators call (for bench/bench_indicators.py).
last_timings: dict[str, float] = {}
last_statement_timings: dict[str, float] = {}
# Up to this many target periods, per-firm TTM sums come from a range join (sql/indicators_firm_ttm_few.sql).
FEW_TARGETS = 2


@dataclass(frozen=True)
class Indicator:
    """One registered indicator (see the field notes at the top of indicators.toml)."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    unit_en: str
    direction: str
    window: str
    rollup: str
    sql: str
    definition: str
    definition_zh: str


@cache
def registry() -> tuple[Indicator, ...]:
    """The indicators in registry order, validated so a typo fails loudly rather than silently."""
    raw = tomllib.loads(REGISTRY_PATH.read_text(encoding="utf-8"))["indicator"]
    out = tuple(Indicator(**entry) for entry in raw)
    codes = [i.code for i in out]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate indicator code in indicators.toml")
    for ind in out:
        if ind.direction not in DIRECTIONS or ind.window not in WINDOWS or ind.rollup not in ROLLUPS:
            raise ValueError(f"indicator {ind.code}: bad direction/window/rollup")
        if not ind.code.isidentifier():
            raise ValueError(f"indicator code {ind.code!r} is not a valid column name")
        if not (SQL_DIR / ind.sql).is_file():
            raise ValueError(f"indicator {ind.code}: sql/{ind.sql} does not exist")
    return out


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


def dictionary_markdown() -> str:
    """The registry as a Markdown table, for the README and the report's annex."""
    head = "| code | 名称 | name | unit | direction | window | definition |\n|---|---|---|---|---|---|---|\n"
    rows = [
        f"| `{i.code}` | {i.name_zh} | {i.name_en} | {i.unit} | {i.direction} | {i.window} | "
        f"{i.definition.replace('|', '/')} |"
        for i in registry()
    ]
    return head + "\n".join(rows) + "\n"


def _sql(name: str) -> str:
    """sql/<name> (the registry names files with their .sql suffix)."""
    return sql_text(name.removesuffix(".sql"))


def _config_hash() -> str:
    """Hash of everything that defines the marts; a change forces a full recompute."""
    h = hashlib.sha256()
    for path in [REGISTRY_PATH, CLASSIFICATION_PATH, CHAIN_INDEX_PATH, *sorted(SQL_DIR.glob("indicators_*.sql")),
                 *sorted(SQL_DIR.glob("classify_*.sql"))]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the marts (idempotent), refresh the dictionary and regenerate the wide view from the registry."""
    con.execute(_sql("indicators_schema.sql"))
    con.execute(_sql("indicators_chain_schema.sql"))
    con.execute("DELETE FROM mart.indicator_dictionary")
    con.executemany(
        "INSERT INTO mart.indicator_dictionary (indicator, name_zh, name_en, unit, unit_en, direction, time_window, "
        "rollup, sql_file, definition, definition_zh, ordinal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[i.code, i.name_zh, i.name_en, i.unit, i.unit_en, i.direction, i.window, i.rollup, i.sql, i.definition,
          i.definition_zh, n] for n, i in enumerate(registry(), start=1)],
    )
    columns = ",\n    ".join(
        f"max(value) FILTER (WHERE indicator = '{i.code}') AS {i.code}" for i in registry()
    )
    con.execute(_sql("indicators_wide.sql").replace("{columns}", columns))
    for i in registry():
        comment = f"{i.name_zh}（{i.unit}） / {i.name_en} ({i.unit}): {i.definition}".replace("'", "''")
        con.execute(f"COMMENT ON COLUMN mart.cluster_indicators_wide.{i.code} IS '{comment}'")


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """First and last month with monthly, tax or procurement data (the periods the marts cover)."""
    row = con.execute(
        """SELECT min(lo), max(hi) FROM (
               SELECT min(period) lo, max(period) hi FROM core.firm_monthly
               UNION ALL SELECT min(period), max(period) FROM core.tax
               UNION ALL SELECT min(period), max(period) FROM core.procurement)"""
    ).fetchone()
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
    rows = con.execute("SELECT kind, period FROM meta.changes WHERE run_id = ?", [run_id]).fetchall()
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


def _load_config(con: duckdb.DuckDBPyConnection) -> None:
    """Registry and classification config as temp tables, so the SQL reads them as data."""
    cfg = classification()
    con.execute("CREATE OR REPLACE TEMP TABLE ind_reg (indicator VARCHAR, direction VARCHAR, rollup VARCHAR)")
    con.executemany("INSERT INTO ind_reg VALUES (?, ?, ?)", [[i.code, i.direction, i.rollup] for i in registry()])
    tier = cfg["scale_tier"]
    con.execute("CREATE OR REPLACE TEMP TABLE cfg_tier (name VARCHAR, name_en VARCHAR, min_wan DOUBLE, ord INTEGER)")
    con.executemany("INSERT INTO cfg_tier VALUES (?, ?, ?, ?)",
                    [[t["name"], t["en"], float(t["min_yi"]) * 1e4, n] for n, t in enumerate(tier["tiers"])])
    st = cfg["stage"]
    con.execute(
        """CREATE OR REPLACE TEMP TABLE cfg_stage AS SELECT
               ?::DOUBLE AS linkage_min_local_supporting_rate, ?::DOUBLE AS leadership_min_chain_leaders,
               ?::DOUBLE AS innovation_min_platforms, ?::DOUBLE AS innovation_min_rd_intensity,
               ?::VARCHAR AS cluster_name, ?::VARCHAR AS cluster_en, ?::VARCHAR AS transition_name,
               ?::VARCHAR AS transition_en, ?::VARCHAR AS agglomeration_name, ?::VARCHAR AS agglomeration_en,
               ?::VARCHAR AS below_name, ?::VARCHAR AS below_en""",
        [st["linkage_min_local_supporting_rate"], st["leadership_min_chain_leaders"],
         st["innovation_min_platforms"], st["innovation_min_rd_intensity"],
         st["cluster"]["name"], st["cluster"]["en"], st["transition"]["name"], st["transition"]["en"],
         st["agglomeration"]["name"], st["agglomeration"]["en"], tier["below"]["name"], tier["below"]["en"]],
    )
    fr = cfg["firm_rating"]
    classes = sorted(fr["classes"], key=lambda c: float(c["upto"]))
    if fr["group"] not in ("cluster", "all"):
        raise ValueError("classification.toml: firm_rating.group must be 'cluster' or 'all'")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE cfg_rating AS SELECT ?::BOOLEAN AS require_above_scale,
               ?::DOUBLE AS min_land_mu, ?::DOUBLE AS cap, ?::VARCHAR AS grp, ?::VARCHAR[] AS class_names,
               ?::DOUBLE[] AS class_upto""",
        [fr["require_above_scale"], fr["min_land_mu"], fr["cap"], fr["group"],
         [c["class"] for c in classes], [float(c["upto"]) for c in classes]],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE cfg_weight (metric VARCHAR, weight DOUBLE)")
    con.executemany("INSERT INTO cfg_weight VALUES (?, ?)", [[k, float(v)] for k, v in fr["weights"].items()])
    _load_chain_config(con)


def _load_chain_config(con: duckdb.DuckDBPyConnection) -> None:
    """flows/registry/chain_index.toml and the offline adcode names as temp tables for sql/indicators_chain*.sql and
    sql/indicators_cluster_index.sql."""
    cfg = chain_index_config()
    ch, ix = cfg["chain"], cfg["index"]
    con.execute(
        """CREATE OR REPLACE TEMP TABLE cfg_chain AS SELECT ?::VARCHAR AS unlabelled_segment, ?::BIGINT AS max_leads,
               ?::DOUBLE AS weak_ratio, ?::BIGINT AS min_peers""",
        [ch["unlabelled_segment"], ch["max_leads"], ch["weak_ratio"], ch["min_peers"]])
    con.execute("CREATE OR REPLACE TEMP TABLE cfg_index AS SELECT ?::VARCHAR AS method", [ix["method"]])
    con.execute("CREATE OR REPLACE TEMP TABLE cfg_index_dim (dimension VARCHAR, weight DOUBLE)")
    con.executemany("INSERT INTO cfg_index_dim VALUES (?, ?)",
                    [[d["code"], float(d["weight"])] for d in ix["dimension"]])
    con.execute("CREATE OR REPLACE TEMP TABLE cfg_index_ind (dimension VARCHAR, indicator VARCHAR, weight DOUBLE, "
                "transform VARCHAR)")
    con.executemany("INSERT INTO cfg_index_ind VALUES (?, ?, ?, ?)",
                    [[d["code"], i["code"], float(i["weight"]), i.get("transform", "none")]
                     for d in ix["dimension"] for i in d["indicators"]])
    con.execute("CREATE OR REPLACE TEMP TABLE adcode_names (prefix VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO adcode_names VALUES (?, ?)", [list(r) for r in adcode_names()])


def _state_key(con: duckdb.DuckDBPyConnection) -> str:
    """What the marts and work tables depend on besides the facts: the configuration and the registries.

    The work tables hold registry-derived ids and cluster assignments, so a registry change (which the nightly
    run reports as a full recompute anyway) must never meet them incrementally.
    """
    row = con.execute(
        """SELECT (SELECT sum(hash(f)::HUGEINT) FROM core.firms f), (SELECT count(*) FROM core.firms),
                  (SELECT sum(hash(c)::HUGEINT) FROM core.clusters c), (SELECT count(*) FROM core.clusters),
                  (SELECT sum(hash(p)::HUGEINT) FROM core.platforms p), (SELECT count(*) FROM core.platforms)"""
    ).fetchone()
    return _config_hash() + ":" + hashlib.sha256(repr(row).encode()).hexdigest()


def _state_is_current(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    row = con.execute("SELECT config_hash FROM work.indicator_state").fetchone()
    return row is not None and row[0] == key


def update_indicators(con: duckdb.DuckDBPyConnection, changed: set[dt.date] | None) -> set[dt.date]:
    """Recompute the marts for the periods whose windows touch `changed` (None: everything) and return them.

    A changed registry or configuration, or marts never computed, force a full recompute, so the result is
    always what a full recompute would give. Runs in one transaction: readers never see half a night.
    """
    last_timings.clear()
    last_statement_timings.clear()
    t = time.perf_counter()
    ensure_schema(con)
    rng = data_range(con)
    state = _state_key(con)
    full = changed is None or not _state_is_current(con, state)
    last_timings["state"] = time.perf_counter() - t
    # Insertion order is never relied on (every reader sorts); dropping it lets DuckDB stream with less memory.
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute("BEGIN TRANSACTION")
        own_transaction = True
    except duckdb.TransactionException:  # the caller's transaction already covers the whole night
        own_transaction = False
    try:
        if full:  # the work tables start empty (and in their current layout)
            con.execute(_sql("indicators_work.sql"))
            con.execute(_sql("indicators_chain_work.sql"))
        if rng is None:
            for table in ("cluster_indicators", "province_indicators", "cluster_classes", "firm_ratings",
                          "chain_segments", "chain_flows", "supply_leads", "cluster_index"):
                con.execute(f"DELETE FROM mart.{table}")
            targets: set[dt.date] = set()
        else:
            first, last = rng
            all_months = _months(first, last)
            if full:
                targets = set(all_months)
                source = set(all_months)
            else:
                assert changed is not None
                source = {c.replace(day=1) for c in changed}
                targets = affected_periods(source, first, last)
            _run(con, sorted(targets), sorted(source), first, last, full)
        con.execute("DELETE FROM work.indicator_state")
        con.execute("INSERT INTO work.indicator_state VALUES (?, current_timestamp, ?, ?)",
                    [state, rng[0] if rng else None, rng[1] if rng else None])
        if own_transaction:
            con.execute("COMMIT")
    except BaseException:
        if own_transaction:
            con.execute("ROLLBACK")
        raise
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
    _load_config(con)
    con.execute("CREATE OR REPLACE TEMP TABLE tp AS SELECT ?::DATE AS period", [period])
    con.execute("CREATE OR REPLACE TEMP TABLE rp AS SELECT period FROM tp")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE bounds AS SELECT ?::DATE AS first_period, ?::DATE AS last_period,
               make_date(year(?::DATE) - 1, 1, 1) AS lo_ytd, (?::DATE - INTERVAL 11 MONTH)::DATE AS lo_ttm,
               ?::DATE AS hi""", [rng[0], rng[1], period, period, period])
    literals = {"{lo_ytd}": _date(dt.date(period.year - 1, 1, 1)),
                "{lo_ttm}": _date(_add_months(period, -11)), "{hi}": _date(period),
                "{keep_rule}": "false"}  # keep the other periods: only this one is replaced

    sql = partial(_filled, literals=literals)
    for text in (sql("indicators_maps.sql"), _base_sql(sql, 1), sql("classify_firms.sql")):
        con.execute(text)


def _date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _exec(con: duckdb.DuckDBPyConnection, label: str, sql: str) -> None:
    """Run a SQL file statement by statement, adding up the time of the file (last_timings) and of each statement
    (last_statement_timings; a file run once per month sums over the months)."""
    t0 = time.perf_counter()
    for n, statement in enumerate(duckdb.extract_statements(sql), start=1):
        t = time.perf_counter()
        con.execute(statement)
        key = f"{label}:{n}"
        last_statement_timings[key] = last_statement_timings.get(key, 0.0) + time.perf_counter() - t
    last_timings[label] = last_timings.get(label, 0.0) + time.perf_counter() - t0


def _add_months(d: dt.date, n: int) -> dt.date:
    k = d.year * 12 + d.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def _filled(name: str, literals: dict[str, str]) -> str:
    """sql/<name> with its {placeholders} replaced: dates go in as literals, so scans prune by zone maps."""
    text = _sql(name)
    for placeholder, value in literals.items():
        text = text.replace(placeholder, value)
    return text


def _base_sql(sql: Callable[[str], str], n_targets: int) -> str:
    """indicators_base.sql, with per-firm TTM by a range join instead of a window on a night of few targets."""
    base = sql("indicators_base.sql")
    if n_targets <= FEW_TARGETS:
        head, rest = base.split("-- @firm_ttm\n", 1)
        base = head + sql("indicators_firm_ttm_few.sql") + rest.split("-- @end_firm_ttm\n", 1)[1]
    return base


def _run(con: duckdb.DuckDBPyConnection, targets: list[dt.date], source: list[dt.date],
         first: dt.date, last: dt.date, full: bool) -> None:
    """Run the indicator SQL for the target periods (also drops periods that left the data range), after
    rebuilding the procurement aggregates of the source months."""
    _load_config(con)
    con.execute("CREATE OR REPLACE TEMP TABLE tp (period DATE)")
    # unnest of a list parameter: a night that changed no period has empty lists (executemany refuses those)
    con.execute("INSERT INTO tp SELECT unnest(?::DATE[])", [targets])
    con.execute("CREATE OR REPLACE TEMP TABLE sp (period DATE)")
    con.execute("INSERT INTO sp SELECT unnest(?::DATE[])", [source])
    # Rating periods: the annual rating (December) and the latest period (the running year's provisional one).
    con.execute("CREATE OR REPLACE TEMP TABLE rp AS SELECT period FROM tp WHERE month(period) = 12 OR period = ?",
                [last])
    lo = targets[0] if targets else first
    hi = targets[-1] if targets else first
    con.execute(
        """CREATE OR REPLACE TEMP TABLE bounds AS SELECT ?::DATE AS first_period, ?::DATE AS last_period,
               make_date(year(?::DATE) - 1, 1, 1) AS lo_ytd, (?::DATE - INTERVAL 11 MONTH)::DATE AS lo_ttm,
               ?::DATE AS hi""",
        [first, last, lo, lo, hi],
    )
    # Literal bounds, so the scans of core.* and work.* prune row groups by their zone maps.
    literals = {
        "{sp_lo}": _date(min(source) if source else first), "{sp_hi}": _date(max(source) if source else first),
        "{lo_ytd}": _date(dt.date(lo.year - 1, 1, 1)), "{lo_ttm}": _date(_add_months(lo, -11)), "{hi}": _date(hi),
        "{keep_rule}": "true",
        # sp is a contiguous run of months (a full run, one month): the date range alone selects it.
        "{sp_filter}": "false" if not source else "true" if len(source) == len(_months(min(source), max(source)))
        else "period IN (SELECT period FROM sp)",
    }

    sql = partial(_filled, literals=literals)

    _exec(con, "indicators_maps.sql", sql("indicators_maps.sql"))
    # The stored inputs of the source months: firm facts, then procurement one month at a time.
    _exec(con, "indicators_firm_month.sql", sql("indicators_firm_month.sql"))
    _exec(con, "indicators_proc_begin.sql", sql("indicators_proc_begin.sql"))
    for month in source:
        month_sql = _filled("indicators_proc_month.sql", {**literals, "{month}": _date(month)})
        _exec(con, "indicators_proc_month.sql", month_sql)
    keys = sql("indicators_proc_keys.sql").split("-- @incremental\n", 1)
    _exec(con, "indicators_proc_keys.sql", keys[0].split("-- @full\n", 1)[1] if full else keys[1])
    for table in ("new_buyer_rows", "new_supplier_rows", "old_buyer_rows", "old_supplier_rows", "proc_rows"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    # The supply-chain aggregates of the source months (sql/indicators_chain_work.sql), one month at a time.
    _exec(con, "indicators_chain_maps.sql", sql("indicators_chain_maps.sql"))
    for month in source:
        _exec(con, "indicators_chain_month.sql",
              _filled("indicators_chain_month.sql", {**literals, "{month}": _date(month)}))
    _exec(con, "indicators_proc_clusters.sql", sql("indicators_proc_clusters.sql"))
    _exec(con, "indicators_base.sql", _base_sql(sql, len(targets)))
    for name in dict.fromkeys(i.sql for i in registry()):
        _exec(con, name, sql(name))
    produced = {r[0] for r in con.execute("SELECT DISTINCT indicator FROM ind_new").fetchall()}
    expected = {i.code for i in registry()}
    if targets and produced != expected:
        raise RuntimeError(f"indicator SQL and registry disagree: missing {sorted(expected - produced)}, "
                           f"unregistered {sorted(produced - expected)}")
    for name in SQL_AFTER:
        _exec(con, name, sql(name))
