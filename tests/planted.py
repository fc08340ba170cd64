"""Small planted warehouses for the disclosure and injection tests: firms and monthly records written into the
core tables, marts computed by the real indicator stage (flows.stages.s07_indicators.update_indicators).

Clusters (24 months of data, 2024-01 … 2025-12; the first year's TTM cells are partial windows):
- 安徽省: AH_TWO has 2 firms (every value "few"); AH_DOM has 6 firms of which one makes ≈95% of the output
  (dominance); AH_OK has 5 ordinary firms — the only two hidden clusters of the province are both sensitive.
- 云南省: YN_ONE is the province's only cluster, with 2 firms (the province total is the cluster).
- 江苏省: JS_A and JS_B, ordinary; JS_B has 5 firms of which 3 stop reporting in 2025-07 (2 report: its
  output_month of 2025-07 is "few" while its TTM of that month has 5 firms) — the differencing scenario.
- 湖南省: HN_A, HN_B, HN_C, ordinary.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
from conftest import schema_warehouse

from flows.stages import s07_indicators as indicators

CLUSTERS = [
    # cluster_id, name, province, city, adcode, lon, lat, firms
    ("AH_TWO", "合肥双企产业集群", "安徽省", "合肥市", "340100", 117.2, 31.8, 2),
    ("AH_DOM", "合肥龙头产业集群", "安徽省", "合肥市", "340100", 117.3, 31.9, 6),
    ("AH_OK", "芜湖产业集群", "安徽省", "芜湖市", "340200", 118.4, 31.3, 5),
    ("YN_ONE", "文山独苗产业集群", "云南省", "文山壮族苗族自治州", "532600", 104.2, 23.4, 2),
    ("JS_A", "苏州产业集群", "江苏省", "苏州市", "320500", 120.6, 31.3, 5),
    ("JS_B", "无锡产业集群", "江苏省", "无锡市", "320200", 120.3, 31.5, 5),
    ("HN_A", "长沙产业集群", "湖南省", "长沙市", "430100", 112.9, 28.2, 4),
    ("HN_B", "株洲产业集群", "湖南省", "株洲市", "430200", 113.1, 27.8, 5),
    ("HN_C", "湘潭产业集群", "湖南省", "湘潭市", "430300", 112.9, 27.8, 6),
]
MONTHS = [dt.date(2024 + k // 12, k % 12 + 1, 1) for k in range(24)]
GAP_MONTH = dt.date(2025, 7, 1)   # JS_B: only 2 of its 5 firms report this month
LATEST = MONTHS[-1]


def uscc(n: int) -> str:
    return f"91{n:016d}"


def build(path: Path, names: dict[str, str] | None = None, seed: int = 7) -> Path:
    """Write the planted warehouse to path (closed when returned); `names` overrides cluster names."""
    rng = random.Random(seed)
    names = names or {}
    clusters, firms, monthly, tax = [], [], [], []
    n = 0
    for cid, name, province, city, adcode, lon, lat, n_firms in CLUSTERS:
        clusters.append([cid, names.get(cid, name), province, city, adcode, "电子信息领域", "电子信息", "national",
                         lon, lat, "city"])
        for k in range(n_firms):
            n += 1
            firms.append([uscc(n), f"{name}企业{k + 1}", cid, adcode, True, k == 0, "none", 20.0 + k])
            big = cid == "AH_DOM" and k == 0
            base = (60_000.0 if big else 600.0) * (1 + rng.random())
            for month in MONTHS:
                if cid == "JS_B" and month == GAP_MONTH and k >= 2:
                    continue
                output = round(base * (0.8 + 0.4 * rng.random()), 2)
                monthly.append([uscc(n), month, 1, output, output * 1.1, output * 0.05, 10 + k, output * 0.02,
                                output * 0.01])
                tax.append([uscc(n), month, 1, output * 0.03])
    with schema_warehouse(path) as con:
        # One statement per table: ~2,000 single-row INSERTs cost seconds of every test module that builds.
        for table, columns, rows in (
                ("core.clusters", "cluster_id, cluster_name, province, city, adcode, domain, leading_industry, "
                                  "level, lon, lat, local_scope", clusters),
                ("core.firms", "uscc, firm_name, cluster_id, adcode, above_scale, chain_leader, srdi_level, "
                               "land_area", firms),
                ("core.firm_monthly", "uscc, period, span_months, output, revenue, profit, employees, energy, "
                                      "rd_expense", monthly),
                ("core.tax", "uscc, period, span_months, tax_paid", tax)):
            frame = pl.DataFrame(rows, schema=[c.strip() for c in columns.split(",")], orient="row",
                                 infer_schema_length=None)
            con.register("planted_rows", frame)
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM planted_rows")
            con.unregister("planted_rows")
        indicators.update_indicators(con, None)
    return path
