"""The sample's fixed world: real clusters of DESIGN §8 and how each provincial bureau delivers files.

Kept apart from the generator so analysts can read (and tests can import) the calibration targets and
the delivery styles without wading through random-number code.
"""

from __future__ import annotations

from flows.sample_io import Style

# cluster_id, name, province key, city, adcode (GB/T 2260), domain, leading industry, level, lon, lat,
# local_scope, firms, output target (万元, TTM at 2025-12), chain leaders, leader share, local share, firm districts
CLUSTERS: list[dict] = [dict(zip(
    ("cluster_id", "cluster_name", "prov", "city", "adcode", "domain", "leading_industry", "level", "lon", "lat",
     "local_scope", "n_firms", "target", "n_leaders", "lead_share", "p_local", "districts"), row)) for row in [
    ("SZ_EI", "深圳市电子信息产业集群", "guangdong", "深圳市", "440300", "电子信息", "新一代信息通信", "国家级",
     114.06, 22.54, "province", 300, 210_000_000, 3, 0.30, 0.62, ("440303", "440304", "440305", "440306", "440307", "440309", "440310", "440311")),
    ("WH_OCD", "武汉市光芯屏端网产业集群", "hubei", "武汉市", "420100", "电子信息", "光电子信息", "国家级",
     114.41, 30.50, "city", 220, 56_000_000, 2, 0.25, 0.45, ("420111", "420115", "420106", "420102", "420114")),
    ("NB_PC", "宁波市绿色石化产业集群", "zhejiang", "宁波市", "330211", "石化化工", "绿色石化", "国家级",
     121.72, 29.95, "province", 180, 35_392_000, 2, 0.35, 0.55, ("330211", "330206", "330212", "330282", "330281")),
    ("CS_CM", "长沙市工程机械产业集群", "hunan", "长沙市", "430100", "装备制造", "工程机械", "国家级",
     113.08, 28.24, "city", 160, 16_390_000, 3, 0.45, 0.58, ("430104", "430111", "430121", "430112", "430181")),
    ("WX_IC", "无锡高新区集成电路产业集群", "jiangsu", "无锡市", "320214", "电子信息", "集成电路", "国家级",
     120.36, 31.49, "city", 150, 13_520_000, 1, 0.20, 0.35, ("320214", "320213", "320211", "320205", "320206", "320281")),
    ("SZ_BIO", "苏州工业园区生物医药产业集群", "jiangsu", "苏州市", "320571", "生物医药", "生物医药", "国家级",
     120.72, 31.32, "city", 260, 13_500_000, 1, 0.10, 0.30, ("320571", "320505", "320506", "320507", "320583")),
    ("ZZ_RT", "株洲市轨道交通装备产业集群", "hunan", "株洲市", "430204", "装备制造", "轨道交通装备", "国家级",
     113.12, 27.87, "city", 120, 12_500_000, 1, 0.40, 0.66, ("430204", "430211", "430202", "430203", "430212")),
    ("TZ_BIO", "台州市医药健康产业集群", "zhejiang", "台州市", "331000", "生物医药", "化学原料药", "省级",
     121.44, 28.67, "city", 160, 10_949_000, 1, 0.15, 0.40, ("331002", "331003", "331004", "331082", "331081")),
    ("HF_AI", "合肥市智能语音产业集群", "anhui", "合肥市", "340104", "人工智能", "智能语音", "国家级",
     117.23, 31.82, "city", 90, 6_500_000, 1, 0.35, 0.42, ("340104", "340111", "340102", "340103", "340121")),
    ("XY_AS", "襄阳市航空航天产业集群", "hubei", "襄阳市", "420600", "航空航天", "航空航天装备", "省级",
     112.12, 32.01, "city", 105, 3_054_400, 1, 0.30, 0.38, ("420602", "420606", "420607", "420684")),
    ("XS_AUTO", "徐水区汽车及零部件产业集群", "hebei", "保定市", "130609", "汽车", "汽车及零部件", "省级",
     115.65, 39.02, "county", 118, 8_000_000, 1, 0.55, 0.70, ("130609",) * 6 + ("130606", "130607")),
    ("WS_SQ", "文山市三七产业集群", "yunnan", "文山壮族苗族自治州", "532601", "生物医药", "三七中医药", "省级",
     104.24, 23.37, "county", 59, 1_000_000, 1, 0.25, 0.60, ("532601",) * 5 + ("532622",)),
    ("SR_OPT", "上饶市光学产业集群", "jiangxi", "上饶市", "361100", "光学", "光学元件", "省级",
     117.94, 28.45, "city", 80, 1_500_000, 1, 0.20, 0.50, ("361102", "361103", "361104", "361181")),
    ("DT_CTY", "当涂县装备制造产业集群", "anhui", "马鞍山市", "340521", "装备制造", "高端装备", "省级",
     118.50, 31.56, "county", 400, 4_000_000, 0, 0.0, 0.45, ("340521",) * 6 + ("340503", "340504")),
    ("ND_LIB", "宁德市锂电新能源产业集群", "fujian", "宁德市", "350902", "新能源", "锂电池", "国家级",
     119.52, 26.66, "city", 120, 30_000_000, 1, 0.60, 0.52, ("350902", "350981", "350982", "350921")),
    ("JH_BIKE", "静海区自行车产业集群", "tianjin", "天津市", "120118", "自行车", "自行车及电动车", "省级",
     116.97, 38.95, "county", 100, 2_000_000, 0, 0.0, 0.50, ("120118",) * 5 + ("120111", "120114")),
]]

# Suppliers outside every cluster's local area (real district codes across China).
NATIONAL_ADCODES = ("110105", "110108", "310115", "310112", "440106", "440604", "500112", "510107", "610113",
                    "370202", "210203", "330106", "320106", "420102", "350203", "410105", "120116", "130102",
                    "230102", "520102")

PROVINCES = {"guangdong": "广东省", "hubei": "湖北省", "zhejiang": "浙江省", "hunan": "湖南省", "jiangsu": "江苏省",
             "anhui": "安徽省", "hebei": "河北省", "yunnan": "云南省", "jiangxi": "江西省", "fujian": "福建省",
             "tianjin": "天津市"}

# How each provincial bureau delivers monthly statistics (DESIGN §3: every variant must be read).
MONTHLY_STYLE: dict[str, Style] = {
    "guangdong": Style(fmt="parquet", lang="en"),
    "hubei": Style(fmt="xlsx", bracket="full", money="千元", basis="ytd", period="zh", janfeb=True, title_rows=2),
    "zhejiang": Style(fmt="csv", encoding="gbk", bracket="round", money="元", energy="千克标准煤", basis="ytd",
                      basis_col=False, period="zh", janfeb=True),
    "hunan": Style(fmt="csv", encoding="utf-8-sig", bracket="square", period="compact", basis_col=False),
    "jiangsu": Style(fmt="csv", encoding="utf-8", bracket="round", period="slash"),
    "anhui": Style(fmt="parquet", bracket="full", basis="ytd", period="dash", alias=(("uscc", "信用代码"),)),
    "hebei": Style(fmt="xlsx", bracket="round", period="zh", basis_col=False, blank_before_notes=True),
    "yunnan": Style(fmt="csv", encoding="gbk", bracket="full", money="千元", period="slash", basis_col=False,
                    omit=("value_added", "rd_expense")),
    "jiangxi": Style(fmt="csv", encoding="utf-8", bracket="round", money="元", period="compact",
                     omit=("value_added",), alias=(("employees", "从业人员"),)),
    "fujian": Style(fmt="csv", encoding="utf-8-sig", lang="en", basis="ytd", basis_col=False, period="dash",
                    janfeb=True),
    "tianjin": Style(fmt="xlsx", bracket="full", period="dash", basis_col=False, title_rows=2),
}

TAX_STYLE: dict[str, Style] = {
    "guangdong": Style(fmt="csv", encoding="utf-8-sig", money="元", period="compact", basis_col=False),
    "hubei": Style(fmt="xlsx", bracket="full", period="zh", basis_col=False),
    "zhejiang": Style(fmt="csv", encoding="gbk", bracket="round", basis="ytd", basis_col=False, period="zh",
                      alias=(("uscc", "纳税人识别号"), ("period", "税款所属期"))),
    "hunan": Style(fmt="parquet", lang="en", basis_col=False),
    "jiangsu": Style(fmt="csv", encoding="gbk", bracket="full", money="千元", period="slash", basis_col=False),
    "anhui": Style(fmt="csv", encoding="utf-8-sig", bracket="square", period="dash"),
    "hebei": Style(fmt="csv", encoding="utf-8", bracket="round", period="zh", basis_col=False),
    "yunnan": Style(fmt="parquet", bracket="full", money="元", period="compact", basis_col=False),
    "jiangxi": Style(fmt="csv", encoding="gbk", bracket="full", period="slash", basis_col=False),
    "fujian": Style(fmt="csv", encoding="utf-8-sig", lang="en", basis_col=False),
    "tianjin": Style(fmt="xlsx", bracket="round", money="元", period="dash", basis_col=False),
}

SEASON = (0.86, 0.72, 1.02, 0.99, 1.01, 1.05, 0.97, 0.98, 1.03, 1.00, 1.06, 1.21)

# Planted events for the drift/alert stage (DESIGN §6).
EVENT_LOCAL_DROP = ("CS_CM", 30)        # cluster, month index (2025-07) from which local sourcing falls
EVENT_UNIT_X10 = ("JH_BIKE", 28, 0.2)   # cluster, month index (2025-05), share of firms reporting ×10
EVENT_GAP = ("NB_PC", 31, 2, 0.15)      # cluster, first missing month (2025-08), months missed, share
EVENT_SHIFT = ("WX_IC", 26)             # cluster, month index (2025-03) of an output distribution shift
