"""Compare two folders of rendered reports file by file (a speed change to the report must not change what it says).

Usage: python scripts/compare_reports.py BEFORE_DIR AFTER_DIR [--pdf-dpi N] [--pages DIR]

BEFORE_DIR and AFTER_DIR are two --out/--reports folders rendered from the same warehouse (e.g. by
bench/bench_report.py --editions --out DIR, once with PYTHONPATH=<baseline checkout>). Compared:
* HTML: the text with every PNG data URI masked must be equal; the images it inlines are compared as pixels;
* PNG: pixels (RGB), not bytes, so a different PNG encoder or zlib level is not a difference;
* PDF: every page turned into PNG with pdftoppm at --pdf-dpi and compared as pixels; the page count must agree.
  Pixels that differ by at most one level (of 255) are counted apart as rounding (an image with or without an
  alpha mask composites differently in the last bit). With --pages, differing pages are written there side by
  side (before | after) to look at;
* anything else (CSV, JSON, GeoJSON): bytes.
Prints one line per difference and a count; exits 1 on any difference beyond rounding, 0 otherwise. The raw
figures in CSV and edition JSON files may differ in their last digits between any two renders: DuckDB sums in
parallel, in no fixed order (see scripts/compare_marts.py --rel-tol).
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

INLINE_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _pixel_diff(a: np.ndarray, b: np.ndarray) -> int | None:
    """Largest difference of one channel between two images; None when their sizes differ."""
    return None if a.shape != b.shape else int(np.abs(a - b).max(initial=0))


def _html(a: Path, b: Path) -> list[str]:
    text_a, text_b = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    out = []
    if INLINE_PNG.sub("PNG", text_a) != INLINE_PNG.sub("PNG", text_b):
        out.append("text differs")
    images_a, images_b = INLINE_PNG.findall(text_a), INLINE_PNG.findall(text_b)
    if len(images_a) != len(images_b):
        return [*out, f"{len(images_a)} images before, {len(images_b)} after"]
    for k, (x, y) in enumerate(zip(images_a, images_b, strict=True)):
        if _pixel_diff(_pixels(base64.b64decode(x)), _pixels(base64.b64decode(y))) != 0:
            out.append(f"image {k} differs")
    return out


def _pdf_pages(pdf: Path, dpi: int, into: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(into / "page")], check=True)
    return sorted(into.glob("page-*.png"))


def _pdf(a: Path, b: Path, dpi: int, pages_dir: Path | None) -> tuple[list[str], list[str]]:
    """(differences, rounding notes) of two PDFs, page by page."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        pages_a, pages_b = _pdf_pages(a, dpi, Path(tmp) / "a"), _pdf_pages(b, dpi, Path(tmp) / "b")
        if len(pages_a) != len(pages_b):
            return [f"{len(pages_a)} pages before, {len(pages_b)} after"], []
        out, rounding = [], []
        for n, (x, y) in enumerate(zip(pages_a, pages_b, strict=True), 1):
            px, py = _pixels(x.read_bytes()), _pixels(y.read_bytes())
            diff = _pixel_diff(px, py)
            if diff == 0:
                continue
            if diff == 1:
                rounding.append(f"page {n}")
                continue
            out.append(f"page {n} differs" + ("" if diff is None else f" (by up to {diff} levels)"))
            if pages_dir is not None:
                pages_dir.mkdir(parents=True, exist_ok=True)
                side = Image.new("RGB", (px.shape[1] + py.shape[1] + 10, max(px.shape[0], py.shape[0])), "grey")
                side.paste(Image.open(x), (0, 0))
                side.paste(Image.open(y), (px.shape[1] + 10, 0))
                side.save(pages_dir / f"{a.stem}_page{n:03d}.png")
        return out, rounding


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--pdf-dpi", type=int, default=50, help="pdftoppm resolution of the PDF pages (default 50)")
    ap.add_argument("--pages", type=Path, help="write differing PDF pages here, before | after")
    args = ap.parse_args()
    differing = 0
    paths = sorted({p.relative_to(args.before) for p in args.before.rglob("*") if p.is_file()}
                   | {p.relative_to(args.after) for p in args.after.rglob("*") if p.is_file()})
    for rel in paths:
        a, b = args.before / rel, args.after / rel
        if not a.exists() or not b.exists():
            problems, rounding = [f"only {'after' if b.exists() else 'before'}"], []
        elif a.suffix == ".html":
            problems, rounding = _html(a, b), []
        elif a.suffix == ".png":
            diff = _pixel_diff(_pixels(a.read_bytes()), _pixels(b.read_bytes()))
            problems, rounding = ([] if diff == 0 else ["pixels differ" if diff else "size differs"]), []
        elif a.suffix == ".pdf":
            problems, rounding = _pdf(a, b, args.pdf_dpi, args.pages)
        else:
            problems, rounding = ([] if a.read_bytes() == b.read_bytes() else ["bytes differ"]), []
        for problem in problems:
            print(f"DIFF     {rel}: {problem}")
        if rounding:
            print(f"rounding {rel}: {', '.join(rounding)} differ by one level at most")
        differing += bool(problems)
    print(f"{len(paths)} files, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
