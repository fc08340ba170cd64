"""Compare the mart.* tables of two clusterwatch warehouses row by row (a refactoring must not change them).

Usage: python scripts/compare_marts.py BEFORE.duckdb AFTER.duckdb [--schema mart] [--ignore COLUMN ...] [--show N]
                                      [--rel-tol X | --fingerprint]

Every table and view of the schema in either warehouse is compared as a multiset of rows (EXCEPT ALL both
ways, so duplicates count) over the columns both sides have. Columns that say when or by which night a row was
written differ between any two runs and are left out: every TIMESTAMP / TIMESTAMPTZ / DATE-less time column,
`run_id` and `*_run_id`, plus any named with --ignore. A table or column present on one side only is a
difference. Prints per table: rows before/after and differing rows; exits 1 on any difference, 0 when equal.

Floating-point columns compare exactly unless --rel-tol X is given: then rows are paired on every other column
(and their order among rows equal in those) and two floats match when they differ by at most X relative to the
larger. Two nights over the same inbox publish identical marts (the indicator stage's sums are exact), so compare
them exactly; --rel-tol 1e-9 is for a change to how a value is computed (another order of adding), where the last
bits may move while the data did not.

--fingerprint compares each table by its row count and the sum of its rows' hashes instead (a multiset fingerprint:
order-free, duplicates count), one streaming aggregate per table and side, under a memory limit. For tables too big
for EXCEPT ALL: the nation warehouse's core schema (53 M procurement rows) needs more than 14 GB that way. It says
whether a table differs, not which rows (compare a smaller night for those); two different multisets give the same
fingerprint only by a 64-bit hash collision.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

TIME_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIME")


def _relations(con: duckdb.DuckDBPyConnection, db: str, schema: str) -> dict[str, dict[str, str]]:
    """Table and view name → {column: type} of one attached warehouse's schema."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? ORDER BY table_name, column_index", [db, schema]).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, {})[column] = dtype
    return out


def _ignored(column: str, dtype: str, extra: set[str]) -> bool:
    """Run timestamps and run ids differ between any two nights; the caller may name more."""
    return (dtype in TIME_TYPES or column == "run_id" or column.endswith("_run_id") or column in extra)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


FLOATS = ("DOUBLE", "FLOAT", "REAL")


def _unmatched(side: str, other: str, name: str, common: list[str], types: dict[str, str],
               rel_tol: float | None) -> str:
    """SQL for the rows of `side` that have no equal row in `other` (floats within rel_tol when given)."""
    select = ", ".join(_quote(c) for c in common)
    floats = [c for c in common if types[c] in FLOATS]
    if rel_tol is None or not floats:
        return f"SELECT {select} FROM {side}.{name} EXCEPT ALL SELECT {select} FROM {other}.{name}"
    keys = [c for c in common if c not in floats]
    part = f"PARTITION BY {', '.join(_quote(c) for c in keys)} " if keys else ""
    ranked = (f"SELECT *, row_number() OVER ({part}ORDER BY {', '.join(_quote(c) for c in floats)}) AS _n "
              f"FROM {{db}}.{name}")
    same = [f"x.{_quote(c)} IS NOT DISTINCT FROM y.{_quote(c)}" for c in keys] + ["x._n = y._n"]
    close = [f"(x.{q} IS NOT DISTINCT FROM y.{q} OR abs(x.{q} - y.{q}) <= {float(rel_tol)!r} * "
             f"greatest(abs(x.{q}), abs(y.{q})))" for q in map(_quote, floats)]
    return (f"SELECT {', '.join(f'x.{_quote(c)}' for c in common)} FROM ({ranked.format(db=side)}) x "
            f"WHERE NOT EXISTS (SELECT 1 FROM ({ranked.format(db=other)}) y WHERE {' AND '.join(same + close)})")


# --fingerprint's memory: its aggregates stream, so a bounded DuckDB suffices beside whatever else the machine runs.
FINGERPRINT_MEMORY = "2GB"


def _fingerprint(con: duckdb.DuckDBPyConnection, side: str, name: str, common: list[str]) -> tuple[int, int]:
    """Row count and the sum of the rows' hashes over `common` (HUGEINT: no overflow)."""
    row = ", ".join(_quote(c) for c in common)
    count, total = con.execute(f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {side}.{name}"
                               ).fetchone()
    return count, total


def compare(before: Path, after: Path, schema: str = "mart", ignore: tuple[str, ...] = (),
            show: int = 3, rel_tol: float | None = None, fingerprint: bool = False) -> int:
    """Print the comparison table by table; return the number of tables that differ."""
    con = duckdb.connect()
    if fingerprint:
        con.execute(f"SET memory_limit = '{FINGERPRINT_MEMORY}'")
    con.execute(f"ATTACH '{before}' AS b (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS a (READ_ONLY)")
    left, right = _relations(con, "b", schema), _relations(con, "a", schema)
    extra = set(ignore)
    n_diff = 0
    print(f"{'table':<40} {'before':>9} {'after':>9} {'only before':>12} {'only after':>11}  note")
    for table in sorted(set(left) | set(right)):
        if table not in left or table not in right:
            n_diff += 1
            side = "after" if table in right else "before"
            print(f"{schema}.{table:<{39 - len(schema)}} {'':>9} {'':>9} {'':>12} {'':>11}  only in {side}")
            continue
        cols_b, cols_a = left[table], right[table]
        common = [c for c in cols_b if c in cols_a and not _ignored(c, cols_b[c], extra)
                  and not _ignored(c, cols_a[c], extra)]
        ignored = sorted(c for c in set(cols_b) | set(cols_a) if c not in common
                         and c in cols_b and c in cols_a)
        one_sided = sorted(set(cols_b) ^ set(cols_a))
        name = f"{_quote(schema)}.{_quote(table)}"
        notes = [f"columns on one side only: {', '.join(one_sided)}"] if one_sided else []
        if ignored:
            notes.append(f"ignored: {', '.join(ignored)}")
        if fingerprint:
            (n_b, f_b), (n_a, f_a) = (_fingerprint(con, side, name, common) for side in ("b", "a"))
            differs = bool(f_b != f_a or n_b != n_a or one_sided)
            n_diff += differs
            notes.insert(0, "fingerprint " + ("DIFFERS" if differs else "equal"))
            print(f"{schema}.{table:<{39 - len(schema)}} {n_b:>9} {n_a:>9} {'':>12} {'':>11}  {'; '.join(notes)}")
            continue
        n_b = con.execute(f"SELECT count(*) FROM b.{name}").fetchone()[0]
        n_a = con.execute(f"SELECT count(*) FROM a.{name}").fetchone()[0]
        only_b = _unmatched("b", "a", name, common, cols_b, rel_tol)
        only_a = _unmatched("a", "b", name, common, cols_b, rel_tol)
        d_b = con.execute(f"SELECT count(*) FROM ({only_b})").fetchone()[0]
        d_a = con.execute(f"SELECT count(*) FROM ({only_a})").fetchone()[0]
        differs = bool(d_b or d_a or one_sided)
        n_diff += differs
        print(f"{schema}.{table:<{39 - len(schema)}} {n_b:>9} {n_a:>9} {d_b:>12} {d_a:>11}  "
              f"{'DIFFERS ' if differs else ''}{'; '.join(notes)}")
        if differs and show:
            for label, query in (("before", only_b), ("after", only_a)):
                for row in con.execute(f"{query} LIMIT {int(show)}").fetchall():
                    print(f"    only {label}: {dict(zip(common, row, strict=True))}")
    print(f"{n_diff} table(s) differ" if n_diff else "all tables equal")
    return n_diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--schema", default="mart")
    parser.add_argument("--ignore", action="append", default=[], help="a further column to leave out (repeatable)")
    parser.add_argument("--show", type=int, default=3, help="differing rows to print per side and table")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--rel-tol", type=float, default=None,
                      help="floats match within this relative difference (e.g. 1e-9); exact by default")
    mode.add_argument("--fingerprint", action="store_true",
                      help="compare row counts and row-hash sums only (tables too big for EXCEPT ALL)")
    args = parser.parse_args(argv)
    for path in (args.before, args.after):
        if not path.is_file():
            print(f"compare_marts: no warehouse at {path}", file=sys.stderr)
            return 2
    return 1 if compare(args.before, args.after, args.schema, tuple(args.ignore), args.show, args.rel_tol,
                        args.fingerprint) else 0


if __name__ == "__main__":
    sys.exit(main())
