"""The planted truth: derived monthly facts and every indicator (docs/architecture.md#indicators), computed
independently of the SQL.

This is the reference the warehouse's indicator SQL is tested against (rel. tol 1e-9), so it follows
docs/architecture.md#input-contract/#indicators literally with plain polars, one month at a time, favouring obviousness
over speed.
Conventions: a sum over no records is null, a count over nothing is 0, a ratio with a null or zero
denominator is null.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from flows.support.contract import LOCAL_SCOPES

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


OUTSIDE = {"local": "外部·本地非成员", "province": "外部·省内其他地区", "other_province": "外部·外省",
           "unknown": "外部·所在地不明"}
NON_LOCAL = ("province", "other_province", "unknown")


def _classified_procurement(clusters: pl.DataFrame, firms: pl.DataFrame, procurement: pl.DataFrame,
                            unlabelled: str) -> pl.DataFrame:
    """Procurement rows of member buyers with the buyer's segment and the supplier side, literally as the
    README defines them: member (supplier_uscc is a firm of the buyer's cluster), else by location
    (registry adcode when the supplier_uscc is registered, else supplier_adcode): unknown, local (the
    cluster's local_scope prefix), province (first 2 digits), other_province."""
    seg = firms.select(
        "uscc", "cluster_id",
        pl.when(pl.col("chain_segment").is_null() | (pl.col("chain_segment").str.strip_chars() == ""))
        .then(pl.lit(unlabelled)).otherwise(pl.col("chain_segment").str.strip_chars()).alias("segment"),
    )
    cl = clusters.select(
        "cluster_id", pl.col("adcode").alias("cl_adcode"),
        pl.col("local_scope").replace_strict(LOCAL_SCOPES, default=4).alias("k"),
    )
    members = seg.rename({"uscc": "supplier_uscc", "segment": "member_segment"})
    reg_ad = firms.select(pl.col("uscc").alias("supplier_uscc"), pl.col("adcode").alias("reg_adcode"))
    pr = (
        procurement.join(seg.rename({"uscc": "buyer_uscc", "segment": "buyer_segment"}), on="buyer_uscc")
        .join(members, on=["supplier_uscc", "cluster_id"], how="left")
        .join(reg_ad, on="supplier_uscc", how="left")
        .join(cl, on="cluster_id")
        .with_columns(pl.coalesce("reg_adcode", "supplier_adcode").alias("loc"),
                      pl.coalesce("supplier_uscc", "supplier_name").alias("supplier_key"))
    )
    local = pl.col("loc").str.slice(0, pl.col("k")) == pl.col("cl_adcode").str.slice(0, pl.col("k"))
    same_prov = pl.col("loc").str.slice(0, 2) == pl.col("cl_adcode").str.slice(0, 2)
    return pr.with_columns(
        local.fill_null(False).alias("is_local"),
        pl.when(pl.col("member_segment").is_not_null()).then(pl.lit("member"))
        .when(pl.col("loc").is_null()).then(pl.lit("unknown"))
        .when(local).then(pl.lit("local"))
        .when(same_prov).then(pl.lit("province"))
        .otherwise(pl.lit("other_province")).alias("supplier_group"),
    ).with_columns(
        pl.when(pl.col("supplier_group") == "member").then(pl.col("member_segment"))
        .otherwise(pl.col("supplier_group").replace_strict(OUTSIDE, default=None)).alias("supplier_segment")
    )


def chain(clusters: pl.DataFrame, firms: pl.DataFrame, monthly: pl.DataFrame, procurement: pl.DataFrame,
          periods: list[dt.date], config: dict, adcode_names: dict[str, str]) -> dict[str, pl.DataFrame]:
    """The supply-chain view for every cluster and month (TTM): chain_flows, chain_segments (with the weak-link
    test) and supply_leads, from the clean facts, one month at a time."""
    ch = config["chain"]
    pr = _classified_procurement(clusters, firms, procurement, ch["unlabelled_segment"])
    fseg = firms.select(
        "uscc", "cluster_id", "chain_leader", "srdi_level",
        pl.when(pl.col("chain_segment").is_null() | (pl.col("chain_segment").str.strip_chars() == ""))
        .then(pl.lit(ch["unlabelled_segment"])).otherwise(pl.col("chain_segment").str.strip_chars()).alias("segment"),
    ).join(clusters.select("cluster_id", "domain", pl.col("adcode").alias("cl_adcode")), on="cluster_id")
    reg = fseg.group_by("cluster_id", "domain", "segment").agg(
        pl.len().alias("n_firms"),
        pl.col("srdi_level").is_in(["provincial", "national"]).sum().cast(pl.Int64).alias("n_srdi"),
        pl.col("chain_leader").fill_null(False).sum().cast(pl.Int64).alias("n_chain_leaders"),
    ).with_columns(pl.col("n_firms").cast(pl.Int64))
    mon = monthly.join(fseg.select("uscc", "cluster_id", "segment"), on="uscc")
    first = min(periods)
    flows_out, segs_out, leads_out = [], [], []
    for m in periods:
        lo = _months_back(m, 11)
        w = pr.filter(pl.col("period").is_between(lo, m))
        fl = w.group_by("cluster_id", "buyer_segment", "supplier_group", "supplier_segment").agg(
            _sum("amount").alias("amount_ttm"),
            pl.col("amount").filter("is_local").sort().sum().alias("local_amount_ttm"),
            pl.len().cast(pl.Int64).alias("n_rows"),
        )
        bs = fl.group_by("cluster_id", "buyer_segment").agg(
            _sum("amount_ttm").alias("bs_amount"), _sum("local_amount_ttm").alias("bs_local"))
        ct = fl.group_by("cluster_id").agg(_sum("amount_ttm").alias("cl_amount"))
        flows_out.append(
            fl.join(bs, on=["cluster_id", "buyer_segment"]).join(ct, on="cluster_id").select(
                "cluster_id", pl.lit(m).alias("period"), "buyer_segment", "supplier_group", "supplier_segment",
                "amount_ttm", "local_amount_ttm", "n_rows",
                (pl.col("amount_ttm") / pl.col("bs_amount")).alias("share_of_buyer_segment"),
                (pl.col("amount_ttm") / pl.col("cl_amount")).alias("share_of_cluster"),
                (pl.col("local_amount_ttm") / pl.col("amount_ttm")).alias("local_share"),
                (pl.col("bs_local") / pl.col("bs_amount")).alias("buyer_segment_local_share"),
            )
        )
        per_firm = mon.filter(pl.col("period").is_between(lo, m)).group_by("cluster_id", "segment", "uscc").agg(
            _sum("output").alias("o"))
        out = per_firm.group_by("cluster_id", "segment").agg(
            _sum("o").alias("output_ttm"), pl.len().cast(pl.Int64).alias("n_firms_contrib"),
            pl.col("o").sort(descending=True, nulls_last=True).head(2).sort().sum().alias("top2_output_ttm"),
        )
        s = (
            reg.join(out, on=["cluster_id", "segment"], how="left")
            .join(bs.rename({"buyer_segment": "segment", "bs_amount": "purchases_ttm",
                             "bs_local": "local_purchases_ttm"}), on=["cluster_id", "segment"], how="left")
            .with_columns(pl.col("n_firms_contrib").fill_null(0),
                          _ratio("local_purchases_ttm", "purchases_ttm").alias("local_share"))
        )
        valued = s.filter(pl.col("local_share").is_not_null()).select(
            "domain", "segment", pl.col("cluster_id").alias("peer"), pl.col("local_share").alias("peer_share"))
        peers = (
            s.select("cluster_id", "domain", "segment")
            .join(valued, on=["domain", "segment"], how="left")
            .filter(pl.col("peer").is_null() | (pl.col("peer") != pl.col("cluster_id")))
            .group_by("cluster_id", "segment")
            .agg(pl.col("peer_share").median().alias("peer_local_share"),
                 pl.col("peer_share").count().cast(pl.Int64).alias("n_peers"))
        )
        s = s.join(peers, on=["cluster_id", "segment"], how="left").with_columns(pl.col("n_peers").fill_null(0))
        judged = pl.col("local_share").is_not_null() & (pl.col("n_peers") >= ch["min_peers"])
        segs_out.append(s.select(
            "cluster_id", pl.lit(m).alias("period"), "segment", "n_firms", "n_srdi", "n_chain_leaders", "output_ttm",
            "n_firms_contrib", "top2_output_ttm", "purchases_ttm", "local_purchases_ttm", "local_share",
            pl.when(pl.col("n_peers") > 0).then(pl.col("peer_local_share")).alias("peer_local_share"), "n_peers",
            pl.when(judged).then(pl.col("local_share") < ch["weak_ratio"] * pl.col("peer_local_share"))
            .alias("weak_link"),
            pl.when(pl.col("local_share").is_null()).then(pl.lit("no_purchases"))
            .when(pl.col("n_peers") < ch["min_peers"]).then(pl.lit("too_few_peers")).alias("weak_reason"),
        ))
        nl = w.filter(pl.col("supplier_group").is_in(NON_LOCAL) & pl.col("supplier_key").is_not_null())
        by_seg = nl.group_by("cluster_id", "supplier_key", "buyer_segment").agg(_sum("amount").alias("a"))
        segs = by_seg.sort("a", "buyer_segment", descending=[True, False]).group_by(
            "cluster_id", "supplier_key", maintain_order=True).agg(pl.col("buyer_segment").alias("segments"))
        ld = nl.group_by("cluster_id", "supplier_key").agg(
            _sum("amount").alias("amount_ttm"), pl.col("supplier_name").min(), pl.col("supplier_uscc").min(),
            pl.col("loc").min().alias("supplier_adcode"),
            pl.col("buyer_uscc").n_unique().cast(pl.Int64).alias("n_buying_firms"),
        )
        ld = (
            ld.with_columns(pl.col("amount_ttm").round(6).alias("_r"))
            .sort(["cluster_id", "_r", "supplier_key"], descending=[False, True, False])
            .with_columns(pl.int_range(1, pl.len() + 1).over("cluster_id").cast(pl.Int64).alias("rank"))
            .filter(pl.col("rank") <= ch["max_leads"])
        )
        ld = ld.drop("_r")
        plo, phi = _months_back(m, 23), _months_back(m, 12)
        prev = (
            pr.filter(pl.col("period").is_between(plo, phi) & pl.col("supplier_group").is_in(NON_LOCAL))
            .group_by("cluster_id", "supplier_key").agg(_sum("amount").alias("amount_prev_ttm"))
        )
        ld = (
            ld.join(prev, on=["cluster_id", "supplier_key"], how="left")
            .join(segs, on=["cluster_id", "supplier_key"], how="left")
            .join(ct, on="cluster_id")
            .join(clusters.select("cluster_id", pl.col("adcode").alias("cl_adcode")), on="cluster_id")
            .with_columns(pl.when(plo >= first).then(pl.col("amount_prev_ttm").fill_null(0.0)).alias("amount_prev_ttm"))
        )
        leads_out.append(ld.select(
            "cluster_id", pl.lit(m).alias("period"), "rank", "supplier_key", "supplier_name", "supplier_uscc",
            "supplier_adcode",
            pl.col("supplier_adcode").str.slice(0, 2).replace_strict(adcode_names, default=None).alias("province"),
            pl.col("supplier_adcode").str.slice(0, 4).replace_strict(adcode_names, default=None).alias("city"),
            pl.when(pl.col("supplier_adcode").is_null()).then(pl.lit("unknown"))
            .when(pl.col("supplier_adcode").str.slice(0, 2) == pl.col("cl_adcode").str.slice(0, 2))
            .then(pl.lit("province")).otherwise(pl.lit("other_province")).alias("location_class"),
            "amount_ttm", (pl.col("amount_ttm") / pl.col("cl_amount")).alias("share_of_purchases"),
            "n_buying_firms", "segments", pl.col("segments").list.first().alias("main_segment"),
            "amount_prev_ttm", (pl.col("amount_ttm") - pl.col("amount_prev_ttm")).alias("change_amount"),
            pl.when(pl.col("amount_prev_ttm") != 0)
            .then((pl.col("amount_ttm") - pl.col("amount_prev_ttm")) / pl.col("amount_prev_ttm")).alias("change_rate"),
        ))
    return {
        "chain_flows": pl.concat(flows_out).sort("cluster_id", "period", "buyer_segment", "supplier_group",
                                                 "supplier_segment"),
        "chain_segments": pl.concat(segs_out).sort("cluster_id", "period", "segment"),
        "supply_leads": pl.concat(leads_out).sort("cluster_id", "period", "rank"),
    }


def cluster_index(indicators_long: pl.DataFrame, directions: dict[str, str], config: dict) -> pl.DataFrame:
    """The development index for every cluster and month from the indicator values (README "Cluster development
    index"): each indicator scored 0–100 across all clusters of the period, dimensions and total as weighted
    means over what has a value."""
    ix = config["index"]
    rows = [(d["code"], float(d["weight"]), i["code"], float(i["weight"]), i.get("transform", "none"))
            for d in ix["dimension"] for i in d["indicators"]]
    spec = pl.DataFrame(rows, schema=["dimension", "dim_weight", "indicator", "weight", "transform"], orient="row")
    v = indicators_long.join(spec, on="indicator").with_columns(
        pl.when(pl.col("transform") == "log")
        .then(pl.when(pl.col("value") > 0).then(pl.col("value").log()))
        .when(pl.col("transform") == "log1p")
        .then(pl.when(pl.col("value") >= 0).then((1 + pl.col("value")).log()))
        .otherwise(pl.col("value")).alias("x"),
        pl.col("indicator").replace_strict(directions).alias("direction"),
    ).filter(pl.col("x").is_not_null())
    g = ["period", "indicator"]
    lo, hi = pl.col("x").min().over(g), pl.col("x").max().over(g)
    if ix["method"] == "minmax":
        score = (pl.when(hi == lo).then(50.0)
                 .when(pl.col("direction") == "lower_better").then(100.0 * (hi - pl.col("x")) / (hi - lo))
                 .otherwise(100.0 * (pl.col("x") - lo) / (hi - lo)))
    else:
        signed = pl.when(pl.col("direction") == "lower_better").then(-pl.col("x")).otherwise(pl.col("x"))
        n = pl.len().over(g)
        score = pl.when(n == 1).then(50.0).otherwise(
            100.0 * (signed.rank("min").over(g) - 1) / (n - 1))
    v = v.with_columns(score.alias("score"))
    dims = v.group_by("cluster_id", "period", "dimension", "dim_weight").agg(
        ((pl.col("weight") * pl.col("score")).sum() / pl.col("weight").sum()).alias("score"))
    wide = dims.pivot("dimension", index=["cluster_id", "period"], values="score")
    grid = indicators_long.select("cluster_id", "period").unique()
    wide = grid.join(wide, on=["cluster_id", "period"], how="left")
    codes = [d["code"] for d in ix["dimension"]]
    weights = {d["code"]: float(d["weight"]) for d in ix["dimension"]}
    for c in codes:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c))
    num = pl.sum_horizontal([pl.col(c).fill_null(0.0) * weights[c] for c in codes])
    den = pl.sum_horizontal([pl.when(pl.col(c).is_not_null()).then(weights[c]).otherwise(0.0) for c in codes])
    wide = wide.with_columns(pl.when(den > 0).then(num / den).alias("total"),
                             pl.concat_list([pl.when(pl.col(c).is_null()).then(pl.lit(c)) for c in codes])
                             .list.drop_nulls().list.sort().alias("missing_dimensions"))
    wide = wide.with_columns(
        pl.col("total").rank("min", descending=True).over("period").cast(pl.Int64).alias("rank"),
        pl.col("total").count().over("period").cast(pl.Int64).alias("n_clusters"),
    )
    return wide.select("cluster_id", "period", *codes, "total", "rank", "n_clusters", "missing_dimensions").sort(
        "cluster_id", "period")
