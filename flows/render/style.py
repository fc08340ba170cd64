"""The matplotlib style of every report chart and map: the CJK font, names never parsed as mathtext, a plain minus.

Why a module of its own: the report's page workers (flows/render/chain.py) need the style and nothing else of the
maps module, whose imports (DuckDB, pyarrow, shapely) were ≈ 0.12 CPU-s of each worker's start.
"""

from __future__ import annotations

from pathlib import Path

CJK_FONT = "Noto Sans CJK SC"


def chart_style(**extra: object) -> dict:
    """matplotlib rc settings for every report chart: the CJK font, names never parsed as mathtext, and a plain
    hyphen for minus (the CJK font has no U+2212)."""
    return {"font.family": [cjk_font(), "DejaVu Sans"], "text.parse_math": False, "axes.unicode_minus": False,
            **extra}


def cjk_font() -> str:
    """Register Noto Sans CJK SC (Debian fonts-noto-cjk) with matplotlib so Chinese renders as glyphs."""
    from matplotlib import font_manager

    if not any(f.name == CJK_FONT for f in font_manager.fontManager.ttflist):
        for candidate in Path("/usr/share/fonts").rglob("NotoSansCJK-Regular.ttc"):
            font_manager.fontManager.addfont(str(candidate))
    if not any(f.name == CJK_FONT for f in font_manager.fontManager.ttflist):
        raise RuntimeError(f"{CJK_FONT} not found: install Debian fonts-noto-cjk (scripts/system-deps.sh)")
    return CJK_FONT
