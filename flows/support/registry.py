"""The indicator registry (flows/registry/indicators.toml) and the disclosure thresholds, loaded and checked once.

Why a module in support: every stage and renderer reads an indicator's properties (names, units, definitions,
roll-up, how the report shows it, its disclosure role, whether the map shows it and on which breaks) from
here, so none of them keeps a copy and support code never has to import a stage. A missing or malformed
property fails when the registry is first read, naming the indicator, instead of showing a wrong number later.

The thresholds every audience shares (fewer than `min_firms` firms: withheld; the dominance rule; the audit's
protection range) live in flows/registry/disclosure.toml, read by `disclosure_settings()`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from flows.support.settings import REGISTRY_DIR
from flows.support.warehouse import sql_path

REGISTRY_PATH = REGISTRY_DIR / "indicators.toml"
DISCLOSURE_PATH = REGISTRY_DIR / "disclosure.toml"
INDICATOR_SQL = "s07_indicators"   # the folder of the SQL files that compute indicators

DIRECTIONS = ("higher_better", "lower_better", "neutral")
WINDOWS = ("month", "ytd", "ttm", "as_of", "registry")
ROLLUPS = ("sum", "ratio", "growth", "max_share", "hhi")
# Disclosure roles: additive cells are related across clusters → provinces → all (the attacker's audit);
# monthly_sum cells are moreover sums of output_month over their window; concentration cells describe the
# largest firms directly and are never public; ratio cells are protected through the sums behind them.
ROLES = ("monthly_sum", "additive", "ratio", "concentration")
REPORT_PLACES = ("table", "kpi", "province")
REQUIRED = ("code", "name_zh", "name_en", "unit", "unit_en", "direction", "window", "rollup", "sql", "definition",
            "definition_zh", "display", "disclosure")
DISPLAY_KEYS = ("unit_zh", "unit_en", "scale", "decimals")


@dataclass(frozen=True)
class Display:
    """How a report shows a stored value: in unit_zh / unit_en after multiplying by scale, with decimals."""

    unit_zh: str
    unit_en: str
    scale: float
    decimals: int

    def apply(self, value: float) -> float:
        """The value in the display unit. A scale below 1 divides by its whole inverse (1e-4 → ÷ 10000), so
        亿元 figures are exactly the float an analyst gets from value / 10000."""
        if self.scale < 1:
            return value / round(1 / self.scale)
        return value * self.scale


@dataclass(frozen=True)
class MapSpec:
    """The indicator on the cluster map: its place among the headline indicators (1 first) and, when the map
    can be coloured by it, the fixed class breaks, one more colour than breaks, and the labels' decimals."""

    headline: int
    breaks: tuple[float, ...] = ()
    colors: tuple[str, ...] = ()
    decimals: int = 1

    @property
    def colour(self) -> bool:
        return bool(self.breaks)


@dataclass(frozen=True)
class DisclosureSpec:
    """The indicator's role in disclosure control, the firm-level sums its value is built from (the dominance
    rule; measures of sql/report_contributions.sql) and the additive indicator that, withheld, withholds it too
    (a growth rate and one year's total give the other year's)."""

    role: str
    dominance: tuple[str, ...] = ()
    linked: str | None = None


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
    display: Display
    disclosure: DisclosureSpec
    map: MapSpec | None = None
    report: tuple[tuple[str, int], ...] = ()   # (place, position): the report's table, KPI list, province table


def _fail(code: str, why: str) -> ValueError:
    return ValueError(f"flows/registry/indicators.toml: indicator {code}: {why}")


def _indicator(entry: dict[str, Any]) -> Indicator:
    """One [[indicator]] entry, every property checked."""
    code = entry.get("code", "?")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise _fail(code, f"missing {', '.join(missing)}")
    unknown = set(entry) - {*REQUIRED, "map", "report"}
    if unknown:
        raise _fail(code, f"unknown properties {', '.join(sorted(unknown))}")
    if not code.isidentifier():
        raise _fail(code, "the code is not a valid column name")
    if entry["direction"] not in DIRECTIONS or entry["window"] not in WINDOWS or entry["rollup"] not in ROLLUPS:
        raise _fail(code, f"direction must be one of {DIRECTIONS}, window of {WINDOWS}, rollup of {ROLLUPS}")
    try:
        folder = sql_path(entry["sql"]).parent.name
    except FileNotFoundError:
        raise _fail(code, f"no SQL file {entry['sql']}") from None
    if folder != INDICATOR_SQL:
        raise _fail(code, f"{entry['sql']} is not in sql/{INDICATOR_SQL}/")
    display = entry["display"]
    if set(display) != set(DISPLAY_KEYS) or not float(display["scale"]) > 0:
        raise _fail(code, f"display needs exactly {', '.join(DISPLAY_KEYS)} with scale > 0")
    disclosure = entry["disclosure"]
    if disclosure.get("role") not in ROLES or set(disclosure) - {"role", "dominance", "linked"}:
        raise _fail(code, f"disclosure needs a role of {ROLES} (and optionally dominance, linked)")
    if (disclosure["role"] in ("monthly_sum", "additive")) != (entry["rollup"] == "sum"):
        raise _fail(code, "a roll-up 'sum' indicator and only one has the disclosure role additive or monthly_sum")
    spec = None
    if "map" in entry:
        m = entry["map"]
        if set(m) - {"headline", "breaks", "colors", "decimals"} or int(m.get("headline", 0)) < 1:
            raise _fail(code, "map needs headline (its place, from 1) and optionally breaks, colors, decimals")
        if len(m.get("colors", ())) != (len(m["breaks"]) + 1 if "breaks" in m else 0):
            raise _fail(code, "map.colors needs one colour more than map.breaks")
        spec = MapSpec(int(m["headline"]), tuple(m.get("breaks", ())), tuple(m.get("colors", ())),
                       int(m.get("decimals", 1)))
    report = entry.get("report", {})
    if set(report) - set(REPORT_PLACES):
        raise _fail(code, f"report places are {REPORT_PLACES}")
    fields = {k: entry[k] for k in REQUIRED if k not in ("display", "disclosure")}
    return Indicator(**fields, display=Display(str(display["unit_zh"]), str(display["unit_en"]),
                                               display["scale"], int(display["decimals"])),
                     disclosure=DisclosureSpec(disclosure["role"], tuple(disclosure.get("dominance", ())),
                                               disclosure.get("linked")),
                     map=spec, report=tuple(sorted((k, int(v)) for k, v in report.items())))


@cache
def registry() -> tuple[Indicator, ...]:
    """The indicators in registry order (the wide view's column order), validated so a typo fails loudly."""
    raw = tomllib.loads(REGISTRY_PATH.read_text(encoding="utf-8"))["indicator"]
    out = tuple(_indicator(entry) for entry in raw)
    codes = [i.code for i in out]
    if len(set(codes)) != len(codes):
        raise ValueError("flows/registry/indicators.toml: duplicate indicator code")
    for ind in out:
        if ind.disclosure.linked is not None and ind.disclosure.linked not in codes:
            raise _fail(ind.code, f"disclosure.linked names no indicator: {ind.disclosure.linked}")
    for place in ("headline", *REPORT_PLACES):
        positions = [p for p in (_position(i, place) for i in out) if p is not None]
        if sorted(positions) != list(range(1, len(positions) + 1)):
            raise ValueError(f"flows/registry/indicators.toml: the {place} positions must be 1..n, once each")
    return out


def _position(ind: Indicator, place: str) -> int | None:
    if place == "headline":
        return ind.map.headline if ind.map else None
    return dict(ind.report).get(place)


@cache
def by_code() -> dict[str, Indicator]:
    """The registry by code."""
    return {i.code: i for i in registry()}


def codes_for(place: str) -> tuple[str, ...]:
    """The indicators a place shows, in its order: 'headline' (the map and its snapshot rows), 'colour' (the
    indicators a map can be coloured by), or a report place ('table', 'kpi', 'province')."""
    if place == "colour":
        return tuple(c for c in codes_for("headline") if by_code()[c].map.colour)  # type: ignore[union-attr]
    if place not in ("headline", *REPORT_PLACES):
        raise ValueError(f"unknown place {place!r}")
    ranked = [(p, i.code) for i in registry() if (p := _position(i, place)) is not None]
    return tuple(code for _, code in sorted(ranked))


def with_role(*roles: str) -> tuple[str, ...]:
    """Codes whose disclosure role is one of roles, in registry order."""
    return tuple(i.code for i in registry() if i.disclosure.role in roles)


@cache
def disclosure_settings() -> dict[str, Any]:
    """flows/registry/disclosure.toml: min_firms, the dominance rule, the audit's protection range and rounds."""
    cfg = tomllib.loads(DISCLOSURE_PATH.read_text(encoding="utf-8"))
    if int(cfg["min_firms"]) < 1 or int(cfg["dominance_n"]) < 1 or not 0 < float(cfg["dominance_share"]) <= 1:
        raise ValueError("flows/registry/disclosure.toml: min_firms ≥ 1, dominance_n ≥ 1, 0 < dominance_share ≤ 1")
    return cfg


def min_firms() -> int:
    """Fewer contributing firms than this: the value is withheld in every file, map and report."""
    return int(disclosure_settings()["min_firms"])
