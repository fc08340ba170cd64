"""The attacker's audit of a public edition: how closely can a reader pin down each sensitive cell?

Why linear programming: a reader who wants one firm's figures combines everything published — province
totals minus the clusters shown, trailing-12-month sums month after month (out(m) = S(m) − S(m−1) +
out(m−12)), year-to-date sums, earlier editions — and every one of those relations is linear in the
clusters' monthly outputs. The tightest interval such a reader can derive for a cell is therefore the
minimum and the maximum of the cell's linear expression subject to the published values and outputs ≥ 0,
which HiGHS solves exactly (through highspy, HiGHS's own Python bindings, at the HiGHS version
scipy.optimize.linprog(method="highs") runs); τ-ARGUS and sdcTable audit tables the same way.

The model: one variable per cluster and month, x[c, m] = Σ output of the cluster's firms over records
ending in m (output_month). Every output cell is a sum of them: output_month → x[c, m]; output_ytd →
months 1..m of m's year; output_ttm → the 12 months ending with m (months before the first month of data
are zero); a province row sums its clusters, 'ALL' every cluster. The other additive indicators (counts of
suppliers and firms) get one variable per cluster, period and indicator, tied across the hierarchy. A
published cell constrains its sum to its value (HiGHS's feasibility tolerance absorbs the last-bit rounding
of sums added in another order); a sensitive cell (status ``few`` or ``dominance``) is protected when
min ≤ v·(1 − p) and max ≥ v·(1 + p).

When a cell fails, the LP's dual values name the published cells the tight bound rests on; of those this
edition may still withhold, the smallest whose value covers the missing protection is withheld (status
``complementary``), and the audit runs again until every sensitive cell is protected. Ratio indicators are
not linear in the published cells; their roll-up relations are protected by the pattern rules of
flows/support/disclosure.py (never exactly one withheld member).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import OrderedDict, defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from highspy import _core as highs
from scipy.sparse import csc_array, csr_matrix

from flows.support.registry import by_code, with_role

# Indicators whose cells are sums of the month's output_month (over the cluster's months, the province's
# clusters): the time relations (registry disclosure role monthly_sum). Every other additive indicator (role
# additive: supplier and firm counts) is related across the hierarchy only.
MONTHLY_SUMS = with_role("monthly_sum")
ADDITIVE = with_role("monthly_sum", "additive")
SENSITIVE = ("few", "dominance")
Key = tuple[str, dt.date, str]


class DisclosureError(RuntimeError):
    """The edition cannot be protected (e.g. only cells of earlier editions pin a sensitive cell down)."""


@dataclass
class CellBound:
    """What a reader can derive about one sensitive cell."""

    key: Key
    value: float
    low: float
    high: float          # inf when nothing bounds it from above

    @property
    def protection(self) -> float:
        """The smaller of the relative distances from the true value to the derivable bounds."""
        return min((self.value - self.low) / self.value, (self.high - self.value) / self.value)


@dataclass
class Audit:
    """The audit result recorded in the edition's metadata and the report's data-quality section."""

    protection_range: float
    cells_checked: int = 0
    min_protection: float | None = None      # over the cells checked (inf: none can be bounded above)
    weakest: str | None = None               # the cell with min_protection, as row_id/period/indicator
    published_cells: int = 0                 # additive cells this audit treated as known to a reader
    earlier_edition_cells: int = 0           # of those, cells fixed by editions already published
    complementary: int = 0                   # cells the audit withheld besides the primary ones
    rounds: int = 0
    lps_solved: int = 0                      # solved for it (an LP met before is answered from Block.ANSWERS)
    seconds: float = 0.0
    solver: str = (f"HiGHS {highs.HIGHS_VERSION_MAJOR}.{highs.HIGHS_VERSION_MINOR}.{highs.HIGHS_VERSION_PATCH}, "
                   "dual simplex as scipy.optimize.linprog(method='highs') runs it")
    passed: bool = False
    failures: list[str] = field(default_factory=list)
    out_before: list[str] = field(default_factory=list)  # confidential cells an earlier edition already showed

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.min_protection is not None and not np.isfinite(self.min_protection):
            out["min_protection"] = "unbounded"
        return out


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def window(indicator: str, period: dt.date, first: dt.date) -> list[dt.date]:
    """The months whose output_month an additive cell of `period` sums (none before the first data month),
    by the indicator's registry window."""
    kind = by_code()[indicator].window if indicator in MONTHLY_SUMS else None
    if kind == "month":
        start = period
    elif kind == "ytd":
        start = dt.date(period.year, 1, 1)
    elif kind == "ttm":
        y, m = divmod(period.year * 12 + period.month - 1 - 11, 12)
        start = dt.date(y, m + 1, 1)
    else:
        raise ValueError(f"{indicator} is not additive over months")
    return months_between(max(start, first), period)


class Model:
    """Variables x[cluster, month] and each additive cell's expression over them."""

    def __init__(self, members: dict[str, list[str]], first: dt.date) -> None:
        self.members = members          # row_id → clusters it sums ('c' → ['c'], 'P:x' → its clusters, 'ALL')
        self.first = first
        self.index: dict[Key, int] = {}

    def expression(self, key: Key) -> list[int]:
        row_id, period, indicator = key
        out = []
        for cluster in self.members.get(row_id, ()):
            if indicator in MONTHLY_SUMS:
                for month in window(indicator, period, self.first):
                    out.append(self.index.setdefault((cluster, month, "output_month"), len(self.index)))
            else:
                out.append(self.index.setdefault((cluster, period, indicator), len(self.index)))
        return out


def _matrix(model: Model, exprs: list[list[int]], n: int) -> csr_matrix:
    rows = np.repeat(np.arange(len(exprs)), [len(e) for e in exprs])
    cols = np.fromiter((j for e in exprs for j in e), dtype=np.int64, count=len(rows))
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(exprs), n))


def bounds(model: Model, known: dict[Key, float], sensitive: dict[Key, float]
           ) -> tuple[list[CellBound], dict[Key, dict[str, list[Key]]], int]:
    """The derivable interval of every sensitive cell; for each, the known cells its min/max bound rests on.

    Cells with the same expression (a province with one cluster and that cluster) share one pair of LPs.
    Each family (the monthly output sums; each other additive indicator) is its own LP block with its own
    scale: their variables are disjoint, and a count of 3 beside outputs of 10⁸ would sink below HiGHS's
    tolerances in one block.
    """
    out: list[CellBound] = []
    support: dict[Key, dict[str, list[Key]]] = {}
    solved = 0
    for fam in sorted({family(k) for k in sensitive}):
        found, used, n = _bounds(model, {k: v for k, v in known.items() if family(k) == fam},
                                 {k: v for k, v in sensitive.items() if family(k) == fam})
        out += found
        support.update(used)
        solved += n
    return out, support, solved


def family(key: Key) -> str:
    """The LP block a cell belongs to."""
    return "output" if key[2] in MONTHLY_SUMS else key[2]


class Block:
    """One LP block's published cells as a HiGHS model, built once and solved for one objective after another.

    Why not scipy.optimize.linprog: for every objective it validates its inputs again, converts the same
    matrix to CSC, checks each option and reads the bound duals in a Python loop, half the time of a solve
    here. This passes HiGHS — highspy, pinned to the HiGHS version scipy bundles for linprog(method="highs")
    — the model and options linprog passes it, in a fresh solver each time as linprog does, so every bound and
    every dual is the one linprog returns, bit for bit (tests/test_disclosure.py checks it), and the suppression
    the duals choose stays the same. For the same reason an LP met again — the same constraints, values and objective,
    as when the zh and en editions of a month are audited apart — is answered from ANSWERS, not solved again.
    """

    TOL = float(np.sqrt(1e-9) * 10)     # linprog's feasibility check of a solution HiGHS calls optimal
    # (block digest, objective) → (optimum, the rows with a non-zero dual) or None (unbounded); least recent out
    ANSWERS: OrderedDict[tuple[bytes, bytes], tuple[float, np.ndarray] | None] = OrderedDict()
    MAX_ANSWERS = 20_000

    def __init__(self, a_eq: csr_matrix, b: np.ndarray) -> None:
        m, n = a_eq.shape
        a = csc_array(a_eq)
        lp = highs.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
        lp.col_lower_, lp.col_upper_ = np.zeros(n), np.full(n, highs.kHighsInf)
        lp.row_lower_ = lp.row_upper_ = b
        self.lp, self.b = lp, b
        # linprog's options for method="highs" (the others it leaves at HiGHS's defaults)
        self.options = highs.HighsOptions()
        self.options.presolve = "on"
        self.options.simplex_strategy = int(highs.simplex_constants.SimplexStrategy.kSimplexStrategyDual)
        self.options.log_to_console = self.options.output_flag = False
        self.free = np.diff(a.indptr) == 0      # the variables no published cell contains
        self.digest = hashlib.sha256(b"".join(np.ascontiguousarray(x).tobytes() for x in (
            np.array([m, n]), a.indptr, a.indices, a.data, b))).digest()
        self.solved = 0

    def minimum(self, c: np.ndarray, key: Key) -> tuple[float, np.ndarray] | None:
        """min c·x subject to the block: (the optimum, the rows whose dual is not 0); None when unbounded."""
        memo = (self.digest, c.tobytes())
        if memo in self.ANSWERS:
            self.ANSWERS.move_to_end(memo)
            return self.ANSWERS[memo]
        self.lp.col_cost_ = c
        solver = highs._Highs()
        solver.passOptions(self.options)
        solver.passModel(self.lp)
        solver.run()
        self.solved += 1
        status = solver.getModelStatus()
        if status == highs.HighsModelStatus.kUnbounded:
            answer = None
        elif status != highs.HighsModelStatus.kOptimal:
            raise DisclosureError(f"audit LP for {_label(key)} failed: {solver.modelStatusToString(status)}")
        else:
            solution = solver.getSolution()
            x, rows = np.asarray(solution.col_value), np.asarray(solution.row_value)
            if not (np.all(x >= -self.TOL) and np.all(np.abs(self.b - rows) <= self.TOL)):
                raise DisclosureError(f"audit LP for {_label(key)} failed: its solution violates the published "
                                      "cells")
            answer = (solver.getInfo().objective_function_value,
                      np.flatnonzero(np.abs(np.asarray(solution.row_dual)) > 1e-12))
        self.ANSWERS[memo] = answer
        if len(self.ANSWERS) > self.MAX_ANSWERS:
            self.ANSWERS.popitem(last=False)
        return answer


def _bounds(model: Model, known: dict[Key, float], sensitive: dict[Key, float]
            ) -> tuple[list[CellBound], dict[Key, dict[str, list[Key]]], int]:
    """bounds() for one family."""
    known_keys = sorted(known, key=str)
    known_exprs = [model.expression(k) for k in known_keys]
    sens_keys = sorted(sensitive, key=str)
    sens_exprs = [model.expression(k) for k in sens_keys]
    n = len(model.index)
    # Values to order 1 (HiGHS's tolerances are absolute, 1e-7): the median magnitude of the block.
    scale = float(np.median([abs(v) for v in [*known.values(), *sensitive.values()] if v] or [1.0]))
    b = np.array([known[k] for k in known_keys], dtype=float) / scale
    block = Block(_matrix(model, known_exprs, n), b)
    solved_for: dict[frozenset[int], tuple[dict[str, float], dict[str, list[Key]]]] = {}
    out, support = [], {}
    for key, expr in zip(sens_keys, sens_exprs, strict=True):
        cached = solved_for.get(frozenset(expr))
        if cached is None:
            c = np.zeros(n)
            c[expr] = 1.0
            side: dict[str, float] = {}
            used: dict[str, list[Key]] = {}
            free = block.free[expr]
            for name, sign in (("low", 1.0), ("high", -1.0)):
                # No LP when a variable of the cell is in no published cell: then the max is unbounded (a variable
                # in one is bounded by its value: coefficients are positive, variables ≥ 0); when all are, the
                # min is 0 and rests on no cell.
                if name == "low" and free.all():
                    found = (0.0, np.zeros(0, dtype=int))
                elif name == "high" and free.any():
                    found = None
                else:
                    found = block.minimum(sign * c, key)
                if found is None:            # unbounded: nothing published limits the cell from above
                    side[name], used[name] = float("inf"), []
                    continue
                side[name] = sign * found[0] * scale
                used[name] = [known_keys[i] for i in found[1]]
            cached = solved_for[frozenset(expr)] = (side, used)
        side, used = cached
        out.append(CellBound(key, sensitive[key], side["low"], side["high"]))
        support[key] = used
    return out, support, block.solved


def _complement(bound: CellBound, support: dict[str, list[Key]], values: dict[Key, float | None],
                protection: float, blocked: set[Key]) -> Key | None:
    """The cell to withhold for a failing cell: among the published cells its tight bound rests on, the
    smallest whose value covers the missing protection (p·v), else the largest (least value lost for the
    protection gained; one cell of enough weight instead of many small ones)."""
    need = protection * bound.value
    sides = [s for s, gap in (("low", bound.value - bound.low), ("high", bound.high - bound.value)) if gap < need]
    candidates = sorted({k for s in sides for k in support[s] if k not in blocked},
                        key=lambda k: (abs(values[k] or 0.0), str(k)))
    if not candidates:
        return None
    enough = [k for k in candidates if abs(values[k] or 0.0) >= need]
    return enough[0] if enough else candidates[-1]


def _label(key: Key) -> str:
    return f"{key[0]}/{key[1]:%Y-%m}/{key[2]}"


def audit_and_complete(values: dict[Key, float | None], status: dict[Key, str], members: dict[str, list[str]],
                       first: dt.date, fixed: dict[Key, float], protection: float, max_rounds: int,
                       complete_pattern) -> tuple[dict[Key, str], Audit]:
    """Audit the additive cells; withhold complementary cells until every sensitive cell is protected.

    values: every panel cell's true value; status: the withheld cells so far (key → reason); fixed: cells
    of editions already published (known to a reader whatever this edition does); complete_pattern(status)
    re-applies the pattern rules (roll-up relations, linked indicators) after each round.
    """
    t0 = time.perf_counter()
    audit = Audit(protection_range=protection)
    status = dict(status)
    passed: dict[Key, CellBound] = {}   # withholding more only widens intervals: a protected cell stays so
    while True:
        audit.rounds += 1
        known = {k: v for k, v in values.items() if k[2] in ADDITIVE and k not in status and v is not None}
        known.update(fixed)
        sensitive = {k: v for k, v in values.items() if k[2] in ADDITIVE and status.get(k) in SENSITIVE
                     and v is not None and v > 0 and k not in passed and k not in fixed}
        found, support, solved = bounds(Model(members, first), known, sensitive)
        audit.lps_solved += solved
        failing = [f for f in found if f.protection < protection - 1e-9]
        passed.update((f.key, f) for f in found if f.protection >= protection - 1e-9)
        audit.published_cells = len(known)
        audit.earlier_edition_cells = len(fixed)
        if not failing:
            audit.passed = True
            break
        if audit.rounds >= max_rounds:
            audit.failures = [_label(f.key) for f in failing]
            break
        chosen: set[Key] = set()
        blocked = set(fixed) | set(status)   # out already, or withheld already
        for f in failing:
            pick = _complement(f, support[f.key], values, protection, blocked)
            if pick is None:
                audit.failures.append(_label(f.key))
            else:
                chosen.add(pick)
        if not chosen:
            break
        for k in chosen:
            status[k] = "complementary"
        audit.complementary += len(chosen)
        status = complete_pattern(status)
    audit.cells_checked = len(passed) + (0 if audit.passed else len(failing))
    # Confidential now but shown by an edition already out (a revision made it so): nothing can protect it.
    audit.out_before = sorted(_label(k) for k in values if k in fixed and status.get(k) in SENSITIVE)
    if passed:
        weakest = min(passed.values(), key=lambda f: f.protection)
        audit.min_protection, audit.weakest = weakest.protection, _label(weakest.key)
    audit.seconds = round(time.perf_counter() - t0, 2)
    if not audit.passed:
        raise DisclosureError(
            "public edition refused: after the audit these sensitive cells can still be derived within "
            f"±{protection:.0%}: {', '.join(sorted(set(audit.failures))[:10])}")
    return status, audit


def members_of(clusters: dict[str, str]) -> dict[str, list[str]]:
    """row_id → the clusters it sums, from cluster → province."""
    out: dict[str, list[str]] = defaultdict(list)
    for cluster, province in sorted(clusters.items()):
        out[cluster].append(cluster)
        out[f"P:{province}"].append(cluster)
        out["ALL"].append(cluster)
    return dict(out)
