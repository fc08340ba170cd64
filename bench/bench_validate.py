"""Benchmark the validate stage on synthetic procurement rows (docs/architecture.md#scale: nation ≈ 50 M rows).

Rows are generated and validated in chunks (as a nation-scale file would be streamed), so peak RSS
reflects one chunk, not the file. Prints rows/s, peak RSS and where the time goes (encode: distinct
values of the code columns / derive / polars rules / issues / Great Expectations / other: recording
results). With --session the chunks are validated as the files of one night (ValidationSession: GX
once for the kind at the end, as the nightly flow does) instead of one GX run each.
Usage: bench/bench_validate.py [--rows 5000000] [--chunk 5000000] [--firms 50000] [--order buyer|random]
       [--session]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.stages.s05_validate import ValidationSession, validate  # noqa: E402
from flows.support.uscc import ALPHABET, check_chars  # noqa: E402
from flows.support.warehouse import apply_schema  # noqa: E402


def codes(n: int, rng: np.random.Generator) -> list[str]:
    """n valid USCCs (random body, correct GB 32100-2015 check character)."""
    body = rng.integers(0, 31, size=(n, 17))
    body[:, 0], body[:, 1] = 9, 1
    body[:, 2:8] = rng.integers(0, 10, size=(n, 6))
    full = np.concatenate([body, check_chars(body)[:, None]], axis=1)
    alpha = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
    return alpha[full].view("S18").ravel().astype(str).tolist()


def chunk(n: int, start: int, firms: pl.Series, suppliers: pl.Series, rng: np.random.Generator,
          grouped: bool) -> pl.DataFrame:
    """n procurement rows; about 1 in 10,000 planted bad (negative amount, bad check char, bad adcode).

    grouped: rows come grouped by buyer, as `clusterwatch sample` and procurement systems export them."""
    bi = rng.integers(0, len(firms), n)
    if grouped:
        bi.sort()
    si = rng.integers(0, len(suppliers), n)
    months = pl.Series([date(2025, m, 1) for m in range(1, 13)], dtype=pl.Date)
    df = pl.DataFrame({
        "_row": np.arange(start, start + n, dtype=np.int64) + 2,
        "buyer_uscc": firms.gather(bi),
        "supplier_uscc": suppliers.gather(si),
        "supplier_name": pl.Series(si).cast(pl.Utf8),
        "supplier_adcode": pl.Series(rng.choice(["320500", "320583", "110105", "440300"], n)),
        "period": months.gather(rng.integers(0, 12, n)),
        "amount": rng.lognormal(3, 1.5, n),
    }).with_columns(pl.concat_str(pl.lit("供应商"), pl.col("supplier_name")).alias("supplier_name"))
    bad = rng.random(n) < 1e-4
    kind = rng.integers(0, 3, n)
    return df.with_columns(
        pl.when(pl.Series(bad & (kind == 0))).then(-pl.col("amount")).otherwise(pl.col("amount")).alias("amount"),
        pl.when(pl.Series(bad & (kind == 1))).then(pl.col("buyer_uscc").str.slice(0, 17) + "Z")
        .otherwise(pl.col("buyer_uscc")).alias("buyer_uscc"),
        pl.when(pl.Series(bad & (kind == 2))).then(pl.lit("990000")).otherwise(pl.col("supplier_adcode"))
        .alias("supplier_adcode"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--chunk", type=int, default=5_000_000)
    ap.add_argument("--firms", type=int, default=50_000)
    ap.add_argument("--order", choices=("buyer", "random"), default="buyer",
                    help="row order: grouped by buyer (as exported) or shuffled")
    ap.add_argument("--session", action="store_true", help="one GX run for all chunks, as a night does")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    con = duckdb.connect()
    apply_schema(con)
    firms = pl.Series("uscc", codes(args.firms, rng))
    suppliers = pl.Series("s", codes(args.firms * 2, rng))
    con.register("f", pl.DataFrame({"uscc": firms}).to_arrow())
    con.execute("INSERT INTO core.firms (uscc) SELECT uscc FROM f")
    validate("procurement", chunk(1000, 0, firms, suppliers, rng, False), "warmup.csv", con)  # imports, GX context
    spent = {"generate": 0.0}
    done = quarantined = flagged = gx_rows = 0
    session = ValidationSession(spool=Path(tempfile.mkdtemp())) if args.session else None
    t_all = time.perf_counter()
    while done < args.rows:
        n = min(args.chunk, args.rows - done)
        t = time.perf_counter()
        df = chunk(n, done, firms, suppliers, rng, args.order == "buyer")
        spent["generate"] += time.perf_counter() - t
        if session is not None:
            v = session.validate("procurement", df, f"procurement_bench_{done}.csv", con)
            session.record(con, done // args.chunk + 1, 1, v)
        else:
            v = validate("procurement", df, "procurement_bench.csv", con)
            for k, s in v.timings.items():
                spent[k] = spent.get(k, 0.0) + s
            gx_rows += int(v.results["gx_evaluated"].max() or 0)
        quarantined += v.issues.height
        flagged += v.warnings.height
        done += n
        del df, v
    if session is not None:
        session.finish(con, 1)
        spent.update(session.timings)
        gx_rows = int(con.sql("SELECT sum(gx_evaluated) FROM (SELECT file_id, max(gx_evaluated) AS gx_evaluated "
                              "FROM meta.validation_results GROUP BY file_id)").fetchone()[0] or 0)
    total = time.perf_counter() - t_all
    validating = total - spent["generate"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"rows {done:,} in chunks of {args.chunk:,} ({args.firms:,} buyers, order: {args.order}; "
          f"load average {os.getloadavg()[0]:.2f}): validate {validating:.1f} s → {done / validating:,.0f} rows/s "
          f"(excl. synthetic generation {spent['generate']:.1f} s); peak RSS {rss:.2f} GB")
    steps = {k: v for k, v in spent.items() if k != "generate"}
    steps["other"] = validating - sum(steps.values())   # recording results, queueing GX rows
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    print(f"quarantined {quarantined:,}, warnings {flagged:,}; GX ran the suite on {gx_rows:,} rows "
          f"({100 * gx_rows / done:.1f} %), polars on all")


if __name__ == "__main__":
    main()
