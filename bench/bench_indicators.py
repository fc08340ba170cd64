"""Benchmark the indicator stage at province or nation scale (docs/architecture.md#scale).

Builds a synthetic core (generated in DuckDB SQL, deterministic) once under data/scale/, then, in a fresh
process so peak RSS is the stage's own, measures:
  floor        a hand-written DuckDB query for the TTM local supporting rate per cluster over the same
               procurement rows (the yardstick: the full stage must stay within 5× of it)
  full         update_indicators(con, None)
  incremental  one month of monthly, tax and procurement revised, then update_indicators(con, {month})
               (must stay within 1/5 of full)

    .venv/bin/python bench/bench_indicators.py --scale nation      # ≈500k firms, 12 months, ≈50 M rows
    .venv/bin/python bench/bench_indicators.py --scale province    # ≈50k firms, 36 months, ≈5 M rows

The machine may be shared: compare ratios measured in the same run, and read them with the load average the
bench prints. --statements N lists the slowest SQL statements (file:statement number) of each run.

On a published warehouse (e.g. bench_ingest's after night 2), the stage again as that night ran it:

    .venv/bin/python bench/bench_indicators.py --warehouse W.duckdb [--full | --months 2025-12,…] [--statements N]
    .venv/bin/python bench/bench_indicators.py --warehouse W.duckdb --then-incremental   # both, this code's layout

W is copied (beside it, or into --workdir), never written; --keep PATH keeps the copy after the runs. The months
the last run changed (meta.changes; or --months) are first taken out of the stored procurement inputs
(work.proc_buyer_month, work.proc_local_supplier), as they were before a night that brought them new; then
update_indicators runs for them, or for everything with --full. --as-current first records the stored marts and
work tables as computed by this checkout's code, so a change to the stage's SQL (which forces a full recompute)
can be timed on the incremental path; use it only when the change keeps the work tables' layout, and never on a
warehouse you keep. --then-incremental times a full recompute and then, on the work tables it left (so also a
changed layout), the last night's months incremental.
--nights replays the two nights as bench_ingest.py runs them: the last night's months of core.firm_monthly, core.tax
and core.procurement are set aside on the copy, a full recompute runs (night 1, without them), the rows come back and
the months run incremental (night 2); after each night the snapshot stage runs as the night runs it (its maps drawn
into the copy's folder; the copy's stored map snapshots are deleted first, as night 1 finds none). The copy runs as a
night's stages do: DUCKDB_STAGE_MEMORY_LIMIT, the load's checkpoint threshold, DuckDB's spill files beside the copy.
--export DIR writes the mart schema after each run into DIR/<run>.duckdb (full, incremental; night1, night2), so two
checkouts' marts can be compared with scripts/compare_marts.py.
Prints wall, CPU, peak RSS and the load average, and the wall and CPU seconds per SQL file. To time another
checkout's code (a baseline), run its copy of this file:
/path/to/checkout/bench/bench_indicators.py puts that checkout first on the path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from rusage import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCALES = {  # firms, months, procurement rows, clusters
    "tiny": (5_000, 24, 500_000, 40),
    "province": (50_000, 36, 5_000_000, 120),
    "nation": (500_000, 12, 50_000_000, 1_000),
}


def generate(path: Path, scale: str) -> None:
    """Write a synthetic warehouse with the core tables filled (deterministic hash-based values).

    Row ids are materialised first so the expensive INSERTs scan a table (parallel) instead of range()
    (one thread). About half of the purchases come from suppliers near the buyer's cluster, 10 % from
    suppliers of unknown location, the rest from anywhere in the country.
    """
    n_firms, n_months, n_proc, n_clusters = SCALES[scale]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    from flows.support.warehouse import apply_schema  # after sys.path has the checkout

    apply_schema(con)
    start = dt.date(2026 - (n_months + 11) // 12, 1, 1)
    # cluster c sits in adcode ad(c); a firm i belongs to cluster i % nc.
    con.execute("""CREATE MACRO ad(c) AS (11 + c % 31)::VARCHAR || lpad((1 + c // 31 % 20)::VARCHAR, 2, '0')
                                          || lpad((1 + c % 9)::VARCHAR, 2, '0')""")
    con.execute("CREATE MACRO uscc_of(i) AS 'F' || lpad(i::VARCHAR, 17, '0')")
    con.execute("CREATE TEMP TABLE firm_ids AS SELECT range AS i FROM range($n)", {"n": n_firms})
    con.execute("CREATE TEMP TABLE proc_ids AS SELECT range AS r FROM range($n)", {"n": n_proc})
    con.execute(
        """INSERT INTO core.clusters
           SELECT 'C' || lpad(i::VARCHAR, 5, '0'), 'cluster ' || i, 'P' || (11 + i % 31), NULL, ad(i),
                  ['电子', '装备', '医药', '材料', '汽车'][(1 + i % 5)::INTEGER], NULL, NULL, 0, 0,
                  ['city', 'county', 'province', 'city'][(1 + i % 4)::INTEGER], 0, NULL
           FROM range($nc) t(i)""", {"nc": n_clusters})
    con.execute(
        """INSERT INTO core.firms
           SELECT uscc_of(i), 'firm ' || i, 'C' || lpad((i % $nc)::VARCHAR, 5, '0'),
                  CASE WHEN hash(i, 1) % 3 = 0 THEN left(ad(i % $nc), 4) || lpad((1 + hash(i, 2) % 9)::VARCHAR, 2, '0')
                       ELSE ad(i % $nc) END,
                  NULL, hash(i, 3) % 3 = 0, hash(i, 4) % 200 = 0,
                  ['none', 'none', 'provincial', 'national'][(1 + hash(i, 5) % 4)::INTEGER],
                  CASE WHEN hash(i, 6) % 5 = 0 THEN NULL ELSE (hash(i, 7) % 20000) / 100.0 END, NULL, 0
           FROM firm_ids""", {"nc": n_clusters})
    con.execute(
        """INSERT INTO core.firm_monthly
           SELECT uscc_of(i), ($start::DATE + to_months(m::INTEGER))::DATE, 1,
                  100 + hash(i, m, 1) % 1000, NULL, 120 + hash(i, m, 2) % 1200, hash(i, m, 3) % 50,
                  5 + hash(i, 4) % 100, hash(i, m, 5) % 40, hash(i, m, 6) % 20
           FROM firm_ids, range($nm) mm(m)
           WHERE hash(i, m, 7) % 20 <> 0""", {"nm": n_months, "start": start})
    con.execute("INSERT INTO core.tax SELECT uscc, period, 1, output * 0.05 FROM core.firm_monthly")
    con.execute(
        """INSERT INTO core.procurement
           SELECT uscc_of(b), CASE WHEN kind = 0 THEN uscc_of(sup) END, 's' || sup,
                  CASE WHEN kind = 1 THEN ad(b % $nc)
                       WHEN kind = 2 THEN NULL
                       ELSE ad(hash(r, 6) % 620) END,
                  ($start::DATE + to_months((r * $nm // $np)::INTEGER))::DATE, 1 + hash(r, 9) % 500, 0, r
           FROM (SELECT r, hash(r, 1) % $nf AS b, hash(r, 3) % $nf AS sup,
                        [0, 0, 1, 1, 1, 1, 2, 3, 3, 3][(1 + hash(r, 2) % 10)::INTEGER] AS kind
                 FROM proc_ids)""",
        {"nf": n_firms, "nm": n_months, "np": n_proc, "nc": n_clusters, "start": start})
    con.execute(
        """INSERT INTO core.digital_surveys
           SELECT uscc, ($start::DATE + to_days((hash(uscc) % (28 * $nm))::INTEGER))::DATE, hash(uscc, 1) % 2 = 0,
                  ['未启动', '实施中', '已完成'][(1 + hash(uscc, 2) % 3)::INTEGER], 1 + hash(uscc, 3) % 5, false, 0
           FROM core.firms WHERE hash(uscc, 4) % 3 = 0""", {"nm": n_months, "start": start})
    con.execute("DROP MACRO ad; DROP MACRO uscc_of")
    con.close()
    tmp.rename(path)


FLOOR_SQL = """
SELECT b.cluster_id,
       sum(p.amount) FILTER (WHERE left(coalesce(s.adcode, p.supplier_adcode), CASE c.local_scope
                                WHEN 'county' THEN 6 WHEN 'province' THEN 2 ELSE 4 END)
                             = left(c.adcode, CASE c.local_scope WHEN 'county' THEN 6 WHEN 'province' THEN 2
                                ELSE 4 END)) / sum(p.amount) AS local_supporting_rate
FROM core.procurement p
JOIN core.firms b ON b.uscc = p.buyer_uscc
JOIN core.clusters c ON c.cluster_id = b.cluster_id
LEFT JOIN core.firms s ON s.uscc = p.supplier_uscc
WHERE p.period BETWEEN $lo AND $hi
GROUP BY 1
"""


def measure(path: Path, threads: int | None, memory_limit: str) -> dict:
    """Run floor, full and incremental on a copy-free open warehouse; return timings and peak RSS."""
    from flows.stages import s07_indicators as ind
    from flows.stages.s07_indicators import data_range, update_indicators

    con = duckdb.connect(str(path))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {threads}")
    first, last = data_range(con)
    lo = (last.replace(day=1) - dt.timedelta(days=330)).replace(day=1)
    out: dict = {"rows": dict(con.execute(
        "SELECT 'procurement', count(*) FROM core.procurement UNION ALL SELECT 'firms', count(*) FROM core.firms "
        "UNION ALL SELECT 'firm_monthly', count(*) FROM core.firm_monthly").fetchall())}
    floors = []
    for _ in range(2):
        t = time.perf_counter()
        con.execute(FLOOR_SQL, {"lo": lo, "hi": last}).fetchall()
        floors.append(time.perf_counter() - t)
    out["floor_s"] = min(floors)
    t = time.perf_counter()
    update_indicators(con, None)
    out["full_s"] = time.perf_counter() - t
    out["full_steps"] = dict(ind.last_timings)
    out["full_statements"] = dict(ind.last_statement_timings)
    out["rss_after_full_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    con.execute("UPDATE core.firm_monthly SET output = output + 1 WHERE period = $m AND hash(uscc) % 50 = 0",
                {"m": last})
    con.execute("UPDATE core.tax SET tax_paid = tax_paid + 1 WHERE period = $m AND hash(uscc) % 50 = 0", {"m": last})
    con.execute("UPDATE core.procurement SET amount = amount + 1 WHERE period = $m AND row_number % 50 = 0",
                {"m": last})
    t = time.perf_counter()
    done = update_indicators(con, {last})
    out["incremental_s"] = time.perf_counter() - t
    out["incremental_steps"] = dict(ind.last_timings)
    out["incremental_statements"] = dict(ind.last_statement_timings)
    out["incremental_periods"] = len(done)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out["full_over_floor"] = out["full_s"] / out["floor_s"]
    out["incremental_over_full"] = out["incremental_s"] / out["full_s"]
    con.close()
    return out


# The fact tables a night's new months arrive in (--nights sets their rows of those months aside for night 1).
NIGHT_FACTS = ("core.firm_monthly", "core.tax", "core.procurement")


def export_marts(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write every table of schema mart into a new DuckDB file (for scripts/compare_marts.py)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'mart' "
        "ORDER BY 1").fetchall()]
    con.execute(f"ATTACH '{target}' AS marts_out")
    try:
        con.execute("CREATE SCHEMA marts_out.mart")
        for table in tables:
            con.execute(f'CREATE TABLE marts_out.mart."{table}" AS SELECT * FROM mart."{table}"')
    finally:
        con.execute("DETACH marts_out")


def on_warehouse(path: Path, full: bool, months: set[dt.date] | None, workdir: Path | None, statements: int,
                 as_current: bool = False, then_incremental: bool = False, keep: Path | None = None,
                 nights: bool = False, export: Path | None = None) -> None:
    """The indicator stage of the warehouse's last run again, on a copy: incremental as the night ran it, or full;
    with then_incremental, full and then the incremental night on the work tables that full left (this code's
    layout); with nights, night 1 without the last night's months and night 2 with them (see the module's doc).
    keep: move the copy there afterwards; export: the marts after each run (to compare with
    scripts/compare_marts.py)."""
    from flows.stages import s07_indicators as ind
    from flows.stages.s08_snapshot import snapshot_stage
    from flows.support.settings import DUCKDB_STAGE_MEMORY_LIMIT
    from flows.support.warehouse import apply_schema, run_sql

    with tempfile.TemporaryDirectory(dir=workdir or path.parent) as tmp:
        db = Path(tmp) / "w.duckdb"
        t = time.perf_counter()
        shutil.copyfile(path, db)
        copy_s = time.perf_counter() - t
        con = duckdb.connect(str(db), config={"memory_limit": DUCKDB_STAGE_MEMORY_LIMIT,
                                              "temp_directory": str(Path(tmp) / "spill")})
        apply_schema(con)   # a warehouse of an earlier schema version, as a night migrates it
        run_sql(con, "load_begin")  # the night's checkpoint threshold, which its later stages run with
        run_id = con.execute("SELECT max(run_id) FROM meta.runs").fetchone()[0]
        night = months or ind.changed_periods(con, run_id)
        if nights:
            if not night:
                raise SystemExit(f"--nights: run {run_id} changed no month (give --months)")
            taken_out = sorted({c.replace(day=1) for c in night})
            # night 1 starts with no map snapshot, night 2 finds night 1's
            con.execute("DELETE FROM mart.map_snapshot_clusters; DELETE FROM mart.map_snapshots")
            con.execute("CREATE SCHEMA bench_aside")
            for table in NIGHT_FACTS:
                aside = "bench_aside." + table.split(".")[1]
                con.execute(f"CREATE TABLE {aside} AS SELECT * FROM {table} "
                            "WHERE date_trunc('month', period)::DATE IN (SELECT unnest($m::DATE[]))", {"m": taken_out})
                con.execute(f"DELETE FROM {table} WHERE date_trunc('month', period)::DATE IN "
                            "(SELECT unnest($m::DATE[]))", {"m": taken_out})
        runs = [None, night] if then_incremental or nights else [None if full else night]
        for changed in runs:
            if nights and changed:
                for table in NIGHT_FACTS:
                    con.execute(f"INSERT INTO {table} SELECT * FROM bench_aside.{table.split('.')[1]}")
                con.execute("DROP SCHEMA bench_aside CASCADE")
            elif changed:
                taken_out = sorted({c.replace(day=1) for c in changed})
                for table in ("work.proc_buyer_month", "work.proc_local_supplier"):
                    con.execute(f"DELETE FROM {table} WHERE period IN (SELECT unnest($m::DATE[]))", {"m": taken_out})
            if as_current:
                first, last = ind.data_range(con)
                run_sql(con, "indicators_state_clear")   # the save only adds a row (the stage clears first)
                run_sql(con, "indicators_state_save",
                        {"config_hash": ind._state(con)[0], "first_period": first, "last_period": last})
            con.execute("CHECKPOINT")
            load0, cpu0, t0 = os.getloadavg(), cpu_seconds(), time.perf_counter()
            done = ind.update_indicators(con, changed)
            wall, cpu, load1 = time.perf_counter() - t0, cpu_seconds() - cpu0, os.getloadavg()
            names = ", ".join(sorted(m.strftime("%Y-%m") for m in changed or ()))
            mode = "full" if changed is None else (
                f"incremental, months {names} ({'--months' if months else f'run {run_id}'})")
            print(f"indicator stage, {mode}: {len(done)} target periods; {wall:.1f} s wall, {cpu:.1f} s CPU, "
                  f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB "
                  f"(copy of {path.stat().st_size / 2**30:.2f} GB took {copy_s:.1f} s, not counted)")
            print("load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f} on {} cores"
                  .format(*load0, *load1, os.cpu_count()))
            for name, seconds in sorted(ind.last_timings.items(), key=lambda kv: -kv[1]):
                cpu_s = ind.last_cpu_timings.get(name)
                print(f"  {seconds:8.2f} s  " + (f"{cpu_s:6.2f} CPU-s  " if cpu_s is not None else " " * 14) + name)
            for label, seconds in sorted(ind.last_statement_timings.items(), key=lambda kv: -kv[1])[:statements]:
                print(f"    {seconds:8.2f} s  {label}")
            label = ("night1" if changed is None else "night2") if nights else (
                "full" if changed is None else "incremental")
            if nights:
                cpu0, t0 = cpu_seconds(), time.perf_counter()
                snaps = snapshot_stage(con, done, Path(tmp) / f"maps-{label}")
                print(f"snapshot stage: {len(snaps)} periods, {sum(s.created for s in snaps)} new versions; "
                      f"{time.perf_counter() - t0:.1f} s wall, {cpu_seconds() - cpu0:.1f} s CPU")
            if export:
                export_marts(con, export / f"{label}.duckdb")
            sys.stdout.flush()
        con.close()
        if keep:
            os.replace(db, keep)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=sorted(SCALES), default="province")
    ap.add_argument("--db", type=Path, help="warehouse to use (default data/scale/bench_indicators_<scale>.duckdb)")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--memory-limit", default="5GB")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--statements", type=int, default=0, metavar="N",
                    help="also print the N slowest SQL statements of each run (file:statement number)")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warehouse", type=Path,
                    help="a published warehouse: run its last night's indicator stage again on a copy")
    ap.add_argument("--full", action="store_true", help="with --warehouse: recompute every period")
    ap.add_argument("--then-incremental", action="store_true",
                    help="with --warehouse: full, then the last night's months incremental on the same copy")
    ap.add_argument("--months", type=lambda v: {dt.date.fromisoformat(m + "-01") for m in v.split(",")},
                    help="with --warehouse: the months the night brought (YYYY-MM,…; default: the last run's)")
    ap.add_argument("--as-current", action="store_true",
                    help="with --warehouse: take the stored work tables as computed by this code (see above)")
    ap.add_argument("--workdir", type=Path, help="with --warehouse: where the copy goes (default: beside it)")
    ap.add_argument("--nights", action="store_true",
                    help="with --warehouse: night 1 (full) without the last night's months, then night 2 with them")
    ap.add_argument("--export", type=Path, metavar="DIR",
                    help="with --warehouse: write the marts after each run into DIR/<run>.duckdb")
    ap.add_argument("--keep", type=Path, help="with --warehouse: keep the copy at this path (same file system as the "
                                              "copy) to compare its marts, e.g. with scripts/compare_marts.py")
    args = ap.parse_args()
    if args.warehouse:
        on_warehouse(args.warehouse, args.full, args.months, args.workdir, args.statements, args.as_current,
                     args.then_incremental, args.keep, args.nights, args.export)
        return 0
    db = args.db or ROOT / "data" / "scale" / f"bench_indicators_{args.scale}.duckdb"
    if args.measure:
        print(json.dumps(measure(db, args.threads, args.memory_limit), default=str))
        return 0
    if args.regenerate or not db.exists():
        t = time.perf_counter()
        db.unlink(missing_ok=True)
        generate(db, args.scale)
        print(f"generated {db} in {time.perf_counter() - t:.1f} s", flush=True)
    if args.generate_only:
        return 0
    cmd = [sys.executable, __file__, "--measure", "--scale", args.scale, "--db", str(db),
           "--memory-limit", args.memory_limit]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    load_before = os.getloadavg()
    res = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1])
    load_after = os.getloadavg()
    print(f"scale {args.scale}: {res['rows']}")
    print("load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f} on {} cores".format(
        *load_before, *load_after, os.cpu_count()))
    print(f"floor (hand-written local supporting rate): {res['floor_s']:.2f} s")
    print(f"full indicator stage:                       {res['full_s']:.2f} s  "
          f"({res['full_over_floor']:.1f}× floor; target ≤ 5×)")
    print(f"one-month incremental:                      {res['incremental_s']:.2f} s  "
          f"({res['incremental_over_full']:.2f} of full; target ≤ 0.20; {res['incremental_periods']} periods)")
    print(f"peak RSS:                                   {res['peak_rss_gb']:.2f} GB (target < 6 GB)")
    for run in ("full", "incremental"):
        steps = ", ".join(f"{k.removesuffix('.sql')} {v:.2f}" for k, v in res[f"{run}_steps"].items())
        print(f"  {run} steps (s): {steps}")
        slowest = sorted(res[f"{run}_statements"].items(), key=lambda kv: -kv[1])[:args.statements]
        for label, seconds in slowest:
            print(f"    {seconds:8.2f} s  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
