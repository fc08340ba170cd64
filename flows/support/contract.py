"""The input contract of docs/architecture.md#input-contract as data: source kinds, canonical columns, Chinese aliases
and units.

Everything that reads or writes inbox files (standardise, validate, the sample generator, the docs) takes
the contract from here, so a column is defined once. The other spellings a column and its values arrive
under (header aliases, basis words, vocabulary values) are data in flows/registry/vocabulary.toml, which a bureau
extends without changing code; VOCABULARY is that file, read once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from flows.support.settings import REGISTRY_DIR

VOCABULARY_FILE = REGISTRY_DIR / "vocabulary.toml"
VOCABULARY: dict = tomllib.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))

# Canonical units and the factor that converts one unit of each alias into the canonical unit.
UNITS: dict[str, dict[str, float]] = {
    "money": {"元": 1e-4, "千元": 0.1, "万元": 1.0, "亿元": 1e4},
    "land": {"亩": 1.0, "平方米": 1 / 666.6667, "m2": 1 / 666.6667, "㎡": 1 / 666.6667, "公顷": 15.0},
    "energy": {"吨标准煤": 1.0, "tce": 1.0, "千克标准煤": 1e-3, "kgce": 1e-3},
}
CANONICAL_UNIT = {"money": "万元", "land": "亩", "energy": "吨标准煤"}

YES = ("是", "y", "yes", "1", "true", "t")
NO = ("否", "n", "no", "0", "false", "f")
SRDI_LEVELS = {"无": "none", "否": "none", "省级": "provincial", "国家级": "national", "小巨人": "national",
               "none": "none", "provincial": "provincial", "national": "national"}
TRANSFORMATION = ("未启动", "实施中", "已完成")
LOCAL_SCOPES = {"county": 6, "city": 4, "province": 2}  # adcode prefix length shared with the cluster
SCOPE_ALIASES = {"county": "county", "city": "city", "province": "province", "县": "county", "区": "county",
                 "县级": "county", "区县": "county", "县区": "county", "市": "city", "市级": "city",
                 "地级": "city", "地市": "city", "省": "province", "省级": "province"}
BASIS = {"当月": "month", "累计": "ytd", "month": "month", "ytd": "ytd"}


@dataclass(frozen=True)
class Column:
    """One canonical column: its type, whether a row needs it, and the Chinese names it arrives under.

    dtype is one of: str, int, float, money, land, energy, period, date, bool, srdi, basis,
    transformation, scope. Money, land and energy columns convert to the canonical unit.
    """

    name: str
    zh: str
    dtype: str = "str"
    required: bool = True
    en: str = ""
    stored: bool = True  # False: read to qualify other columns (所属期起), never loaded

    @property
    def unit_family(self) -> str | None:
        return self.dtype if self.dtype in UNITS else None


@dataclass(frozen=True)
class Kind:
    """A source kind: its columns, the key that identifies a row for revisions, and the flows it carries."""

    name: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()  # flow measures differenced from 累计 reports (docs/architecture.md#input-contract)
    registry: bool = False
    extra: dict = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def aliases(self, column: str) -> tuple[str, ...]:
        """The other header spellings of a column, from the vocabulary file."""
        return tuple(VOCABULARY.get("headers", {}).get(self.name, {}).get(column, ()))

    @property
    def stored_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.stored)

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.dtype in ("money", "energy", "int", "float")
                     and c.name not in self.key)


C = Column
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("clusters", "集群名录", registry=True, key=("cluster_id",), columns=(
            C("cluster_id", "集群编码", en="cluster code"),
            C("cluster_name", "集群名称", en="cluster name"),
            C("province", "省份", en="province"),
            C("city", "城市", en="city", required=False),
            C("adcode", "行政区划代码", en="administrative division code (GB/T 2260)"),
            C("domain", "领域", en="domain", required=False),
            C("leading_industry", "主导产业", en="leading industry", required=False),
            C("level", "级别", en="level", required=False),
            C("lon", "经度", "float", en="longitude"),
            C("lat", "纬度", "float", en="latitude"),
            C("local_scope", "本地范围", "scope", required=False, en="local scope (county/city/province)"),
            C("cluster_name_en", "集群英文名称", en="English cluster name (the English report's; optional)",
              required=False),
        )),
        Kind("firms", "企业名录", registry=True, key=("uscc",), columns=(
            C("uscc", "统一社会信用代码", en="unified social credit code"),
            C("firm_name", "企业名称", en="firm name"),
            C("cluster_id", "集群编码", en="cluster code"),
            C("adcode", "行政区划代码", en="administrative division code"),
            C("chain_segment", "产业链环节", required=False, en="value-chain segment"),
            C("above_scale", "是否规上", "bool", required=False, en="above designated size"),
            C("chain_leader", "是否链主", "bool", required=False, en="chain leader"),
            C("srdi_level", "专精特新", "srdi", required=False, en="SRDI level"),
            C("land_area", "用地面积", "land", required=False, en="land area"),
            C("established", "成立日期", "date", required=False, en="date established"),
            C("old_tax_id", "税务登记号", required=False,
              en="old 15-digit tax registration number (matches fact files that still use it)"),
        )),
        Kind("platforms", "创新平台", registry=True, key=("platform_name", "cluster_id"), columns=(
            C("platform_name", "平台名称", en="platform name"),
            C("cluster_id", "集群编码", en="cluster code"),
            C("level", "级别", required=False, en="level (national/provincial/municipal)"),
            C("type", "类型", required=False, en="type"),
        )),
        Kind("monthly", "企业月度统计", key=("uscc", "period"),
             flows=("output", "value_added", "revenue", "profit", "energy", "rd_expense"), columns=(
            C("uscc", "统一社会信用代码", en="unified social credit code"),
            C("period", "统计期", "period", en="period"),
            C("basis", "口径", "basis", required=False, en="basis (当月 month / 累计 year to date)"),
            C("output", "工业总产值", "money", en="gross industrial output"),
            C("value_added", "工业增加值", "money", required=False, en="industrial value added"),
            C("revenue", "营业收入", "money", required=False, en="operating revenue"),
            C("profit", "利润总额", "money", required=False, en="total profit"),
            C("employees", "从业人员平均人数", "int", required=False, en="average employees"),
            C("energy", "综合能源消费量", "energy", required=False, en="energy consumption"),
            C("rd_expense", "研发费用", "money", required=False, en="R&D expense"),
        )),
        Kind("tax", "企业税收", key=("uscc", "period"), flows=("tax_paid",), columns=(
            C("uscc", "统一社会信用代码", en="unified social credit code"),
            C("period", "统计期", "period", en="period (所属期止: the period's last month)"),
            C("period_start", "所属期起", "date", required=False, stored=False,
              en="start of the tax period: with 所属期止 it tells a month from a year-to-date range"),
            C("basis", "口径", "basis", required=False, en="basis"),
            C("tax_paid", "实缴税金", "money", en="tax paid"),
        )),
        Kind("procurement", "企业采购", key=("buyer_uscc", "period"), columns=(
            C("buyer_uscc", "采购方信用代码", en="buyer credit code"),
            C("supplier_uscc", "供应商信用代码", required=False, en="supplier credit code"),
            C("supplier_name", "供应商名称", en="supplier name"),
            C("supplier_adcode", "供应商所在地代码", required=False, en="supplier division code"),
            C("period", "统计期", "period", en="period"),
            C("amount", "采购金额", "money", en="purchase amount"),
        )),
        Kind("digital", "数字化转型调查", key=("uscc", "survey_date"), columns=(
            C("uscc", "统一社会信用代码", en="unified social credit code"),
            C("survey_date", "调查日期", "date", en="survey date"),
            C("cloud", "是否上云", "bool", en="on the cloud"),
            C("transformation", "智改数转", "transformation", en="intelligent retrofit status"),
            C("maturity", "智能制造能力成熟度", "int", required=False,
              en="smart manufacturing maturity (1-5)"),
            C("platform_connected", "接入工业互联网平台", "bool", required=False,
              en="on an industrial internet platform"),
        )),
    )
}

# Registries first so facts can be checked against this night's registry rows; then facts.
KIND_ORDER = ("clusters", "firms", "platforms", "monthly", "tax", "procurement", "digital")


def kind_of(file_name: str) -> str | None:
    """The kind is the file name's prefix up to the first '_' or '.' (docs/architecture.md#input-contract)."""
    stem = file_name.lower()
    for kind in KINDS:
        if stem.startswith(kind) and stem[len(kind): len(kind) + 1] in ("_", ".", "-"):
            return kind
    return None
