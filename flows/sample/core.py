"""Vectorised building blocks of the sample generator, shared by every scale.

Firms, monthly values, tax and procurement are drawn with numpy over whole arrays (one call per month
at most), because province and nation scale have 50,000-500,000 firms and 5-50 M procurement rows and
must generate in minutes with bounded memory.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from flows.sample.spec import NATIONAL_ADCODES, SEASON
from flows.support.contract import KINDS
from flows.support.uscc import ALPHABET, check_chars

# The generated registries' columns at every scale: no English cluster names (optional; the English report shows
# the Chinese ones) and no old 税务登记号 (only the sample's bureau-export directory carries them).
CLUSTER_COLUMNS = [c.name for c in KINDS["clusters"].columns if c.name != "cluster_name_en"]
REGISTRY_FIRM_COLUMNS = [c.name for c in KINDS["firms"].columns if c.name != "old_tax_id"]

_ALPHA = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_BRAND1 = "华宏信达鑫泰恒远盛兴瑞丰源通宇新联创佳正德金隆永明光辉天安顺和昌富成利祥海东南嘉凯旭博睿智航腾飞龙鹏程阳"
_BRAND2 = "春晨星汇宝诚聚康力合众万方友谊高峰森林云山川江湖越美晶锐优精工益强英杰振华中蓝科普"
_TRADES = ("材料", "电子", "精密", "机械", "化工", "包装", "物流", "模具", "五金", "科技")
SEGMENTS = ("上游原材料", "核心零部件", "整机制造", "配套服务")


def month_of(a: int | np.ndarray, start_year: int = 2023) -> tuple:
    """Month index (0 = January of start_year) → (year, month)."""
    return start_year + np.asarray(a) // 12, np.asarray(a) % 12 + 1


def make_uscc(rng: np.random.Generator, adcodes: np.ndarray, taken: set[str] | None = None) -> np.ndarray:
    """Valid, distinct USCCs: 9 (工商) 1 (企业), registration division code, 9-character body, check char."""
    n = len(adcodes)
    taken = set() if taken is None else taken
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        idx = np.empty((len(todo), 18), dtype=np.int64)
        idx[:, 0], idx[:, 1] = 9, 1
        digits = np.frombuffer("".join(adcodes[todo]).encode(), dtype=np.uint8).reshape(-1, 6) - ord("0")
        idx[:, 2:8] = digits
        idx[:, 8:17] = rng.integers(0, 31, size=(len(todo), 9))
        idx[:, 17] = check_chars(idx[:, :17])
        codes = _ALPHA[idx].view("S18").ravel().astype(str)
        retry = []
        for i, code in zip(todo, codes, strict=False):
            if code in taken:
                retry.append(i)
            else:
                taken.add(code)
                out[i] = code
        todo = np.asarray(retry, dtype=np.int64)
    return out.astype(str)


def brand_names(start: int, n: int, prefix: pl.Series | str, suffix: pl.Series | str) -> pl.Series:
    """Distinct Chinese firm names from a running index (prefix + 2-4 brand characters + suffix)."""
    i = np.arange(start, start + n)
    b1, b2 = np.array(list(_BRAND1)), np.array(list(_BRAND2))
    n1, n2 = len(b1), len(b2)
    third = np.where(i >= n1 * n2, b1[(i // (n1 * n2)) % n1], "")
    fourth = np.where(i >= n1 * n2 * n1, b2[(i // (n1 * n2 * n1)) % n2], "")
    brand = pl.Series(np.char.add(np.char.add(np.char.add(b1[i % n1], b2[(i // n1) % n2]), third), fourth))
    df = pl.DataFrame(
        {
            "p": prefix if isinstance(prefix, pl.Series) else [prefix] * n,
            "b": brand,
            "s": suffix if isinstance(suffix, pl.Series) else [suffix] * n,
        }
    )
    return df.select(pl.concat_str(["p", "b", "s"])).to_series()


def build_firms(
    cl: pl.DataFrame, rng: np.random.Generator, n_months: int, start_year: int, taken: set[str]
) -> pl.DataFrame:
    """Registry firms, contiguous by cluster with chain leaders first; weights drive every measure."""
    n_f = cl["n_firms"].to_numpy()
    c_of = np.repeat(np.arange(cl.height), n_f)
    n = len(c_of)
    first = np.concatenate([[0], np.cumsum(n_f)[:-1]])
    pos = np.arange(n) - first[c_of]
    dist_lists = cl["districts"].to_list()
    n_d = np.array([len(d) for d in dist_lists])
    flat_d = np.array([x for d in dist_lists for x in d])
    d_first = np.concatenate([[0], np.cumsum(n_d)[:-1]])
    adcode = flat_d[d_first[c_of] + (rng.random(n) * n_d[c_of]).astype(np.int64)]
    leader = pos < cl["n_leaders"].to_numpy()[c_of]
    adcode = np.where(leader, cl["adcode"].to_numpy()[c_of], adcode)
    adcode = np.where(np.char.endswith(adcode.astype(str), "00"), flat_d[d_first[c_of]], adcode)
    w = rng.lognormal(0.0, 1.3, n)
    w_small = np.bincount(c_of, weights=np.where(leader, 0.0, w), minlength=cl.height)
    share = cl["lead_share"].to_numpy()
    nl = np.maximum(cl["n_leaders"].to_numpy(), 1)
    lead_w = share / np.maximum(1 - share, 1e-9) * w_small / nl
    w = np.where(leader, lead_w[c_of] * rng.uniform(0.8, 1.25, n), w)
    rank = (
        pl.DataFrame({"c": c_of, "w": w})
        .select((pl.col("w").rank("ordinal", descending=True).over("c") - 1).alias("r"))["r"]
        .to_numpy()
    )
    above_frac = cl["above_frac"].to_numpy()[c_of]
    above = (rank < np.ceil(above_frac * n_f[c_of])) | leader
    u = rng.random(n)
    srdi = np.where(leader, "none", np.where(u < 0.03, "national", np.where(u < 0.11, "provincial", "none")))
    u = rng.random(n)
    med = np.median(w)
    land = np.round(rng.lognormal(np.log(25.0), 0.6, n) * (w / med) ** 0.35 * 100).astype(np.int64)
    land = np.where(u < 0.04, 0, land)
    land_null = (u >= 0.04) & (u < 0.11) & ~leader
    entry = np.zeros(n, dtype=np.int64)
    exit_ = np.full(n, n_months, dtype=np.int64)
    u = rng.random(n)
    enter = (u < 0.04) & ~leader
    leave = (u > 0.97) & ~leader
    entry = np.where(enter, rng.integers(min(12, n_months // 3), max(n_months - 6, 2), n), entry)
    exit_ = np.where(leave, rng.integers(6, max(n_months - 1, 7), n), exit_)
    exit_ = np.where(exit_ <= entry, n_months, exit_)
    base = dt.date(1995, 1, 1).toordinal()
    est = rng.integers(0, dt.date(2021, 12, 31).toordinal() - base, n) + base
    ey, em = month_of(entry, start_year)
    entry_ord = (
        np.array([dt.date(int(y), int(m), 1).toordinal() for y, m in zip(ey, em, strict=False)])
        if n < 100_000
        else None
    )
    if entry_ord is not None:
        est = np.where(enter, entry_ord - rng.integers(20, 80, n), est)
    seg = np.where(leader, "整机制造", np.array(SEGMENTS)[rng.integers(0, 4, n)])
    city = cl["city"].str.replace("市$", "").str.slice(0, 4).to_numpy()[c_of]
    trade = cl["leading_industry"].str.slice(0, 2).to_numpy()[c_of]
    names = brand_names(0, n, pl.Series(city), pl.Series(np.char.add(trade.astype(str), "有限公司")))
    return (
        pl.DataFrame(
            {
                "fi": np.arange(n),
                "c": c_of,
                "cluster_id": cl["cluster_id"].to_numpy()[c_of],
                "uscc": make_uscc(rng, adcode.astype(str), taken),
                "firm_name": names,
                "adcode": adcode.astype(str),
                "chain_segment": seg,
                "above_scale": above,
                "chain_leader": leader,
                "srdi_level": srdi,
                "land_c": land,
                "_land_null": land_null,
                "established": pl.Series(est).cast(pl.Int64) - 719163,
                "w": w,
                "entry": entry,
                "exit": exit_,
                "va_ratio": rng.uniform(0.18, 0.36, n),
                "rev_ratio": rng.uniform(0.92, 1.04, n),
                "margin": rng.normal(0.06, 0.04, n),
                "rd_ratio": rng.uniform(0.004, 0.06, n),
                "tax_rate": rng.uniform(0.015, 0.05, n),
                "purch_ratio": rng.uniform(0.35, 0.65, n),
                "productivity": rng.uniform(8.0, 30.0, n),
                "lam": (0.3 + 1.4 * (1 - rank / n_f[c_of])) * np.where(leader, 4.0, 1.0),
                "energy_int": cl["energy_int"].to_numpy()[c_of] * rng.uniform(0.6, 1.4, n),
            }
        )
        .with_columns(
            pl.col("established").cast(pl.Date),
            pl.when(pl.col("_land_null")).then(None).otherwise(pl.col("land_c")).alias("land_c"),
        )
        .drop("_land_null")
    )


def output_month(firms: pl.DataFrame, growth: np.ndarray, a: int, rng: np.random.Generator) -> np.ndarray:
    """Unscaled true output (万元) of every firm in month a; zero when not active."""
    w = firms["w"].to_numpy()
    c = firms["c"].to_numpy()
    active = (firms["entry"].to_numpy() <= a) & (a < firms["exit"].to_numpy())
    val = w * SEASON[a % 12] * (1 + growth[c]) ** (a / 12) * np.exp(rng.normal(0, 0.07, len(w)))
    return np.where(active, val, 0.0)


def measures(firms: pl.DataFrame, out_wan: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All monthly measures from output (万元): money as integer 元 in multiples of 100, energy in kgce."""
    n = len(out_wan)
    f = {
        k: firms[k].to_numpy()
        for k in ("va_ratio", "rev_ratio", "margin", "rd_ratio", "tax_rate", "productivity", "energy_int")
    }

    def yuan(x: np.ndarray) -> np.ndarray:
        return (np.round(x * 100) * 100).astype(np.int64)

    out = yuan(out_wan)
    rev = out_wan * f["rev_ratio"] * np.exp(rng.normal(0, 0.02, n))
    return {
        "output": out,
        "value_added": yuan(out_wan * f["va_ratio"]),
        "revenue": yuan(rev),
        "profit": yuan(rev * (f["margin"] + rng.normal(0, 0.01, n))),
        "rd_expense": yuan(rev * f["rd_ratio"]),
        "energy": (np.round(out_wan * f["energy_int"] * 100) * 10).astype(np.int64),
        "employees": np.maximum(
            np.round(out_wan / f["productivity"] * (1 + rng.normal(0, 0.01, n))).astype(np.int64), 3
        ),
        "tax_paid": yuan(out_wan * f["tax_rate"] * np.exp(rng.normal(0, 0.1, n))),
    }


def external_suppliers(
    cl: pl.DataFrame, rng: np.random.Generator, taken: set[str]
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Suppliers outside the registry, in blocks per cluster: local, non-local and unknown location."""
    n_f = cl["n_firms"].to_numpy()
    sizes = np.stack([20 + n_f // 2, 30 + n_f // 2, 5 + n_f // 10], axis=1)  # local, nonlocal, unknown
    kind = np.concatenate([np.repeat([0, 1, 2], s) for s in sizes])
    c_of = np.concatenate([np.full(s.sum(), i) for i, s in enumerate(sizes)])
    n = len(kind)
    dist_lists = cl["districts"].to_list()
    scope_len = cl["scope_len"].to_numpy()
    local_ad = (
        np.array([dist_lists[c][int(rng.integers(0, len(dist_lists[c])))] for c in c_of])
        if n < 200_000
        else cl["adcode"].to_numpy()[c_of]
    )
    if n >= 200_000:
        local_ad = np.char.add(np.char.ljust(np.array([a[:4] for a in local_ad]), 4), "02")
    nat = np.array(NATIONAL_ADCODES)[rng.integers(0, len(NATIONAL_ADCODES), n)]
    cl_ad = cl["adcode"].to_numpy()[c_of]
    same = (
        np.array([a[:k] == b[:k] for a, b, k in zip(nat, cl_ad, scope_len[c_of], strict=False)])
        if n < 200_000
        else np.zeros(n, bool)
    )
    nat = np.where(same, np.array(NATIONAL_ADCODES)[(rng.integers(0, len(NATIONAL_ADCODES), n))], nat)
    ad = np.where(kind == 0, local_ad, np.where(kind == 1, nat, None))
    has_uscc = rng.random(n) < 0.5
    codes = make_uscc(rng, np.where(kind == 2, nat, ad).astype(str), taken)
    trade = np.array(_TRADES)[rng.integers(0, len(_TRADES), n)]
    names = brand_names(7919, n, "", pl.Series(np.char.add(trade, "有限公司")))
    off = np.concatenate([[0], np.cumsum(sizes.ravel())[:-1]]).reshape(-1, 3)
    ext = pl.DataFrame(
        {
            "c": c_of,
            "kind": kind,
            "supplier_uscc": pl.Series(codes),
            "supplier_name": names,
            "supplier_adcode": pl.Series(ad.astype(str)),
        }
    ).with_columns(
        pl.when(pl.Series(has_uscc)).then("supplier_uscc").alias("supplier_uscc"),
        pl.when(pl.Series(kind != 2)).then("supplier_adcode").alias("supplier_adcode"),
    )
    return ext, off, sizes


# Dominant outside suppliers per cluster (k = 0, 1, 2): the segment of the buyers they take rows from (None: any),
# the interval of a uniform draw per row that moves a non-local outside row (kind 1) to them (disjoint where the
# buyers overlap), the first month (index) they sell in — the third is new in 2025 — and the name's suffix.
DOMINANT = (("整机制造", 0.0, 0.45, 0, "集团有限公司"), ("核心零部件", 0.0, 0.60, 0, "精密部件有限公司"),
            (None, 0.80, 1.0, 24, "新材料科技有限公司"))
# One brand per cluster (the suffix tells a cluster's three apart), so names never collide for the sample's clusters.
_DOMINANT_BRANDS = ("鼎力", "恒通", "瑞丰", "华晟", "中拓", "天佑", "金石", "博远", "宏图", "远航", "正泰", "德盛",
                    "嘉禾", "隆基", "汇川", "永昌")


def dominant_suppliers(ext: pl.DataFrame, cl: pl.DataFrame, rng: np.random.Generator,
                       taken: set[str]) -> tuple[pl.DataFrame, np.ndarray]:
    """Three large non-local suppliers per cluster, appended to the outside suppliers (kind 1, with USCC and
    adcode): k = 0 and 2 in another province, k = 1 elsewhere in the cluster's province when a district of
    NATIONAL_ADCODES lies there. Returns the suppliers and their row indices, shape (clusters, 3)."""
    from flows.support.adcodes import adcode_names

    names_of = dict(adcode_names())
    pool = np.array(NATIONAL_ADCODES)
    rows = []
    for c, (cl_ad, scope) in enumerate(zip(cl["adcode"].to_list(), cl["scope_len"].to_list(), strict=True)):
        other = pool[[a[:2] != cl_ad[:2] for a in pool]]
        same = pool[[a[:2] == cl_ad[:2] and a[:scope] != cl_ad[:scope] for a in pool]]
        for k, (*_, suffix) in enumerate(DOMINANT):
            ad = str(rng.choice(same if k == 1 and len(same) else other))
            city = names_of[ad[:4]].removesuffix("市")
            rows.append((c, ad, f"{city}{_DOMINANT_BRANDS[c % len(_DOMINANT_BRANDS)]}{suffix}"))
    ads = np.array([r[1] for r in rows])
    names = [r[2] for r in rows]
    if len(set(names)) != len(names):
        raise ValueError("dominant supplier names collide: change _DOMINANT_BRANDS")
    extra = pl.DataFrame({"c": [r[0] for r in rows], "kind": [1] * len(rows),
                          "supplier_uscc": pl.Series(make_uscc(rng, ads, taken)), "supplier_name": names,
                          "supplier_adcode": pl.Series(ads)}, schema=ext.schema)
    index = np.arange(ext.height, ext.height + len(rows)).reshape(-1, len(DOMINANT))
    return pl.concat([ext, extra]), index


def to_dominant(rows: pl.DataFrame, firms: pl.DataFrame, ext: pl.DataFrame, dominant: np.ndarray, a: int,
                rng: np.random.Generator) -> pl.DataFrame:
    """Move a share of the month's non-local outside rows (kind 1) to the cluster's dominant suppliers (DOMINANT),
    amounts unchanged (an accidental exact duplicate row is nudged by 100 元, as in procurement_month)."""
    sup = rows["sup_ext"].to_numpy()
    buyer = rows["buyer"].to_numpy()
    kind = np.where(sup >= 0, ext["kind"].to_numpy()[np.maximum(sup, 0)], -1)
    c = firms["c"].to_numpy()[buyer]
    seg = firms["chain_segment"].to_numpy()[buyer]
    u = rng.random(len(sup))
    out = sup.copy()
    for k, (segment, u_lo, u_hi, first, _) in enumerate(DOMINANT):
        hit = (kind == 1) & (u >= u_lo) & (u < u_hi) & (a >= first)
        if segment is not None:
            hit &= seg == segment
        out = np.where(hit, dominant[c, k], out)
    rows = rows.with_columns(pl.Series("sup_ext", out))
    key = ["a", "buyer", "sup_reg", "sup_ext", "amount"]
    while rows.select(pl.struct(key).is_duplicated().any()).item():
        rows = rows.with_columns(pl.col("amount") + 100 * pl.int_range(pl.len()).over(key))
    return rows


def procurement_month(
    firms: pl.DataFrame,
    cl: pl.DataFrame,
    ext_off: np.ndarray,
    ext_sizes: np.ndarray,
    a: int,
    out_wan: np.ndarray,
    p_local: np.ndarray,
    rate: float,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """One month of purchase rows as indices: buyer, registry supplier or external supplier, amount (元).

    Each buyer spends a firm-specific share of its output over Poisson(λ) purchases; the supplier's
    category (local / non-local / unknown location) is drawn with the cluster's local share for the month.
    """
    c_of = firms["c"].to_numpy()
    n_f = cl["n_firms"].to_numpy()
    f_first = np.concatenate([[0], np.cumsum(n_f)[:-1]])
    lam = rate * firms["lam"].to_numpy()
    n_rows = np.where(out_wan > 0, rng.poisson(lam), 0)
    buyer = np.repeat(np.arange(len(c_of)), n_rows)
    r_n = len(buyer)
    wts = rng.exponential(1.0, r_n)
    tot = np.bincount(buyer, weights=wts, minlength=len(c_of))
    amt = out_wan[buyer] * firms["purch_ratio"].to_numpy()[buyer] * wts / tot[buyer]
    amount = np.maximum(np.round(amt * 100), 1).astype(np.int64) * 100
    c = c_of[buyer]
    u, r, v = rng.random(r_n), rng.random(r_n), rng.random(r_n)
    unk = cl["p_unknown"].to_numpy()[c]
    cat = np.where(u < p_local[c], 0, np.where(u > 1 - unk, 2, 1))
    idx_local = f_first[c] + (n_f[c] * v**2).astype(np.int64)
    idx_local = np.where(idx_local == buyer, f_first[c] + (idx_local - f_first[c] + 1) % n_f[c], idx_local)
    idx_any = (v * len(c_of)).astype(np.int64)
    sup_reg = np.where((cat == 0) & (r < 0.5), idx_local, np.where((cat == 1) & (r < 0.3), idx_any, -1))
    ext_idx = ext_off[c, cat] + (ext_sizes[c, cat] * v**1.5).astype(np.int64)
    rows = pl.DataFrame(
        {
            "a": np.full(r_n, a, dtype=np.int64),
            "buyer": buyer,
            "sup_reg": sup_reg,
            "sup_ext": np.where(sup_reg < 0, ext_idx, -1),
            "amount": amount,
            "adsel": (rng.random(r_n) * 1000).astype(np.int64),
        }
    )
    key = ["a", "buyer", "sup_reg", "sup_ext", "amount"]
    while rows.select(pl.struct(key).is_duplicated().any()).item():  # no accidental exact duplicate rows
        rows = rows.with_columns(pl.col("amount") + 100 * pl.int_range(pl.len()).over(key))
    return rows


def materialise(rows: pl.DataFrame, firms: pl.DataFrame, ext: pl.DataFrame) -> pl.DataFrame:
    """Index rows → procurement columns. Registry suppliers sometimes carry a supplier_adcode (65% none,
    25% the registry's, 10% a wrong one: the registry must win)."""
    reg = rows["sup_reg"].to_numpy()
    ex = rows["sup_ext"].to_numpy()
    ri, ei = pl.Series(np.maximum(reg, 0)), pl.Series(np.maximum(ex, 0))
    is_reg = pl.Series(reg >= 0)
    sel = rows["adsel"].to_numpy()
    wrong = pl.Series(np.array(NATIONAL_ADCODES)[sel % len(NATIONAL_ADCODES)])
    reg_ad = firms["adcode"].gather(ri)
    reg_sup_ad = pl.select(
        pl.when(pl.Series(sel < 650)).then(None).when(pl.Series(sel < 900)).then(reg_ad).otherwise(wrong)
    ).to_series()
    df = pl.DataFrame(
        {
            "a": rows["a"],
            "buyer": rows["buyer"],
            "buyer_uscc": firms["uscc"].gather(rows["buyer"]),
            "r_uscc": firms["uscc"].gather(ri),
            "e_uscc": ext["supplier_uscc"].gather(ei),
            "r_name": firms["firm_name"].gather(ri),
            "e_name": ext["supplier_name"].gather(ei),
            "r_ad": reg_sup_ad.cast(pl.Utf8),
            "e_ad": ext["supplier_adcode"].gather(ei),
            "is_reg": is_reg,
            "amount": rows["amount"],
        }
    )
    return df.select(
        "a",
        "buyer",
        "buyer_uscc",
        pl.when("is_reg").then("r_uscc").otherwise("e_uscc").alias("supplier_uscc"),
        pl.when("is_reg").then("r_name").otherwise("e_name").alias("supplier_name"),
        pl.when("is_reg").then("r_ad").otherwise("e_ad").alias("supplier_adcode"),
        "amount",
    )
