"""The indicator registry is the one home of every indicator: no code used elsewhere is undefined there, and no
entry lacks a property the stages, the maps, disclosure control or the report read from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from flows.render import maps
from flows.support import disclosure, registry
from flows.support.settings import REGISTRY_DIR, ROOT, SQL_DIR
from flows.support.warehouse import sql_path

CODE = r"([a-z][a-z0-9_]*)"  # the shape of a code (an SQL column name); labels and ids ('ALL') are not codes
# Where a name is used as an indicator code, by the form of the reference (SQL, also inside Python strings):
# a comparison or IN list on an `indicator` column, a struct field 'indicator': '…', and the row an indicator
# file appends (SELECT cluster_id, period, '<code>', value, …).
PRODUCED = re.compile(r"SELECT\s+cluster_id,\s*period,\s*'" + CODE + "'", re.IGNORECASE)
SQL_REFS = (
    PRODUCED,
    re.compile(r"\bindicator\s*(?:=|==|<>|!=)\s*['\"]" + CODE + "['\"]", re.IGNORECASE),
    re.compile(r"['\"]indicator['\"]\s*:\s*['\"]" + CODE + "['\"]"),
)
SQL_IN = re.compile(r"\bindicator\s+(?:NOT\s+)?IN\s*\(([^)]*)\)", re.IGNORECASE)
# Python: the report's cell lookups and formatters, the KPI dictionary, a map colour argument.
PY_REFS = (
    re.compile(r"\b(?:cells\.value|cells\.cell|cells\.hidden|hidden|fmt|scaled|display_unit|ind_name|fmt_change)"
               r"\((?:[^()\"']*?,\s*)?[\"']" + CODE + "[\"']"),
    re.compile(r"\bkv\[[\"'](\w+)[\"']\]"),
    re.compile(r"\bcolor(?::\s*str)?\s*=\s*[\"'](\w+)[\"']"),
    re.compile(r"[\"']([a-z][a-z0-9_]*?)_suppressed[\"']"),
)
# TOML: keys that name an indicator, inline code entries (chain_index.toml), map colour tables.
TOML_REFS = (
    re.compile(r"^\s*(?:indicator|default_color|linked)\s*=\s*\"(\w+)\"", re.MULTILINE),
    re.compile(r"\{\s*code\s*=\s*\"(\w+)\""),
    re.compile(r"^\[color\.(\w+)\]", re.MULTILINE),
)
# Templates: snapshot rows and cells carry <code>, <code>_suppressed, <code>_n_firms.
TEMPLATE_REFS = (re.compile(r"\bc\.(\w+?)(?:_suppressed|_n_firms|_class)\b"),)
# The development stage is a classification that the map colours and suppresses like an indicator.
NOT_INDICATORS = {"stage"}


def indicator_references(path: Path) -> set[str]:
    """The names a file uses as indicator codes (by the forms above)."""
    text = path.read_text(encoding="utf-8")
    found: set[str] = set()
    if path.suffix in (".sql", ".py"):
        for pattern in SQL_REFS:
            found.update(pattern.findall(text))
        for group in SQL_IN.findall(text):
            found.update(re.findall("'" + CODE + "'", group))
    if path.suffix == ".py":
        for pattern in PY_REFS:
            found.update(pattern.findall(text))
    if path.suffix == ".toml":
        for pattern in TOML_REFS:
            found.update(pattern.findall(text))
    if path.suffix == ".j2":
        for pattern in TEMPLATE_REFS:
            found.update(pattern.findall(text))
    return found - NOT_INDICATORS


def sources() -> list[Path]:
    """Every file that may name an indicator: sql/, flows/ Python (the sample's oracle too), registries, templates."""
    return sorted([*SQL_DIR.rglob("*.sql"), *(ROOT / "flows").rglob("*.py"), *REGISTRY_DIR.glob("*.toml"),
                   *(ROOT / "reports" / "templates").glob("*.j2")])


def test_every_indicator_code_used_anywhere_is_defined_in_the_registry():
    defined = {i.code for i in registry.registry()}
    undefined = {f"{path.relative_to(ROOT)}: {code}" for path in sources()
                 for code in indicator_references(path) - defined}
    assert not undefined, f"indicator codes the registry does not define: {sorted(undefined)}"


def test_each_indicator_sql_file_appends_exactly_the_codes_that_name_it():
    named: dict[str, set[str]] = {}
    for ind in registry.registry():
        named.setdefault(ind.sql, set()).add(ind.code)
    for sql, codes in named.items():
        text = sql_path(sql).read_text(encoding="utf-8")
        produced = set(PRODUCED.findall(text)) | set(SQL_REFS[2].findall(text))
        assert produced == codes, sql


def test_the_reference_scan_finds_an_undefined_code_in_each_kind_of_file(tmp_path):
    planted = {
        "a.sql": "SELECT value FROM mart.cluster_indicators WHERE indicator IN ('output_ttm', 'outptu_ttm')",
        "b.py": 'x = cells.value(cid, period, "per_mu_taxx")\ny = kv["cloud_rat"]\n',
        "c.toml": 'indicator = "local_suporting_rate"\n',
        "d.html.j2": "{% if c.output_tmm_suppressed %}{% endif %}",
    }
    defined = {i.code for i in registry.registry()}
    typos = {}
    for name, text in planted.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        typos[name] = indicator_references(path) - defined
    assert typos == {"a.sql": {"outptu_ttm"}, "b.py": {"per_mu_taxx", "cloud_rat"},
                     "c.toml": {"local_suporting_rate"}, "d.html.j2": {"output_tmm"}}


def _entries() -> list[dict]:
    return tomllib.loads(registry.REGISTRY_PATH.read_text(encoding="utf-8"))["indicator"]


@pytest.mark.parametrize("prop", registry.REQUIRED)
def test_an_indicator_without_a_required_property_is_refused_by_name(prop):
    entry = dict(_entries()[0])
    del entry[prop]
    with pytest.raises(ValueError, match=re.escape(f"indicator {entry.get('code', '?')}: missing {prop}")):
        registry._indicator(entry)


def test_every_registered_indicator_has_every_property():
    for entry in _entries():
        assert set(registry.REQUIRED) <= set(entry), entry["code"]
        assert set(entry["display"]) == set(registry.DISPLAY_KEYS), entry["code"]
        assert entry["disclosure"]["role"] in registry.ROLES, entry["code"]


@pytest.mark.parametrize(("change", "why"), [
    (lambda e: e["display"].pop("decimals"), "display needs exactly"),
    (lambda e: e["disclosure"].update(role="public"), "disclosure needs a role"),
    (lambda e: e["disclosure"].update(role="ratio"), "roll-up 'sum'"),
    (lambda e: e.update(map={"headline": 1, "breaks": [1, 2], "colors": ["#000"]}), "one colour more"),
    (lambda e: e.update(report={"appendix": 1}), "report places"),
    (lambda e: e.update(colour="red"), "unknown properties colour"),
])
def test_a_malformed_property_is_refused_by_name(change, why):
    entry = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _entries()[0].items()}  # output_month: a sum
    change(entry)
    with pytest.raises(ValueError, match=f"indicator output_month: .*{why}"):
        registry._indicator(entry)


def test_map_settings_come_from_the_registry():
    """The map's headline and colour indicators, their order, breaks, palettes and legend names are registry
    properties (the legend of output_ytd_yoy once drifted from its registry name), the threshold is min_firms."""
    config = maps.map_config()
    assert maps.HEADLINE == ("output_ttm", "local_supporting_rate", "per_mu_tax", "output_ytd_yoy", "cloud_rate")
    assert maps.COLOR_CHOICES == ("local_supporting_rate", "per_mu_tax", "output_ytd_yoy", "cloud_rate", "stage")
    assert config["color"]["output_ytd_yoy"]["name_zh"] == registry.by_code()["output_ytd_yoy"].name_zh
    assert config["color"]["per_mu_tax"]["breaks"] == [10, 30, 50, 100, 200]
    assert config["min_firms"] == disclosure.MIN_FIRMS == 3
    assert config["suppressed_label"] == "不予公布（企业少于3家）"


def test_disclosure_roles_come_from_the_registry():
    assert disclosure.NEVER_PUBLIC == ("top1_share", "hhi")
    assert disclosure.DOMINANCE_MEASURES["labour_productivity"] == ("output_ttm", "employees_ttm")
    assert registry.with_role("monthly_sum") == ("output_month", "output_ytd", "output_ttm")


def test_display_rules_show_output_in_yi_and_ratios_in_percent():
    from flows.stages import s11_report as report

    assert report.fmt("output_ttm", 123456789.0, with_unit=True) == "12,345.68 亿元"
    assert report.fmt("output_ttm", 123456789.0, with_unit=True, lang="en") == "12,345.68 CNY 100 million"
    assert report.fmt("local_supporting_rate", 0.41234) == "41.2%"
    assert report.fmt("energy_intensity", 0.12345, with_unit=True) == "0.123 吨标准煤/万元"
    assert report.fmt("n_platforms", 7.0, with_unit=True, lang="en") == "7 platforms"
    assert report.scaled("output_ttm", 12345.0) == 12345.0 / 1e4


def test_the_migrated_snapshot_table_has_a_column_for_every_headline_property():
    """A headline indicator added to the registry needs a migration adding its snapshot columns: without one,
    this fails before a night does."""
    import duckdb

    from flows.support.warehouse import apply_schema

    con = duckdb.connect()
    apply_schema(con)
    have = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'mart' "
                                      "AND table_name = 'map_snapshot_clusters'").fetchall()}
    assert set(maps.SNAPSHOT_COLUMNS) - have == set()
