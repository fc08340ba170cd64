"""Compare two warehouses table by table: the rows of every table and view of the first, as multisets, against
the second's, over the columns both have.

Used to show that a change leaves a night's outputs unchanged: run the same inbox through the code before and
after, then `python bench/compare_warehouses.py before.duckdb after.duckdb [--digits 9]`. Timestamps and the
columns that name the run's own paths and state are left out. DuckDB sums doubles in parallel, so the same code
run twice already differs in the last bits of some sums; --digits compares doubles to that many significant
digits (a value straddling a rounding boundary can still show as one differing row).
"""

from __future__ import annotations

import argparse
import sys

import duckdb

# Columns that differ between any two runs by construction.
RUN_COLUMNS = {"landed_path", "computed_at", "config_hash", "sql_file"}


def _expr(column: str, dtype: str, digits: int) -> str:
    """The column as compared: doubles rounded to `digits` significant digits (0: exact)."""
    name = f'"{column}"'
    if not digits or dtype not in ("DOUBLE", "DOUBLE[]"):
        return name
    if dtype == "DOUBLE":
        return f"sig({name}, {digits}) AS {name}"
    return f"list_transform({name}, x -> sig(x, {digits})) AS {name}"


def columns(con: duckdb.DuckDBPyConnection, db: str, schema: str, table: str) -> dict[str, str]:
    return dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = $db "
                            "AND schema_name = $schema AND table_name = $table ORDER BY column_index",
                            {"db": db, "schema": schema, "table": table}).fetchall())


def compare(before: str, after: str, digits: int) -> int:
    """Print one line per table that differs (and a summary); return the number of differing tables."""
    con = duckdb.connect()
    con.execute("CREATE MACRO sig(x, d) AS CASE WHEN x = 0 OR NOT isfinite(x) THEN x "
                "ELSE round(x, d - ceil(log10(abs(x)))::INT) END")
    for alias, path in (("a", before), ("b", after)):  # ATTACH takes no parameter: a literal, quotes doubled
        con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
    objects = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'a' UNION ALL "
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'a' AND NOT internal ORDER BY 1, 2"
    ).fetchall()
    differing = 0
    for schema, table in objects:
        old, new = columns(con, "a", schema, table), columns(con, "b", schema, table)
        if not new:
            print(f"{schema}.{table}: missing in {after}")
            differing += 1
            continue
        shared = [c for c in old if c in new and "TIMESTAMP" not in old[c] and c not in RUN_COLUMNS]
        select = ", ".join(_expr(c, old[c], digits) for c in shared)
        counts = []
        for x, y in (("a", "b"), ("b", "a")):
            counts.append(con.execute(f'SELECT count(*) FROM (SELECT {select} FROM {x}."{schema}"."{table}" '
                                      f'EXCEPT ALL SELECT {select} FROM {y}."{schema}"."{table}")').fetchone()[0])
        added = sorted(set(new) - set(old))
        if counts != [0, 0] or added:
            print(f"{schema}.{table}: {counts[0]} rows only in the first, {counts[1]} only in the second"
                  + (f"; new columns {added}" if added else ""))
            differing += counts != [0, 0]
    extra = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = 'b' "
                        "EXCEPT SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                        "WHERE database_name = 'a'").fetchall()
    print(f"{len(objects)} tables and views compared, {differing} differ; only in the second: "
          f"{', '.join(sorted(r[0] for r in extra)) or 'none'}")
    return differing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--digits", type=int, default=0, help="significant digits compared for doubles (0: exact)")
    args = ap.parse_args()
    return 1 if compare(args.before, args.after, args.digits) else 0


if __name__ == "__main__":
    sys.exit(main())
