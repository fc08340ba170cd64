"""Province and nation scale inboxes for benchmarks (docs/architecture.md#scale): synthetic clusters, month-by-month
output.

Everything is vectorised and written one month at a time (Parquet, zstd), so memory stays bounded by a
month of procurement (≈4 M rows at nation scale). The truth is limited to cluster_month_totals and the
planted bad rows; per-indicator truth is only computed for the sample.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from flows.sample.core import (
    CLUSTER_COLUMNS,
    REGISTRY_FIRM_COLUMNS,
    build_firms,
    external_suppliers,
    make_uscc,
    materialise,
    measures,
    month_of,
    output_month,
    procurement_month,
)
from flows.sample.io import Style, write

PROVINCE_CODES = (
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
)
SPEC = {
    "province": dict(firms=50_000, clusters=60, months=36, start=2023, rate=2.8, provinces=("32",)),
    "nation": dict(firms=500_000, clusters=600, months=12, start=2025, rate=8.4, provinces=PROVINCE_CODES),
}
EN = Style(fmt="parquet", lang="en")


def _clusters(spec: dict, rng: np.random.Generator) -> pl.DataFrame:
    n = spec["clusters"]
    prov = np.array(spec["provinces"])[np.arange(n) % len(spec["provinces"])]
    city = (np.arange(n) // len(spec["provinces"])) % 13 + 1
    dist = np.array(["02", "03", "04", "05", "06", "11", "12", "21", "81", "82"])[np.arange(n) % 10]
    adcode = np.char.add(np.char.add(prov, np.char.zfill(city.astype(str), 2)), dist)
    scope = np.array(["city", "county", "province"])[np.arange(n) % 3]
    n_f = np.full(n, spec["firms"] // n)
    n_f[: spec["firms"] - n_f.sum()] += 1
    return pl.DataFrame(
        {
            "cluster_id": [f"C{i:04d}" for i in range(n)],
            "cluster_name": [f"模拟集群{i:04d}" for i in range(n)],
            "province": prov,
            "city": [f"城市{c}" for c in city],
            "adcode": adcode,
            "domain": "装备制造",
            "leading_industry": "装备制造",
            "level": "省级",
            "lon": rng.uniform(80, 130, n).round(4),
            "lat": rng.uniform(20, 48, n).round(4),
            "local_scope": scope,
            "n_firms": n_f,
            "districts": [(a, a[:4] + "99") for a in adcode],
            "n_leaders": (np.arange(n) % 4 != 0).astype(np.int64),
            "lead_share": np.where(np.arange(n) % 4 != 0, 0.25, 0.0),
            "above_frac": 0.7,
            "energy_int": 0.15,
            "scope_len": pl.Series(scope).replace_strict({"county": 6, "city": 4, "province": 2}),
            "p_local": rng.uniform(0.3, 0.7, n),
            "p_unknown": 0.05,
        }
    )


def _plain(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.int_range(pl.len()).cast(pl.Float64).alias("_key"),
        pl.lit(None, pl.Utf8).alias("_rule"),
        pl.lit(None, pl.Utf8).alias("_col"),
    )


def generate_big(out: Path, scale: str, rng: np.random.Generator) -> None:
    """Write the benchmark inbox and truth (cluster_month_totals, bad_rows) for province or nation scale."""
    spec = SPEC[scale]
    inbox, truth = out / "inbox", out / "truth"
    cl = _clusters(spec, rng)
    taken: set[str] = set()
    firms = build_firms(cl, rng, spec["months"], spec["start"], taken)
    ext, off, sizes = external_suppliers(cl, rng, taken)
    bad: list[dict] = []
    cols = CLUSTER_COLUMNS
    write(_plain(cl.select(cols)), inbox / "clusters.parquet", EN)
    fcols = REGISTRY_FIRM_COLUMNS
    write(
        _plain(firms.with_columns((pl.col("land_c") / 100).alias("land_area")).select(fcols)),
        inbox / "firms.parquet",
        EN,
    )
    write(
        _plain(
            cl.select(
                pl.format("{}创新中心", "cluster_id").alias("platform_name"),
                "cluster_id",
                pl.lit("provincial").alias("level"),
                pl.lit("公共服务平台").alias("type"),
            )
        ),
        inbox / "platforms.parquet",
        EN,
    )
    c = firms["c"].to_numpy()
    uscc = firms["uscc"]
    growth = rng.uniform(0.02, 0.1, cl.height)
    scale_w = 800.0  # mean firm output ≈ 800 万元 a month
    totals = []
    for a in range(spec["months"]):
        y, m = (int(v) for v in month_of(a, spec["start"]))
        period = f"{y}-{m:02d}"
        out_wan = output_month(firms, growth, a, rng) * scale_w
        ms = measures(firms, out_wan, rng)
        present = out_wan > 0
        mon = pl.DataFrame(
            {
                "uscc": uscc,
                "period": period,
                "basis": "当月",
                **{
                    k: ms[k] / (1e4 if k not in ("employees", "energy") else 1)
                    for k in ("output", "value_added", "revenue", "profit", "employees", "rd_expense")
                },
                "energy": ms["energy"] / 1000,
            }
        ).filter(pl.Series(present))
        mon = _plain(mon)
        neg = np.zeros(len(c), bool)
        if a == 0:  # a handful of planted bad rows in the first month's file
            extra = []
            for i, rule in enumerate(("invalid_uscc", "unknown_firm", "duplicate_row")):
                r = mon[100 + i].with_columns(
                    pl.col("_key") + 0.5,
                    pl.lit(rule).alias("_rule"),
                    pl.lit(None if rule == "duplicate_row" else "uscc").alias("_col"),
                )
                if rule == "invalid_uscc":
                    r = r.with_columns(pl.col("uscc").str.slice(0, 17) + ("0" if r["uscc"][0][17] != "0" else "1"))
                elif rule == "unknown_firm":
                    r = r.with_columns(pl.lit(str(make_uscc(rng, np.array(["110105"]), taken)[0])).alias("uscc"))
                extra.append(r)
            victim = mon["uscc"][200]
            neg[np.flatnonzero(uscc.to_numpy() == victim)] = True
            mon = pl.concat(
                [
                    mon.with_columns(
                        pl.when(pl.col("uscc") == victim)
                        .then(-pl.col("output"))
                        .otherwise(pl.col("output"))
                        .alias("output"),
                        pl.when(pl.col("uscc") == victim)
                        .then(pl.lit("negative_value"))
                        .otherwise(pl.col("_rule"))
                        .alias("_rule"),
                        pl.when(pl.col("uscc") == victim)
                        .then(pl.lit("output"))
                        .otherwise(pl.col("_col"))
                        .alias("_col"),
                    ),
                    *extra,
                ]
            )
        bad += write(mon, inbox / f"monthly_{period}.parquet", EN)
        write(
            _plain(
                pl.DataFrame({"uscc": uscc, "period": period, "tax_paid": ms["tax_paid"] / 1e4}).filter(
                    pl.Series(present)
                )
            ),
            inbox / f"tax_{period}.parquet",
            EN,
        )
        pr = procurement_month(firms, cl, off, sizes, a, out_wan, cl["p_local"].to_numpy(), spec["rate"], rng)
        pm = materialise(pr, firms, ext).select(
            "buyer_uscc",
            "supplier_uscc",
            "supplier_name",
            "supplier_adcode",
            pl.lit(period).alias("period"),
            (pl.col("amount") / 1e4).alias("amount"),
        )
        pm.write_parquet(inbox / f"procurement_{period}.parquet", compression="zstd", statistics=False)
        ok = present & ~neg
        n_cl = cl.height
        totals.append(
            pl.DataFrame(
                {
                    "cluster_id": cl["cluster_id"],
                    "period": dt.date(y, m, 1),
                    "output": np.bincount(c[ok], weights=ms["output"][ok], minlength=n_cl) / 1e4,
                    "tax_paid": np.bincount(c[present], weights=ms["tax_paid"][present], minlength=n_cl) / 1e4,
                    "procurement_amount": np.bincount(
                        c[pr["buyer"].to_numpy()], weights=pr["amount"].to_numpy(), minlength=n_cl
                    )
                    / 1e4,
                    "n_reporting": np.bincount(c[ok], minlength=n_cl),
                }
            )
        )
        del pm, pr, mon
    wave = firms.filter(pl.Series(rng.random(firms.height) < 0.5)).select(
        "uscc", pl.lit(dt.date(spec["start"], 6, 30)).alias("survey_date")
    )
    n = wave.height
    write(
        _plain(
            wave.with_columns(
                pl.Series("cloud", rng.random(n) < 0.6),
                pl.Series("transformation", np.array(["未启动", "实施中", "已完成"])[rng.integers(0, 3, n)]),
                pl.Series("maturity", rng.integers(1, 6, n)),
                pl.Series("platform_connected", rng.random(n) < 0.3),
            )
        ),
        inbox / f"digital_{spec['start']}-06.parquet",
        EN,
    )
    pl.concat(totals).write_parquet(truth / "cluster_month_totals.parquet", compression="zstd", statistics=False)
    pl.DataFrame(
        bad, schema={"file_name": pl.Utf8, "row_number": pl.Int64, "column_name": pl.Utf8, "rule": pl.Utf8}
    ).write_csv(truth / "bad_rows.csv")
    (truth / "README.md").write_text(
        f"# Truth ({scale} scale)\n\ncluster_month_totals.parquet and bad_rows.csv only; "
        "see data/sample/truth/README.md for the semantics.\n",
        encoding="utf-8",
    )


# The formats bureaus send besides Parquet, for `clusterwatch sample --formats` (the benchmark's inboxes).
FORMATS = {"gbk-csv": Style(fmt="csv", encoding="gbk", lang="en"), "xlsx": Style(fmt="xlsx", lang="en")}
XLSX_ROWS = 1_048_576 - 2   # a sheet's rows less the title row and the header row


def write_formats(out: Path, formats: list[str]) -> list[Path]:
    """The Parquet inbox of a scale again as out/inbox_<format>: the same rows and canonical headers, as GBK
    CSV (CRLF, like a Windows export) or XLSX (a title row above the header). A file with more rows than an
    XLSX sheet holds is written as parts (procurement_2025-01_part1.xlsx, …), as a bureau must split it.
    The truth files describe the Parquet inbox only (row numbers differ in XLSX)."""
    unknown = sorted(set(formats) - set(FORMATS) - {"parquet"})
    if unknown:
        raise ValueError(f"unknown formats {unknown}: choose from parquet, {', '.join(FORMATS)}")
    written = []
    for fmt in (f for f in formats if f != "parquet"):
        style, folder = FORMATS[fmt], out / f"inbox_{fmt}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        suffix = ".csv" if style.fmt == "csv" else ".xlsx"
        for path in sorted((out / "inbox").glob("*.parquet")):
            frame = pl.read_parquet(path)
            parts = [frame] if style.fmt == "csv" or frame.height <= XLSX_ROWS else \
                [frame.slice(i, XLSX_ROWS) for i in range(0, frame.height, XLSX_ROWS)]
            for n, part in enumerate(parts, 1):
                name = path.stem + (f"_part{n}" if len(parts) > 1 else "") + suffix
                write(_plain(part), folder / name, style, title=path.stem)
                written.append(folder / name)
    return written
