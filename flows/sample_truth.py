"""The planted truth: derived monthly facts and every DESIGN §5 indicator, computed independently of the SQL.

This is the reference the warehouse's indicator SQL is tested against (rel. tol 1e-9), so it follows
DESIGN §3/§5 literally with plain polars, one month at a time, favouring obviousness over speed.
Conventions: a sum over no records is null, a count over nothing is 0, a ratio with a null or zero
denominator is null.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from flows.contract import LOCAL_SCOPES

FLOWS = ("output", "value_added", "revenue", "profit", "energy", "rd_expense")
INDICATORS = (
    "output_month",
    "output_ytd",
    "output_ytd_yoy",
    "output_ttm",
    "local_supporting_rate",
    "local_supporting_rate_leaders",
    "local_supplier_count",
    "unknown_supplier_share",
    "per_mu_tax",
    "per_mu_output",
    "cloud_rate",
    "transformation_done_rate",
    "maturity_mean",
    "digital_coverage",
    "rd_intensity",
    "energy_intensity",
    "labour_productivity",
    "top1_share",
    "hhi",
    "n_firms",
    "n_reporting",
    "n_above_scale",
    "n_srdi",
    "n_chain_leaders",
    "n_platforms",
)


def derive(reported: pl.DataFrame, flows: tuple[str, ...], stocks: tuple[str, ...] = ()) -> pl.DataFrame:
    """Latest reported values (uscc, year, month, basis, measures in 万元) → one record per reported month.

    累计 flows are differenced against the previous reported month of the same year; span_months is the
    gap to it (the month itself when it is the year's first report). Stocks (employees) are used as is.
    """
    df = reported.sort("uscc", "year", "month")
    prev_m = pl.col("month").shift(1).over("uscc", "year").fill_null(0)
    ytd = pl.col("basis") == "ytd"
    return df.select(
        "uscc",
        pl.date(pl.col("year"), pl.col("month"), 1).alias("period"),
        pl.when(ytd).then(pl.col("month") - prev_m).otherwise(1).cast(pl.Int32).alias("span_months"),
        *[
            pl.when(ytd)
            .then(pl.col(f) - pl.col(f).shift(1).over("uscc", "year").fill_null(0))
            .otherwise(pl.col(f))
            .alias(f)
            for f in flows
        ],
        *[pl.col(s).cast(pl.Float64) for s in stocks],
    )


def _months_back(d: dt.date, k: int) -> dt.date:
    i = d.year * 12 + d.month - 1 - k
    return dt.date(i // 12, i % 12 + 1, 1)


def _month_end(d: dt.date) -> dt.date:
    return _months_back(d, -1) - dt.timedelta(days=1)


def _sum(col: str | pl.Expr) -> pl.Expr:
    """SQL SUM: null when there is no non-null value (polars would say 0)."""
    e = pl.col(col) if isinstance(col, str) else col
    return pl.when(e.count() > 0).then(e.sort().sum())  # sorted: float sums independent of thread order


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den).is_null() | (pl.col(den) == 0)).then(None).otherwise(pl.col(num) / pl.col(den))


def indicators(
    clusters: pl.DataFrame,
    firms: pl.DataFrame,
    platforms: pl.DataFrame,
    monthly: pl.DataFrame,
    tax: pl.DataFrame,
    procurement: pl.DataFrame,
    digital: pl.DataFrame,
    periods: list[dt.date],
) -> pl.DataFrame:
    """Every indicator for every cluster and month, long format (cluster_id, period, indicator, value)."""
    fc = firms.select("uscc", "cluster_id", "chain_leader", "land_area")
    mon = monthly.join(fc, on="uscc")
    tx = tax.join(fc, on="uscc")
    reg_ad = firms.select(pl.col("uscc").alias("supplier_uscc"), pl.col("adcode").alias("reg_adcode"))
    cl = clusters.select(
        "cluster_id",
        pl.col("adcode").alias("cl_adcode"),
        pl.col("local_scope").replace_strict(LOCAL_SCOPES, default=4).alias("k"),
    )
    pr = (
        procurement.join(fc.rename({"uscc": "buyer_uscc"}), on="buyer_uscc")
        .join(reg_ad, on="supplier_uscc", how="left")
        .join(cl, on="cluster_id")
        .with_columns(pl.coalesce("reg_adcode", "supplier_adcode").alias("loc"))
        .with_columns(
            pl.when(pl.col("loc").is_null())
            .then(False)
            .otherwise(pl.col("loc").str.slice(0, pl.col("k")) == pl.col("cl_adcode").str.slice(0, pl.col("k")))
            .alias("local"),
            pl.coalesce("supplier_uscc", "supplier_name").alias("supplier_key"),
        )
    )
    counts = firms.group_by("cluster_id").agg(
        pl.len().cast(pl.Float64).alias("n_firms"),
        _sum("above_scale").cast(pl.Float64).alias("n_above_scale"),
        pl.col("srdi_level").is_in(["provincial", "national"]).sum().cast(pl.Float64).alias("n_srdi"),
        _sum("chain_leader").cast(pl.Float64).alias("n_chain_leaders"),
    )
    counts = (
        clusters.select("cluster_id")
        .join(counts, on="cluster_id", how="left")
        .join(
            platforms.group_by("cluster_id").agg(pl.len().cast(pl.Float64).alias("n_platforms")),
            on="cluster_id",
            how="left",
        )
        .with_columns(pl.exclude("cluster_id").fill_null(0.0))
    )
    land = fc.filter(pl.col("land_area") > 0)
    land_sum = land.group_by("cluster_id").agg(_sum("land_area").alias("land"))
    out = []
    for m in periods:
        lo = _months_back(m, 11)
        w = mon.filter(pl.col("period").is_between(lo, m))
        cur = mon.filter((pl.col("period").dt.year() == m.year) & (pl.col("period") <= m))
        prev = mon.filter((pl.col("period").dt.year() == m.year - 1) & (pl.col("period") <= _months_back(m, 12)))
        fy_c = cur.group_by("uscc", "cluster_id").agg(_sum("output").alias("cur"))
        fy_p = prev.group_by("uscc").agg(_sum("output").alias("prev"))
        yoy = (
            fy_c.join(fy_p, on="uscc")
            .group_by("cluster_id")
            .agg(_sum("cur"), _sum("prev"))
            .select("cluster_id", (_ratio("cur", "prev") - 1).alias("output_ytd_yoy"))
        )
        a = w.group_by("cluster_id").agg(
            _sum("output").alias("output_ttm"),
            _sum("rd_expense").alias("rd"),
            _sum("revenue").alias("rev"),
            _sum("energy").alias("en"),
        )
        a = a.with_columns(
            _ratio("rd", "rev").alias("rd_intensity"), _ratio("en", "output_ttm").alias("energy_intensity")
        )
        emp = (
            w.group_by("cluster_id", "period")
            .agg(_sum("employees"))
            .group_by("cluster_id")
            .agg(pl.col("employees").sort().mean().alias("emp"))
        )
        per_firm = w.group_by("cluster_id", "uscc").agg(_sum("output").alias("o"))
        conc = per_firm.group_by("cluster_id").agg(
            pl.col("o").max().alias("mx"), _sum("o").alias("s"), _sum(pl.col("o") ** 2).alias("s2")
        )
        conc = conc.select(
            "cluster_id",
            _ratio("mx", "s").alias("top1_share"),
            pl.when(pl.col("s") > 0).then(pl.col("s2") / pl.col("s") ** 2).alias("hhi"),
        )
        mm = (
            mon.filter(pl.col("period") == m)
            .group_by("cluster_id")
            .agg(_sum("output").alias("output_month"), pl.col("uscc").n_unique().cast(pl.Float64).alias("n_reporting"))
        )
        ytd = cur.group_by("cluster_id").agg(_sum("output").alias("output_ytd"))
        lw = land.join(w.select("uscc", "output"), on="uscc").group_by("cluster_id").agg(_sum("output").alias("lo"))
        lt = (
            land.join(tx.filter(pl.col("period").is_between(lo, m)).select("uscc", "tax_paid"), on="uscc")
            .group_by("cluster_id")
            .agg(_sum("tax_paid").alias("lt"))
        )
        mu = (
            land_sum.join(lw, on="cluster_id", how="left")
            .join(lt, on="cluster_id", how="left")
            .select("cluster_id", _ratio("lt", "land").alias("per_mu_tax"), _ratio("lo", "land").alias("per_mu_output"))
        )
        pw = pr.filter(pl.col("period").is_between(lo, m))

        def rate(df: pl.DataFrame, name: str) -> pl.DataFrame:
            g = df.group_by("cluster_id").agg(
                _sum("amount").alias("t"),
                pl.col("amount").filter("local").sort().sum().alias("l"),
                pl.col("amount").filter(pl.col("loc").is_null()).sort().sum().alias("u"),
            )
            return g.select(
                "cluster_id",
                _ratio("l", "t").alias(name),
                *([_ratio("u", "t").alias("unknown_supplier_share")] if name == "local_supporting_rate" else []),
            )

        lr = rate(pw, "local_supporting_rate")
        lrl = rate(pw.filter("chain_leader"), "local_supporting_rate_leaders")
        lsc = (
            pw.filter("local")
            .group_by("cluster_id")
            .agg(pl.col("supplier_key").n_unique().cast(pl.Float64).alias("local_supplier_count"))
        )
        dg = (
            digital.filter(pl.col("survey_date") <= _month_end(m))
            .sort("uscc", "survey_date")
            .group_by("uscc")
            .last()
            .join(fc, on="uscc")
            .group_by("cluster_id")
            .agg(
                pl.col("cloud").cast(pl.Float64).sort().mean().alias("cloud_rate"),
                (pl.col("transformation") == "已完成").cast(pl.Float64).mean().alias("transformation_done_rate"),
                pl.col("maturity").cast(pl.Float64).sort().mean().alias("maturity_mean"),
                pl.len().alias("n_dig"),
            )
        )
        row = counts
        for part in (mm, ytd, yoy, a, emp, conc, mu, lr, lrl, lsc, dg):
            row = row.join(part, on="cluster_id", how="left")
        row = row.with_columns(
            _ratio("output_ttm", "emp").alias("labour_productivity"),
            pl.col("n_reporting", "local_supplier_count").fill_null(0.0),
            (pl.col("n_dig").fill_null(0) / pl.col("n_firms")).alias("digital_coverage"),
            pl.lit(m).alias("period"),
        )
        out.append(row.select("cluster_id", "period", *[pl.col(i).cast(pl.Float64) for i in INDICATORS]))
    wide = pl.concat(out)
    return wide.unpivot(index=["cluster_id", "period"], variable_name="indicator", value_name="value").sort(
        "cluster_id", "period", "indicator"
    )
