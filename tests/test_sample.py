"""The bundled sample and its generator: determinism, docs/architecture.md#sample-calibration calibration, planted bad
rows, USCC checks.

Most checks read the committed sample (data/sample) so the suite stays fast; the determinism test
regenerates it once into tmp_path and compares every inbox file byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest

from flows.support.contract import kind_of
from flows.support.uscc import is_valid_uscc, uscc_check_char

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
INBOX, TRUTH = SAMPLE / "inbox", SAMPLE / "truth"
DEC = dt.date(2025, 12, 1)


def _sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _ind(cluster: str, code: str, period: dt.date = DEC) -> float:
    df = pl.read_parquet(TRUTH / "indicators.parquet")
    return df.filter((pl.col("cluster_id") == cluster) & (pl.col("period") == period) & (pl.col("indicator") == code))[
        "value"
    ].item()


# ------------------------------------------------------------------ USCC
@pytest.mark.parametrize("code", ["91350100M000100Y43", "911101080828461726", "914403001922038216"])
def test_known_real_codes_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


def test_invalid_codes_are_rejected() -> None:
    assert not is_valid_uscc("91350100M000100Y44")  # wrong check character
    assert not is_valid_uscc("91350100M000100Y4")  # 17 characters
    assert not is_valid_uscc("91350100M0001O0Y43")  # O is not in the alphabet
    assert not is_valid_uscc(None)


def test_check_char_31_maps_to_0() -> None:
    # Σ ≡ 0 (mod 31) → 31 − 0 = 31 → '0'
    assert uscc_check_char("0" * 17) == "0"


# ------------------------------------------------------------------ determinism
def test_same_seed_same_bytes(tmp_path: Path) -> None:
    from flows.sample.generate import generate

    generate(tmp_path, "sample", 20251231)
    assert _sha(tmp_path / "inbox") == _sha(INBOX)
    assert _sha(tmp_path / "truth") == _sha(TRUTH)


# ------------------------------------------------------------------ calibration
# (docs/architecture.md#sample-calibration)
def test_xushui_calibration() -> None:
    firms = pl.read_parquet(TRUTH / "firms_truth.parquet")
    assert firms.filter(pl.col("cluster_id") == "XS_AUTO").height == 118
    assert _ind("XS_AUTO", "n_firms") == 118
    assert round(_ind("XS_AUTO", "local_supporting_rate"), 6) == 0.68
    assert round(_ind("XS_AUTO", "per_mu_tax"), 2) == 31.84


@pytest.mark.parametrize(
    "cluster,yi",
    [
        ("SZ_EI", 21000),
        ("NB_PC", 3539.2),
        ("CS_CM", 1639),
        ("WX_IC", 1352),
        ("ZZ_RT", 1250),
        ("TZ_BIO", 1094.9),
        ("HF_AI", 650),
        ("XY_AS", 305.44),
    ],
)
def test_output_ttm_near_reference(cluster: str, yi: float) -> None:
    assert _ind(cluster, "output_ttm") == pytest.approx(yi * 1e4, rel=0.02)


def test_reference_counts() -> None:
    assert _ind("XY_AS", "n_above_scale") == 22
    assert _ind("WS_SQ", "n_firms") == 59
    dig = pl.read_parquet(TRUTH / "firms_truth.parquet").select("uscc", "cluster_id")
    assert _ind("DT_CTY", "cloud_rate") * _ind("DT_CTY", "n_firms") * _ind("DT_CTY", "digital_coverage") >= 355
    assert dig.height > 2000


def test_indicator_grid_complete() -> None:
    ind = pl.read_parquet(TRUTH / "indicators.parquet")
    n_cl = pl.read_parquet(TRUTH / "clusters_truth.parquet").height
    assert n_cl >= 15
    assert ind.height == n_cl * 36 * ind["indicator"].n_unique()
    assert ind["indicator"].n_unique() >= 25


# ------------------------------------------------------------------ sizes and shapes
def test_row_counts_in_range() -> None:
    assert 2000 <= pl.read_parquet(TRUTH / "firms_truth.parquet").height <= 5000
    assert 100_000 <= pl.read_parquet(TRUTH / "procurement_truth.parquet").height <= 900_000
    m = pl.read_parquet(TRUTH / "monthly_truth.parquet")
    assert 50_000 <= m.height <= 150_000
    assert m["span_months"].max() > 1 and (m["span_months"] == 2).sum() > 100  # 1-2月 reports
    bad = pl.read_csv(TRUTH / "bad_rows.csv")
    assert 20 <= bad.height <= 80
    assert set(bad["rule"]) == {
        "invalid_uscc",
        "unknown_firm",
        "unknown_cluster",
        "negative_value",
        "unparsable_period",
        "duplicate_row",
        "conflicting_rows",
        "unit_suspect",
        "uscc_number_formatted",
    }
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 20e6


def test_every_kind_and_format_present() -> None:
    names = [p.name for p in INBOX.iterdir()]
    kinds = {kind_of(n) for n in names}
    assert kinds == {"clusters", "firms", "platforms", "monthly", "tax", "procurement", "digital"}
    assert {n.rsplit(".", 1)[1] for n in names} == {"csv", "xlsx", "xls", "parquet"}
    raw = [(INBOX / n).read_bytes() for n in names if n.endswith(".csv")]
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw)
    assert any(_encoding(b) == "gbk" for b in raw)


# ------------------------------------------------------------------ planted bad rows are where listed
def _encoding(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gbk"


def _rows(path: Path) -> list[list]:
    """All physical rows of a file as a person sees them (index 0 = row 1)."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        return list(csv.reader(io.StringIO(raw.decode(_encoding(raw)))))
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
        return [df.columns] + [list(r) for r in df.iter_rows()]
    df = pl.read_excel(path, has_header=False, read_options={"header_row": None})
    return [list(r) for r in df.iter_rows()]


def test_bad_rows_are_present_where_listed() -> None:
    firms = set(pl.read_parquet(TRUTH / "firms_truth.parquet")["uscc"])
    clusters = set(pl.read_parquet(TRUTH / "clusters_truth.parquet")["cluster_id"])
    bad = pl.read_csv(TRUTH / "bad_rows.csv")
    for (name,), group in bad.group_by("file_name"):
        rows = _rows(INBOX / name)
        hdr_i = next(i for i, r in enumerate(rows) if len([v for v in r if v not in (None, "")]) >= 3)
        hdr = [str(h) for h in rows[hdr_i]]

        def col(row: list, prefix: tuple[str, ...], hdr: list[str] = hdr) -> object:
            j = next(j for j, h in enumerate(hdr) if h.startswith(prefix))
            return row[j]

        for r in group.iter_rows(named=True):
            row = rows[r["row_number"] - 1]
            uscc = col(row, ("uscc", "buyer_uscc", "统一社会信用代码", "信用代码", "采购方", "纳税人"))
            rule = r["rule"]
            if rule == "invalid_uscc":
                assert not is_valid_uscc(uscc), r
            elif rule == "unknown_firm" and not is_valid_uscc(uscc):  # an old organisation code nobody has
                org = str(uscc).replace("-", "")
                assert len(org) == 9 and all(f[8:17] != org for f in firms), r
            elif rule == "uscc_number_formatted":
                assert "E+" in str(uscc), r
            elif rule in ("unknown_firm", "unknown_cluster"):
                assert is_valid_uscc(uscc) and uscc not in firms, r
                if rule == "unknown_cluster":
                    assert col(row, ("cluster_id", "集群编码")) not in clusters
            elif rule == "negative_value":
                assert float(col(row, ("output", "工业总产值"))) < 0, r
            elif rule == "duplicate_row":
                assert row in rows[hdr_i + 1 : r["row_number"] - 1], r
            elif rule == "conflicting_rows":
                per = col(row, ("period", "统计期", "税款所属期"))
                same = [x for x in rows[hdr_i + 1 :] if x is not row and x[:2] == row[:2] and x != row]
                assert same and per is not None, r
            elif rule == "unparsable_period":
                per = str(col(row, ("period", "统计期", "税款所属期", "采购期")))
                assert (
                    per
                    and not per[:4].isdigit()
                    or "13月" in per
                    or per.endswith("-00")
                    or "季度" in per
                    or "下旬" in per
                    or per.endswith("年")
                ), r
            elif rule == "unit_suspect":
                out = float(col(row, ("output", "工业总产值")))
                med = pl.read_parquet(TRUTH / "monthly_truth.parquet").filter(pl.col("uscc") == uscc)["output"].median()
                assert out > 1000 * med, r


def test_bad_file_is_not_a_table() -> None:
    bad = pl.read_csv(TRUTH / "bad_files.csv")
    for name in bad["file_name"]:
        assert not (INBOX / name).read_bytes().startswith(b"PK")  # not a zip, so not an XLSX


def test_truth_excludes_replaced_bad_rows() -> None:
    m = pl.read_parquet(TRUTH / "monthly_truth.parquet")
    assert m["output"].min() >= 0
    assert m.select(pl.struct("uscc", "period").is_duplicated().any()).item() is False
