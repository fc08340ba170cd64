"""Deterministic sample generator: a bureau-style inbox plus the planted truth the tests check against.

`generate(out, scale, seed)` writes out/inbox/ (what the bureaus deliver: every source kind of
docs/architecture.md#input-contract, in every encoding, layout, unit and period spelling, with planted bad rows,
revisions and one file that is not a table) and out/truth/ (the clean canonical facts, the indicators of
docs/architecture.md#indicators, the planted bad rows and events). The same seed gives byte-identical files, so
the bundled sample is reproducible and a test can regenerate it. `sample` calibrates to
docs/architecture.md#sample-calibration; `province` and `nation` are for benchmarks.
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
    dominant_suppliers,
    external_suppliers,
    materialise,
    measures,
    output_month,
    procurement_month,
    to_dominant,
)
from flows.sample.exports import write_bureau_exports
from flows.sample.io import Style, energy, fmt_period, header, money, write
from flows.sample.spec import (
    CLUSTERS,
    EVENT_GAP,
    EVENT_LOCAL_DROP,
    EVENT_SHIFT,
    EVENT_UNIT_X10,
    MONTHLY_STYLE,
    PROVINCES,
    TAX_STYLE,
)
from flows.sample.truth import chain, cluster_index, derive, indicators
from flows.stages.s07_indicators import chain_index_config
from flows.support.adcodes import adcode_names
from flows.support.contract import KINDS, LOCAL_SCOPES, UNITS
from flows.support.registry import registry
from flows.support.uscc import ALPHABET

SCALES = ("sample", "province", "nation")
BAD_ROWS_SCHEMA = {"file_name": pl.Utf8, "row_number": pl.Int64, "column_name": pl.Utf8, "rule": pl.Utf8}
# Planted extra bad rows in fact files: (kind, province, file block, rule, unparsable period text)
EXTRAS = [
    ("monthly", "zhejiang", "2024-12", "invalid_uscc", None),
    ("monthly", "hubei", "2025-06", "invalid_uscc", None),
    ("monthly", "anhui", "2023-12", "invalid_uscc", None),
    ("monthly", "jiangxi", "2025-12", "invalid_uscc", None),
    ("monthly", "fujian", "2025-06", "unknown_firm", None),
    ("monthly", "guangdong", "2024-12", "unknown_firm", None),
    ("monthly", "hebei", "2025-12", "unknown_firm", None),
    ("monthly", "jiangsu", "2023-12", "unknown_firm", None),
    ("monthly", "hunan", "2023-12", "unparsable_period", "2023年13月"),
    ("monthly", "tianjin", "2025-06", "unparsable_period", "2025-00"),
    ("monthly", "zhejiang", "2025-12", "unparsable_period", "二〇二五年十月"),
    ("monthly", "hubei", "2024-12", "duplicate_row", None),
    ("monthly", "jiangsu", "2025-12", "duplicate_row", None),
    ("monthly", "anhui", "2025-06", "duplicate_row", None),
    ("tax", "guangdong", "2024-12", "invalid_uscc", None),
    ("tax", "jiangsu", "2025-12", "invalid_uscc", None),
    ("tax", "hubei", "2025-12", "unknown_firm", None),
    ("tax", "yunnan", "2024-12", "unknown_firm", None),
    ("tax", "hunan", "2025-12", "duplicate_row", None),
    ("tax", "jiangxi", "2024-12", "duplicate_row", None),
    ("tax", "tianjin", "2025-12", "unparsable_period", "2025年第3季度"),
]
MEASURES = ("output", "value_added", "revenue", "profit", "employees", "energy", "rd_expense")
MONEY = ("output", "value_added", "revenue", "profit", "rd_expense", "tax_paid", "amount")
XUSHUI = "XS_AUTO"
XUSHUI_RATE, XUSHUI_PER_MU = 0.68, 31.84


def generate(out: Path, scale: str = "sample", seed: int = 20251231) -> None:
    """Write out/inbox and out/truth for a scale; everything is drawn from one numpy Generator(seed)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    out = Path(out)
    for sub in ("inbox", "truth"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    rng = np.random.default_rng(seed)
    if scale == "sample":
        _Sample(out, rng).run()
    else:
        from flows.sample.big import generate_big

        generate_big(out, scale, rng)


def clusters_frame(rows: list[dict]) -> pl.DataFrame:
    """Cluster specs → frame with the derived generation parameters."""
    df = pl.DataFrame(rows)
    return df.with_columns(
        pl.col("local_scope").replace_strict(LOCAL_SCOPES).alias("scope_len"),
        pl.when(pl.col("cluster_id") == "XY_AS").then(22 / 105).otherwise(0.7).alias("above_frac"),
        pl.when(pl.col("domain") == "石化化工")
        .then(0.9)
        .when(pl.col("domain") == "新能源")
        .then(0.35)
        .otherwise(0.12)
        .alias("energy_int"),
        pl.lit(0.06).alias("p_unknown"),
    )


def bad_uscc(code: str) -> str:
    """Same code with a wrong check character."""
    return code[:17] + ALPHABET[(ALPHABET.index(code[17]) + 7) % 31]


class _Sample:
    """The `sample` scale: the real clusters of docs/architecture.md#sample-calibration, calibrated, with every
    delivery quirk."""

    def __init__(self, out: Path, rng: np.random.Generator) -> None:
        self.out, self.rng = out, rng
        self.inbox, self.truth = out / "inbox", out / "truth"
        self.bad: list[dict] = []
        self.taken: set[str] = set()
        self.events: list[dict] = []

    # ---------------------------------------------------------------- world
    def run(self) -> None:
        rng = self.rng
        self.cl = clusters_frame(CLUSTERS)
        self.firms = build_firms(self.cl, rng, 36, 2023, self.taken).with_columns(
            pl.col("c").replace_strict(dict(enumerate(self.cl["prov"]))).alias("prov")
        )
        self._values()
        self._reported()
        self._procurement()
        self._digital()
        self._calibrate_land()
        self._write_registries()
        self._write_facts("monthly", self.rep_m, MONTHLY_STYLE)
        self._write_facts("tax", self.rep_t, TAX_STYLE)
        self._write_revisions()
        self._write_procurement()
        self._write_digital()
        (self.inbox / "monthly_2024-05_scan.xlsx").write_bytes(
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 8
        )
        self._write_truth()
        exports = write_bureau_exports(self.inbox, self.truth)
        bad = pl.concat([pl.read_csv(self.truth / "bad_rows.csv", schema=BAD_ROWS_SCHEMA),
                         pl.DataFrame(exports, schema=BAD_ROWS_SCHEMA)])
        bad.sort("file_name", "row_number", "rule").write_csv(self.truth / "bad_rows.csv")

    def _values(self) -> None:
        """True monthly values (F×36), events, calibration of output_ttm at 2025-12 to
        docs/architecture.md#sample-calibration."""
        rng, f = self.rng, self.firms
        growth = rng.uniform(0.03, 0.12, self.cl.height)
        raw = np.stack([output_month(f, growth, a, rng) for a in range(36)], axis=1)
        c = f["c"].to_numpy()
        cid = f["cluster_id"].to_numpy()
        w = f["w"].to_numpy()
        sc, sa = EVENT_SHIFT
        med = np.median(w[cid == sc])
        raw[:, sa:] *= np.where(cid == sc, np.where(w < med, 1.8, 0.85), 1.0)[:, None]
        got = np.bincount(c, weights=raw[:, 24:].sum(axis=1), minlength=self.cl.height)
        raw *= (self.cl["target"].to_numpy() / got)[c][:, None]
        ms = [measures(f, raw[:, a], rng) for a in range(36)]
        self.M = {k: np.stack([m[k] for m in ms], axis=1) for k in ms[0]}
        active = raw > 0
        uc, ua, ush = EVENT_UNIT_X10
        x10 = (cid == uc) & (rng.random(len(c)) < ush)
        self.x10 = f["uscc"].to_numpy()[x10]
        for k in ("output", "value_added", "revenue", "profit", "rd_expense"):
            self.M[k][x10, ua:] *= 10
        gc, ga, gn, gsh = EVENT_GAP
        gap = (cid == gc) & ~f["chain_leader"].to_numpy() & active[:, ga : ga + gn].all(axis=1) & active[:, ga + gn]
        pick = np.flatnonzero(gap)
        n_gap = int(round(gsh * (cid == gc).sum()))
        gap_f = rng.choice(pick, n_gap, replace=False)
        self.gap = f["uscc"].to_numpy()[np.sort(gap_f)]
        present = active.copy()
        present[gap_f, ga : ga + gn] = False
        n, t = raw.shape
        self.long = (
            pl.DataFrame(
                {
                    "fi": np.repeat(np.arange(n), t),
                    "a": np.tile(np.arange(t), n),
                    "active": active.ravel(),
                    "present": present.ravel(),
                    **{k: v.ravel() for k, v in self.M.items()},
                }
            )
            .filter("active")
            .join(f.select("fi", "uscc", "cluster_id", "prov"), on="fi")
            .with_columns((2023 + pl.col("a") // 12).alias("year"), (pl.col("a") % 12 + 1).alias("month"))
        )

    def _reported(self) -> None:
        """What each bureau reports (当月 or 累计), revisions applied, and the planted replacements."""
        self.rep_m = self._report(
            "monthly",
            MONTHLY_STYLE,
            ("output", "value_added", "revenue", "profit", "energy", "rd_expense"),
            ("employees",),
        )
        self.rep_t = self._report("tax", TAX_STYLE, ("tax_paid",), ())
        rng = self.rng
        touched = set(self.gap) | set(self.x10) | set(self.firms.filter(pl.col("cluster_id") == XUSHUI)["uscc"])
        ok = ~pl.col("uscc").is_in(list(touched)) & ~pl.col("prov").is_in(["yunnan", "jiangxi"])
        self.revisions: dict[str, pl.DataFrame] = {}
        for name, kind, lo, hi, n in (
            ("monthly_2024-03_revision.csv", "monthly", 5, 10, 15),
            ("monthly_2025-08_revision.xlsx", "monthly", 26, 29, 20),
            ("tax_2026-01_revision.csv", "tax", 27, 32, 10),
        ):
            rep = self.rep_m if kind == "monthly" else self.rep_t
            cand = rep.filter(ok & pl.col("a").is_between(lo, hi) & (kind == "monthly" or pl.col("basis") == "month"))
            cand = cand.unique("uscc", keep="first", maintain_order=True)
            tgt = cand[np.sort(rng.choice(cand.height, n, replace=False))]
            touched |= set(tgt["uscc"])
            cols = ("output", "value_added", "revenue", "profit") if kind == "monthly" else ("tax_paid",)
            d = pl.Series(rng.choice([-1, 1], n) * rng.uniform(0.01, 0.04, n))
            new = tgt.with_columns([((pl.col(k) * (1 + d) / 100).round(0) * 100).cast(pl.Int64) for k in cols])
            self.revisions[name] = new
            keyed = new.select("uscc", "a", *cols)
            rep = (
                rep.join(keyed, on=["uscc", "a"], how="left", suffix="_r")
                .with_columns([pl.coalesce(f"{k}_r", k).alias(k) for k in cols])
                .drop([f"{k}_r" for k in cols])
            )
            if kind == "monthly":
                self.rep_m = rep
            else:
                self.rep_t = rep
        self.touched = touched
        # planted replacements (当月 files only, so no derivation depends on them): removed from the truth
        self.replace: dict[tuple[str, str], list[tuple[str, str]]] = {}
        plan = [
            ("monthly", "hunan", 12, 23, "negative_value"),
            ("monthly", "jiangsu", 24, 29, "negative_value"),
            ("monthly", "yunnan", 0, 11, "negative_value"),
            ("monthly", "tianjin", 12, 23, "conflicting_rows"),
            ("monthly", "guangdong", 30, 35, "conflicting_rows"),
            ("monthly", "hunan", 30, 35, "unit_suspect"),
            ("monthly", "guangdong", 26, 29, "unit_suspect"),
            ("tax", "anhui", 12, 23, "conflicting_rows"),
        ]
        self.dropped = {"monthly": [], "tax": []}
        for kind, prov, lo, hi, rule in plan:
            rep = self.rep_m if kind == "monthly" else self.rep_t
            early = self.long.filter(pl.col("a") < 6).group_by("uscc").len().filter(pl.col("len") == 6)["uscc"]
            cand = rep.filter(
                (pl.col("prov") == prov)
                & pl.col("a").is_between(lo, hi)
                & (pl.col("basis") == "month")
                & ~pl.col("uscc").is_in(list(self.touched))
                & pl.col("uscc").is_in(early.to_list())
            )
            row = cand[int(rng.integers(cand.height))]
            self.touched.add(row["uscc"][0])
            self.dropped[kind].append((row["uscc"][0], int(row["a"][0]), rule))

    def _report(
        self, kind: str, styles: dict[str, Style], flows: tuple[str, ...], stocks: tuple[str, ...]
    ) -> pl.DataFrame:
        """Reported rows per firm-month: 当月 values, or YTD sums over active months (累计, 1-2月 merged)."""
        basis = {p: s.basis for p, s in styles.items()}
        janfeb = [p for p, s in styles.items() if s.janfeb]
        df = self.long.with_columns(pl.col("prov").replace_strict(basis).alias("basis")).sort("fi", "a")
        ytd = pl.col("basis") == "ytd"
        df = df.with_columns(
            [pl.when(ytd).then(pl.col(k).cum_sum().over("fi", "year")).otherwise(pl.col(k)).alias(k) for k in flows]
        )
        keep = pl.col("present") if kind == "monthly" else pl.lit(True)
        df = df.filter(keep & ~(pl.col("prov").is_in(janfeb) & (pl.col("month") == 1)))
        return df.select("uscc", "cluster_id", "prov", "a", "year", "month", "basis", *flows, *stocks)

    def _procurement(self) -> None:
        """Purchases for 36 months; Xushui's TTM local share made exactly 0.68; revisions by (buyer, period)."""
        rng, f, cl = self.rng, self.firms, self.cl
        self.ext, off, sizes = external_suppliers(cl, rng, self.taken)
        base = cl["p_local"].to_numpy()
        out_wan = self.M["output"] / 1e4
        # Dominant outside suppliers (the 补链招商 leads to find): their own generator, spawned from the seed, so
        # every other draw of the sample stays as it was.
        drng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        self.ext, dominant = dominant_suppliers(self.ext, cl, drng, self.taken)
        parts = []
        for a in range(36):
            p = base.copy()
            if a >= EVENT_LOCAL_DROP[1]:
                p[cl["cluster_id"].to_list().index(EVENT_LOCAL_DROP[0])] -= 0.30
            rows = procurement_month(f, cl, off, sizes, a, out_wan[:, a], p, 2.6, rng)
            rows = to_dominant(rows, f, self.ext, dominant, a, drng)
            parts.append(materialise(rows, f, self.ext))
        pr = pl.concat(parts).with_row_index("rid")
        # Xushui: make Σ local / Σ amount over 2025 exactly 17/25 (amounts are integer 元, multiples of 100)
        xs = set(f.filter(pl.col("cluster_id") == XUSHUI)["uscc"])
        reg = f.select(pl.col("uscc").alias("supplier_uscc"), pl.col("adcode").alias("reg"))
        win = (
            pr.filter(pl.col("buyer_uscc").is_in(list(xs)) & (pl.col("a") >= 24))
            .join(reg, on="supplier_uscc", how="left")
            .with_columns((pl.coalesce("reg", "supplier_adcode") == "130609").fill_null(False).alias("local"))
        )
        non = win.filter(~pl.col("local")).sort("amount", descending=True)
        loc = win.filter(pl.col("local")).sort("amount", descending=True)
        n_sum = int(non["amount"].sum())
        bump = (800 - n_sum % 800) % 800
        n_sum += bump
        delta = n_sum * 17 // 8 - int(loc["amount"].sum())
        fix = {int(non["rid"][0]): int(non["amount"][0]) + bump, int(loc["rid"][0]): int(loc["amount"][0]) + delta}
        assert fix[int(loc["rid"][0])] > 0, "Xushui local share too far from 0.68 to adjust one row"
        pr = pr.with_columns(
            pl.col("rid").replace_strict(fix, default=None).fill_null(pl.col("amount")).alias("amount")
        )
        self.proc = pr.drop("rid")
        # revisions: the complete new set of rows for a (buyer, period) replaces the earlier set
        busy = (
            self.proc.filter(pl.col("a").is_between(25, 29) & ~pl.col("buyer_uscc").is_in(list(xs)))
            .group_by("buyer_uscc", "a")
            .len()
            .filter(pl.col("len") >= 3)
            .sort("buyer_uscc", "a")
        )
        pick = busy[np.sort(rng.choice(busy.height, 12, replace=False))].select("buyer_uscc", "a")
        old = self.proc.join(pick, on=["buyer_uscc", "a"]).sort("buyer_uscc", "a", "amount")
        new = (
            old.with_columns(pl.int_range(pl.len()).over("buyer_uscc", "a").alias("k"))
            .filter(pl.col("k") != 1)
            .with_columns(
                pl.when(pl.col("k") == 0)
                .then((pl.col("amount") * 6 // 500) * 100)
                .otherwise(pl.col("amount"))
                .alias("amount")
            )
            .drop("k")
        )
        extra = (
            old.group_by("buyer_uscc", "a").first().with_columns((pl.col("amount") // 200 * 100 + 100).alias("amount"))
        )
        self.proc_rev = pl.concat([new, extra.select(new.columns)]).sort("buyer_uscc", "a", "amount")
        self.proc_final = pl.concat([self.proc.join(pick, on=["buyer_uscc", "a"], how="anti"), self.proc_rev])

    def _digital(self) -> None:
        """Survey waves; Dangtu ≥ 355 firms on the cloud, Shangrao's latest surveys: exactly 50 connected."""
        rng, f = self.rng, self.firms
        cid = f["cluster_id"].to_numpy()
        waves = (
            (dt.date(2023, 6, 30), 5, 0.55, None),
            (dt.date(2024, 6, 30), 17, 0.7, None),
            (dt.date(2025, 6, 30), 29, 0.85, None),
            (dt.date(2025, 11, 20), 34, 1.0, ("SR_OPT", "DT_CTY")),
        )
        rows = []
        for i, (d, a, cov, only) in enumerate(waves):
            alive = (f["entry"].to_numpy() <= a) & (f["exit"].to_numpy() > a)
            sel = alive & (rng.random(f.height) < cov) & (np.isin(cid, only) if only else True)
            if cid.size and only is None:
                sel |= alive & (cid == "DT_CTY") & (i == 2)
            p_cloud = np.where(cid == "DT_CTY", 0.93, 0.35 + 0.15 * i)
            cloud = rng.random(f.height) < p_cloud
            tr = np.array(["未启动", "实施中", "已完成"])[np.minimum(rng.integers(0, 3, f.height) + (i > 1), 2)]
            mat = np.clip(rng.integers(1, 4, f.height) + i // 2, 1, 5)
            con = rng.random(f.height) < 0.25 + 0.1 * i
            rows.append(
                pl.DataFrame(
                    {
                        "uscc": f["uscc"],
                        "survey_date": [d] * f.height,
                        "cloud": cloud,
                        "transformation": tr,
                        "maturity": mat,
                        "platform_connected": con,
                        "wave": i,
                        "cluster_id": cid,
                    }
                ).filter(pl.Series(sel))
            )
        dg = pl.concat(rows)
        latest = dg.sort("survey_date").group_by("uscc").last()
        sr = latest.filter(pl.col("cluster_id") == "SR_OPT").sort("uscc")["uscc"].to_list()
        on = set(sr[i] for i in rng.choice(len(sr), 50, replace=False))
        is_latest = pl.struct("uscc", "survey_date").is_in(
            latest.select(pl.struct("uscc", "survey_date")).to_series().implode()
        )
        dg = dg.with_columns(
            pl.when((pl.col("cluster_id") == "SR_OPT") & is_latest)
            .then(pl.col("uscc").is_in(list(on)))
            .otherwise(pl.col("platform_connected"))
            .alias("platform_connected")
        )
        dt_cloud = (
            dg.filter(pl.col("cluster_id") == "DT_CTY").sort("survey_date").group_by("uscc").last()["cloud"].sum()
        )
        assert dt_cloud >= 355, dt_cloud
        self.dig = dg

    def _calibrate_land(self) -> None:
        """Land areas (hundredths of 亩) of Xushui scaled so TTM tax per mu at 2025-12 is 31.84."""
        tax = derive(self.rep_t.with_columns(pl.col("tax_paid") / 1e4), ("tax_paid",))
        xs = self.firms.filter((pl.col("cluster_id") == XUSHUI) & (pl.col("land_c") > 0))
        t = tax.filter((pl.col("period") >= dt.date(2025, 1, 1)) & pl.col("uscc").is_in(xs["uscc"].to_list()))[
            "tax_paid"
        ].sum()
        target = round(t / XUSHUI_PER_MU * 100)
        lc = xs["land_c"].to_numpy().astype(float)
        new = np.maximum(np.round(lc * target / lc.sum()), 1).astype(np.int64)
        new[np.argmax(new)] += target - new.sum()
        fix = dict(zip(xs["fi"].to_list(), new.tolist(), strict=False))
        self.firms = self.firms.with_columns(
            pl.col("fi").replace_strict(fix, default=None).fill_null(pl.col("land_c")).alias("land_c")
        )
        self.firms = self.firms.with_columns(
            pl.when(pl.col("prov") == "jiangsu")
            .then((pl.col("land_c") / 100 * 666.6667).round(0))
            .otherwise(None)
            .alias("land_m2")
        )
        self.firms = self.firms.with_columns(
            pl.when(pl.col("prov") == "jiangsu")
            .then(pl.col("land_m2") * UNITS["land"]["平方米"])
            .otherwise(pl.col("land_c") / 100)
            .alias("land_area")
        )

    # ---------------------------------------------------------------- writing
    def _bad_extra(
        self, df: pl.DataFrame, rule: str, kind: str, uscc_col: str = "uscc", period_text: str | None = None
    ) -> pl.DataFrame:
        """A copy of a random clean row turned into a planted bad row (extra: the clean row stays)."""
        clean = df.filter(pl.col("_rule").is_null() & ~pl.col(uscc_col).is_in(list(self.touched)))
        if clean.height == 0:  # e.g. Hebei is all Xushui: a copy with a bad key cannot disturb the clean rows
            clean = df.filter(pl.col("_rule").is_null())
        row = clean[int(self.rng.integers(clean.height))]
        if rule == "invalid_uscc":
            row = row.with_columns(pl.lit(bad_uscc(row[uscc_col][0])).alias(uscc_col))
        elif rule == "unknown_firm":
            row = row.with_columns(pl.lit(self._unregistered()).alias(uscc_col))
        elif rule == "unparsable_period":
            row = row.with_columns(pl.lit(period_text).alias("_period"))
        col = {"invalid_uscc": uscc_col, "unknown_firm": uscc_col, "unparsable_period": "period"}.get(rule)
        off = 3.5 if rule == "duplicate_row" else 0.5
        return row.with_columns(pl.col("_key") + off, pl.lit(rule).alias("_rule"), pl.lit(col).alias("_col"))

    def _unregistered(self) -> str:
        """A valid USCC that is not in the registry (the quarantined unknown-cluster firms come first)."""
        if self.unknown_cluster_codes:
            return self.unknown_cluster_codes.pop(0)
        from flows.sample.core import make_uscc

        return str(make_uscc(self.rng, np.array(["130100"]), self.taken)[0])

    def _fact_frame(self, kind: str, recs: pl.DataFrame, style: Style) -> pl.DataFrame:
        """Internal rows (integer 元/kgce) → the columns this bureau writes, plus the bookkeeping columns."""
        cols_all = [c.name for c in KINDS[kind].stored_columns if c.name not in ("uscc", "period", "basis")]
        start = None
        if style.basis == "ytd":
            start = (
                pl.when(
                    (pl.col("basis") == "ytd")
                    & (
                        (pl.col("month") > 1)
                        if not style.basis_col
                        else (pl.lit(style.janfeb) & (pl.col("month") == 2))
                    )
                )
                .then(1)
                .otherwise(None)
            )
        period = pl.coalesce(pl.col("_period"), fmt_period(pl.col("year"), pl.col("month"), start, style))
        cols = [pl.col("uscc").alias(header(kind, "uscc", style)), period.alias(header(kind, "period", style))]
        if style.basis_col:
            cols.append(
                pl.when(pl.col("basis") == "ytd")
                .then(pl.lit("累计"))
                .otherwise(pl.lit("当月"))
                .alias(header(kind, "basis", style))
            )
        for m in cols_all:
            if m in style.omit:
                continue
            fam = KINDS[kind].column(m).unit_family
            e = (
                money(pl.col(m), style.unit("money"))
                if fam == "money"
                else energy(pl.col(m), style.unit("energy"))
                if fam == "energy"
                else pl.col(m)
            )
            cols.append(e.alias(header(kind, m, style)))
        return recs.select(*cols, "_key", "_rule", "_col")

    def _write_facts(self, kind: str, rep: pl.DataFrame, styles: dict[str, Style]) -> None:
        """One file per province and period block, with the planted bad rows of EXTRAS and self.dropped."""
        if kind == "monthly":
            end = (
                pl.when(pl.col("year") < 2025)
                .then(pl.format("{}-12", "year"))
                .otherwise(pl.when(pl.col("month") <= 6).then(pl.lit("2025-06")).otherwise(pl.lit("2025-12")))
            )
        else:
            end = pl.when(pl.col("year") < 2025).then(pl.lit("2024-12")).otherwise(pl.lit("2025-12"))
        rep = rep.with_columns(
            end.alias("_end"),
            pl.lit(None, pl.Utf8).alias("_period"),
            pl.lit(None, pl.Utf8).alias("_rule"),
            pl.lit(None, pl.Utf8).alias("_col"),
        )
        measure = "output" if kind == "monthly" else "tax_paid"
        drops = {(u, a): r for u, a, r in self.dropped[kind]}
        for (prov, fend), recs in sorted(rep.group_by("prov", "_end"), key=lambda x: x[0]):
            style = styles[prov]
            recs = (
                recs.sort("a", "uscc")
                .with_row_index("_i")
                .with_columns(pl.col("_i").cast(pl.Float64).alias("_key"))
                .drop("_i")
            )
            parts = [recs]
            for (u, a), rule in drops.items():
                hit = recs.filter((pl.col("uscc") == u) & (pl.col("a") == a))
                if hit.height == 0:
                    continue
                rest = parts[0].filter(~((pl.col("uscc") == u) & (pl.col("a") == a)))
                col = None if rule == "conflicting_rows" else measure
                factor = {"negative_value": -1, "unit_suspect": 10000, "conflicting_rows": 1}[rule]
                bad = hit.with_columns(pl.col(measure) * factor, pl.lit(rule).alias("_rule"), pl.lit(col).alias("_col"))
                if rule == "conflicting_rows":
                    bad = pl.concat(
                        [bad, bad.with_columns((pl.col(measure) * 11 // 1000 * 100), pl.col("_key") + 0.25)]
                    )
                parts[0] = pl.concat([rest, bad])
            for k, p, e, rule, text in EXTRAS:
                if (k, p, e) == (kind, prov, fend):
                    parts.append(self._bad_extra(parts[0], rule, kind, period_text=text))
            recs = pl.concat(parts)
            ext = {"csv": "csv", "xlsx": "xlsx", "parquet": "parquet"}[style.fmt]
            name = f"{kind}_{fend}_{prov}.{ext}"
            yr = fend[:4] if kind == "monthly" else ("2023-2024" if fend < "2025" else "2025")
            what = "规模以上工业企业主要经济指标" if kind == "monthly" else "重点企业实缴税金"
            title = f"{PROVINCES[prov]}{yr}年{what}"
            notes = (
                "注：1. 本表为快报数据，以年报为准；2. 累计数为本年1月至本月合计。",
                f"数据来源：{PROVINCES[prov]}统计局、税务局",
            )
            self.bad += write(self._fact_frame(kind, recs, style), self.inbox / name, style, title, notes)

    def _write_registries(self) -> None:
        """Clusters (XLSX), firms (XLSX in 亩, Jiangsu GBK CSV in 平方米, later entrants as English CSV), platforms."""
        rng = self.rng
        zh = Style(fmt="xlsx", bracket="full")
        cl = self.cl.with_columns(
            pl.col("prov").replace_strict(PROVINCES).alias("province"),
            pl.lit(0.0).alias("_key"),
            pl.lit(None, pl.Utf8).alias("_rule"),
            pl.lit(None, pl.Utf8).alias("_col"),
        )
        cols = CLUSTER_COLUMNS
        self.bad += write(
            cl.select(*[pl.col(c).alias(header("clusters", c, zh)) for c in cols], "_key", "_rule", "_col"),
            self.inbox / "clusters_2023-01.xlsx",
            zh,
            "先进制造业集群名录",
            ("注：本范围 county/city/province 指本地配套率计算口径。", "数据来源：省工业和信息化厅"),
        )
        f = self.firms.with_columns(
            pl.col("fi").cast(pl.Float64).alias("_key"),
            pl.lit(None, pl.Utf8).alias("_rule"),
            pl.lit(None, pl.Utf8).alias("_col"),
        )
        entrant = pl.col("entry") > 0
        old_js = f.filter(~entrant & (pl.col("prov") == "jiangsu"))
        old = f.filter(~entrant & (pl.col("prov") != "jiangsu"))
        new = f.filter(entrant)
        cols = REGISTRY_FIRM_COLUMNS

        def frame(df: pl.DataFrame, st: Style, yes: str, no: str, srdi: dict[str, str]) -> pl.DataFrame:
            land = pl.col("land_m2") if st.land == "平方米" else pl.col("land_c") / 100
            conv = {
                "above_scale": pl.when("above_scale").then(pl.lit(yes)).otherwise(pl.lit(no)),
                "chain_leader": pl.when("chain_leader").then(pl.lit(yes)).otherwise(pl.lit(no)),
                "srdi_level": pl.col("srdi_level").replace_strict(srdi),
                "land_area": land,
                "established": pl.col("established") if st.fmt == "xlsx" else pl.col("established").cast(pl.Utf8),
            }
            return df.select(
                *[conv.get(c, pl.col(c)).alias(header("firms", c, st)) for c in cols], "_key", "_rule", "_col"
            )

        zh_srdi = {"none": "无", "provincial": "省级", "national": "国家级"}
        self.bad += write(
            frame(old, zh, "是", "否", zh_srdi),
            self.inbox / "firms_2023-01_registry.xlsx",
            zh,
            "集群企业名录",
            ("注：用地面积为自有工业用地，租赁厂房企业为空或0。", "数据来源：市场监管局、自然资源局"),
        )
        js = Style(fmt="csv", encoding="gbk", bracket="round", land="平方米")
        self.bad += write(frame(old_js, js, "1", "0", zh_srdi), self.inbox / "firms_2023-01_jiangsu.csv", js)
        en = Style(fmt="csv", encoding="utf-8-sig", lang="en")
        newf = frame(new, en, "true", "false", {k: k for k in zh_srdi})
        from flows.sample.core import make_uscc

        codes = make_uscc(rng, np.array(["130100", "310115", "440106"]), self.taken)
        self.unknown_cluster_codes = [str(codes[0]), str(codes[1])]
        bad_rows = []
        for i, (code, cid) in enumerate(zip(codes, ("HB_XXX", "SH_IC", "GD_999"), strict=False)):
            r = newf[i].with_columns(
                pl.lit(str(code)).alias("uscc"),
                pl.lit(cid).alias("cluster_id"),
                pl.lit(f"未登记集群{i}号有限公司").alias("firm_name"),
                pl.col("_key") + 0.5,
                pl.lit("unknown_cluster").alias("_rule"),
                pl.lit("cluster_id").alias("_col"),
            )
            bad_rows.append(r)
        for i in (3, 7):
            bad_rows.append(
                newf[i].with_columns(
                    pl.col("uscc").map_elements(bad_uscc, pl.Utf8),
                    pl.col("_key") + 0.5,
                    pl.lit("invalid_uscc").alias("_rule"),
                    pl.lit("uscc").alias("_col"),
                )
            )
        self.bad += write(pl.concat([newf, *bad_rows]), self.inbox / "firms_2024-07_new.csv", en)
        types = ("制造业创新中心", "重点实验室", "中试基地", "公共服务平台", "工程技术研究中心", "企业技术中心")
        levels = ("national", "provincial", "municipal")
        plat = []
        for cid, n_f in zip(self.cl["cluster_id"], self.cl["n_firms"], strict=False):
            k = int(rng.integers(1, 3 + n_f // 60))
            for j in range(k):
                t = types[int(rng.integers(len(types)))]
                plat.append(
                    {
                        "platform_name": f"{cid}{t}{j + 1}号",
                        "cluster_id": cid,
                        "level": levels[int(rng.integers(3))],
                        "type": t,
                    }
                )
        self.platforms = pl.DataFrame(plat)
        pst = Style(fmt="csv", encoding="utf-8")
        self.bad += write(
            self.platforms.select(
                *[pl.col(c).alias(header("platforms", c, pst)) for c in self.platforms.columns],
                pl.int_range(pl.len()).cast(pl.Float64).alias("_key"),
                pl.lit(None, pl.Utf8).alias("_rule"),
                pl.lit(None, pl.Utf8).alias("_col"),
            ),
            self.inbox / "platforms_2023-01.csv",
            pst,
        )

    def _write_revisions(self) -> None:
        """Revision files: full restated rows (口径 per row) for earlier months, named after the originals."""
        for name, rows in self.revisions.items():
            kind = name.split("_")[0]
            st = Style(fmt="xlsx" if name.endswith("xlsx") else "csv", bracket="round", period="dash")
            df = rows.sort("a", "uscc").with_columns(
                pl.int_range(pl.len()).cast(pl.Float64).alias("_key"),
                pl.lit(None, pl.Utf8).alias("_period"),
                pl.lit(None, pl.Utf8).alias("_rule"),
                pl.lit(None, pl.Utf8).alias("_col"),
            )
            self.bad += write(
                self._fact_frame(kind, df, st),
                self.inbox / name,
                st,
                "更正数据",
                ("注：本表为对前期已报数据的更正，以本表为准。", "数据来源：统计局"),
            )

    def _proc_frame(self, df: pl.DataFrame, st: Style) -> pl.DataFrame:
        y, m = pl.col("a") // 12 + 2023, pl.col("a") % 12 + 1
        cols = [c.name for c in KINDS["procurement"].columns]
        conv = {
            "period": pl.coalesce(pl.col("_period"), fmt_period(y, m, None, st)),
            "amount": money(pl.col("amount"), st.unit("money")),
        }
        return df.select(
            *[conv.get(c, pl.col(c)).alias(header("procurement", c, st)) for c in cols], "_key", "_rule", "_col"
        )

    def _write_procurement(self) -> None:
        """Yearly/half-yearly Parquet, Hubei's Q1 2025 as GBK CSV in 千元, one revision CSV by (buyer, period)."""
        hubei = set(self.firms.filter(pl.col("prov") == "hubei")["uscc"])
        pr = self.proc.sort("a", "buyer", "amount").with_columns(
            pl.int_range(pl.len()).cast(pl.Float64).alias("_key"),
            pl.lit(None, pl.Utf8).alias("_period"),
            pl.lit(None, pl.Utf8).alias("_rule"),
            pl.lit(None, pl.Utf8).alias("_col"),
        )
        hb_q1 = pl.col("buyer_uscc").is_in(list(hubei)) & pl.col("a").is_between(24, 26)
        files = [
            ("procurement_2023-12.parquet", pr.filter(pl.col("a") < 12), Style(fmt="parquet", lang="en"), []),
            (
                "procurement_2024-12.parquet",
                pr.filter(pl.col("a").is_between(12, 23)),
                Style(fmt="parquet", money="元", period="compact", bracket="full"),
                [("unparsable_period", "2024年")],
            ),
            (
                "procurement_2025-03_hubei.csv",
                pr.filter(hb_q1),
                Style(fmt="csv", encoding="gbk", money="千元", period="zh", bracket="round"),
                [
                    ("invalid_uscc", None),
                    ("invalid_uscc", None),
                    ("unknown_firm", None),
                    ("unknown_firm", None),
                    ("unparsable_period", "2025年02月下旬"),
                ],
            ),
            (
                "procurement_2025-06.parquet",
                pr.filter(pl.col("a").is_between(24, 29) & ~hb_q1),
                Style(fmt="parquet", money="元", period="slash", bracket="full"),
                [("invalid_uscc", None), ("unknown_firm", None)],
            ),
            (
                "procurement_2025-09_revision.csv",
                self.proc_rev.sort("a", "buyer_uscc", "amount").with_columns(
                    pl.int_range(pl.len()).cast(pl.Float64).alias("_key"),
                    pl.lit(None, pl.Utf8).alias("_period"),
                    pl.lit(None, pl.Utf8).alias("_rule"),
                    pl.lit(None, pl.Utf8).alias("_col"),
                ),
                Style(fmt="csv", encoding="utf-8", lang="en"),
                [],
            ),
            ("procurement_2025-12.parquet", pr.filter(pl.col("a") >= 30), Style(fmt="parquet", lang="en"), []),
        ]
        for name, df, st, bads in files:
            df = df.select(
                "a",
                *[c.name for c in KINDS["procurement"].columns if c.name != "period"],
                "_key",
                "_period",
                "_rule",
                "_col",
            )
            extra = [self._bad_extra(df, rule, "procurement", "buyer_uscc", text) for rule, text in bads]
            extra = [
                e.with_columns(
                    pl.when(pl.col("_col") == "period").then(pl.lit("period")).otherwise(pl.col("_col")).alias("_col")
                )
                for e in extra
            ]
            self.bad += write(self._proc_frame(pl.concat([df, *extra]), st), self.inbox / name, st)

    def _write_digital(self) -> None:
        """Four survey files: XLSX 是/否 with date cells, CSV Y/N, Parquet booleans, GBK CSV 1/0."""
        specs = [
            ("digital_2023-06.xlsx", Style(fmt="xlsx"), ("是", "否")),
            ("digital_2024-06.csv", Style(fmt="csv"), ("Y", "N")),
            ("digital_2025-06.parquet", Style(fmt="parquet", lang="en"), None),
            ("digital_2025-11_supplement.csv", Style(fmt="csv", encoding="gbk"), ("1", "0")),
        ]
        cols = [c.name for c in KINDS["digital"].columns]
        for i, (name, st, yn) in enumerate(specs):
            df = (
                self.dig.filter(pl.col("wave") == i)
                .sort("uscc")
                .with_columns(
                    pl.int_range(pl.len()).cast(pl.Float64).alias("_key"),
                    pl.lit(None, pl.Utf8).alias("_rule"),
                    pl.lit(None, pl.Utf8).alias("_col"),
                    pl.lit(None, pl.Utf8).alias("_period"),
                )
            )
            if i == 1:
                df = pl.concat(
                    [df]
                    + [self._bad_extra(df, r, "digital") for r in ("invalid_uscc", "unknown_firm", "duplicate_row")]
                )
            conv = {}
            if yn:
                conv = {
                    b: pl.when(b).then(pl.lit(yn[0])).otherwise(pl.lit(yn[1])) for b in ("cloud", "platform_connected")
                }
            if st.fmt == "csv":
                conv["survey_date"] = pl.col("survey_date").cast(pl.Utf8)
            self.bad += write(
                df.select(
                    *[conv.get(c, pl.col(c)).alias(header("digital", c, st)) for c in cols], "_key", "_rule", "_col"
                ),
                self.inbox / name,
                st,
                "企业数字化转型调查",
                ("注：成熟度按GB/T 39116评估。", "数据来源：工业和信息化局"),
            )

    # ---------------------------------------------------------------- truth
    def _write_truth(self) -> None:
        """Canonical facts after revisions and differencing, indicators, totals, bad rows, events."""
        T = self.truth
        money_cols = ("output", "value_added", "revenue", "profit", "rd_expense")
        drop_m = pl.DataFrame([(u, a) for u, a, _ in self.dropped["monthly"]], schema=["uscc", "a"], orient="row")
        drop_t = pl.DataFrame([(u, a) for u, a, _ in self.dropped["tax"]], schema=["uscc", "a"], orient="row")
        omit = {p: s.omit for p, s in MONTHLY_STYLE.items()}
        rep_m = self.rep_m.join(drop_m, on=["uscc", "a"], how="anti")
        monthly = derive(rep_m, ("output", "value_added", "revenue", "profit", "energy", "rd_expense"), ("employees",))
        monthly = monthly.join(self.firms.select("uscc", "prov"), on="uscc").with_columns(
            *[(pl.col(k) / 1e4).alias(k) for k in money_cols], (pl.col("energy") / 1000).alias("energy")
        )
        for k in ("value_added", "rd_expense"):
            gone = [p for p, o in omit.items() if k in o]
            monthly = monthly.with_columns(pl.when(pl.col("prov").is_in(gone)).then(None).otherwise(pl.col(k)).alias(k))
        monthly = monthly.select("uscc", "period", "span_months", *MEASURES).sort("uscc", "period")
        assert monthly["output"].min() >= 0
        tax = (
            derive(self.rep_t.join(drop_t, on=["uscc", "a"], how="anti"), ("tax_paid",))
            .with_columns(pl.col("tax_paid") / 1e4)
            .sort("uscc", "period")
        )
        proc = self.proc_final.select(
            "buyer_uscc",
            "supplier_uscc",
            "supplier_name",
            "supplier_adcode",
            pl.date(pl.col("a") // 12 + 2023, pl.col("a") % 12 + 1, 1).alias("period"),
            (pl.col("amount") / 1e4).alias("amount"),
        ).sort("period", "buyer_uscc", "supplier_name", "amount")
        dig = self.dig.select([c.name for c in KINDS["digital"].columns]).sort("uscc", "survey_date")
        firms = self.firms.select(REGISTRY_FIRM_COLUMNS)
        clusters = self.cl.with_columns(pl.col("prov").replace_strict(PROVINCES).alias("province")).select(
            CLUSTER_COLUMNS
        )
        periods = [dt.date(2023 + a // 12, a % 12 + 1, 1) for a in range(36)]
        ind = indicators(clusters, firms, self.platforms, monthly, tax, proc, dig, periods)
        monthly.write_parquet(T / "monthly_truth.parquet", compression="zstd", statistics=False)
        tax.write_parquet(T / "tax_truth.parquet", compression="zstd", statistics=False)
        proc.write_parquet(T / "procurement_truth.parquet", compression="zstd", statistics=False)
        firms.write_parquet(T / "firms_truth.parquet", compression="zstd", statistics=False)
        clusters.write_parquet(T / "clusters_truth.parquet", compression="zstd", statistics=False)
        ind.write_parquet(T / "indicators.parquet", compression="zstd", statistics=False)
        cfg = chain_index_config()
        views = chain(clusters, firms, monthly, proc, periods, cfg, dict(adcode_names()))
        views["cluster_index"] = cluster_index(ind, {i.code: i.direction for i in registry()}, cfg)
        for name, frame in views.items():
            frame.write_parquet(T / f"{name}.parquet", compression="zstd", statistics=False)
        fc = firms.select("uscc", "cluster_id")
        tot = ind.filter(pl.col("indicator").is_in(["output_month", "n_reporting"])).pivot(
            "indicator", index=["cluster_id", "period"], values="value"
        )
        tt = tax.join(fc, on="uscc").group_by("cluster_id", "period").agg(pl.col("tax_paid").sort().sum())
        pt = (
            proc.join(fc.rename({"uscc": "buyer_uscc"}), on="buyer_uscc")
            .group_by("cluster_id", "period")
            .agg(pl.col("amount").sort().sum().alias("procurement_amount"))
        )
        tot = (
            tot.join(tt, on=["cluster_id", "period"], how="left")
            .join(pt, on=["cluster_id", "period"], how="left")
            .select(
                "cluster_id",
                "period",
                pl.col("output_month").alias("output"),
                "tax_paid",
                "procurement_amount",
                pl.col("n_reporting").cast(pl.Int64),
            )
            .sort("cluster_id", "period")
        )
        tot.write_parquet(T / "cluster_month_totals.parquet", compression="zstd", statistics=False)
        bad = pl.DataFrame(self.bad, schema=BAD_ROWS_SCHEMA).sort("file_name", "row_number", "rule")
        bad.write_csv(T / "bad_rows.csv")
        pl.DataFrame({"file_name": ["monthly_2024-05_scan.xlsx"], "reason": ["not_a_table"]}).write_csv(
            T / "bad_files.csv"
        )
        self._events(ind)
        (T / "README.md").write_text(TRUTH_README, encoding="utf-8")

    def _events(self, ind: pl.DataFrame) -> None:
        def val(cid: str, period: dt.date, code: str) -> float:
            return ind.filter(
                (pl.col("cluster_id") == cid) & (pl.col("period") == period) & (pl.col("indicator") == code)
            )["value"][0]

        c, _ = EVENT_LOCAL_DROP
        before, after = (
            val(c, dt.date(2025, 6, 1), "local_supporting_rate"),
            val(c, dt.date(2025, 9, 1), "local_supporting_rate"),
        )
        gc, ga, gn, _ = EVENT_GAP
        rows = [
            (
                c,
                "2025-07-01",
                "local_supply_drop",
                f"monthly local purchase share falls ~30 points from 2025-07 and stays; TTM local_supporting_rate "
                f"{before:.4f} (2025-06) → {after:.4f} (2025-09)",
                "",
            ),
            (
                EVENT_UNIT_X10[0],
                "2025-05-01",
                "unit_switch_x10",
                "these firms report 千元 figures under 万元 headers from 2025-05 (money measures ×10, not quarantined; "
                "truth keeps the reported ×10 values)",
                ";".join(sorted(self.x10)),
            ),
            (
                gc,
                "2025-08-01",
                "reporting_gap",
                f"{len(self.gap)} firms (15% of the cluster) report nothing for 2025-08 and 2025-09 "
                "and resume in 2025-10 with a 累计 value (span_months = 3)",
                ";".join(self.gap),
            ),
            (
                EVENT_SHIFT[0],
                "2025-03-01",
                "distribution_shift",
                "from 2025-03 firms below the cluster's median size produce ×1.8, the others ×0.85 (a real shift)",
                "",
            ),
        ]
        pl.DataFrame(rows, schema=["cluster_id", "period", "event", "description", "firms"], orient="row").write_csv(
            self.truth / "events.csv"
        )


TRUTH_README = (Path(__file__).with_name("truth_README.md")).read_text(encoding="utf-8")
