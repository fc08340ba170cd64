"""Lay out the monthly report: HTML through the jinja templates, trend charts as PNG, CSV tables, the PDF.

Nothing here decides what the report says: the report stage (flows/stages/s11_report.py) hands over every
value, withheld flag, label and text as data, after disclosure control. This module only turns that data
into files:
* templates are jinja2 with autoescape on, charts are PNG data URIs and CSS is inline, so the HTML opens
  offline and a cluster or firm name is always text;
* CSV cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection);
* the PDF is rendered by WeasyPrint from the same HTML (A4, page numbers, table of contents with page
  numbers through CSS target-counter), with Noto Sans CJK from the system fonts.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import gc
import io
import math
import os
import re
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from flows.render import safe_text
from flows.support.settings import TEMPLATES_DIR

# Up to this many series share one panel in their own colours; more are drawn as small multiples.
FEW_SERIES = 4
SMALL_COLUMNS = 3
CHART_WIDTH_IN = 7.0     # the PDF's text width (A4 less margins): the PNG is placed at 1:1, so points stay points
CHART_FONT_PT = 8.5      # legends, tick and axis labels: at least 8 pt on the A4 page
# zlib level of the chart PNGs: WeasyPrint decodes and re-compresses every image for the PDF anyway, so the
# level only sets the size of the HTML's data URIs (level 1: ≈6 % larger than 6, encoded ≈2× faster).
PNG_COMPRESS_LEVEL = 1


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas (OWASP CSV injection; flows/render/safe_text.py)."""
    return safe_text.spreadsheet_cell(value)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """UTF-8 with BOM (Excel opens Chinese correctly), every text cell formula-neutralised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_safe(h) for h in header])
        for row in rows:
            writer.writerow([csv_safe(v) for v in row])
    return path


def data_uri(path: Path) -> str:
    """A PNG inlined in the HTML, so the page needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def chart_image(fig: Any, tight: bool = True) -> Any:
    """The figure's pixels as an RGB PIL image (drawn once; tight_layout first unless the figure's layout is fixed).

    Every report chart has an opaque white background, so dropping the alpha channel changes no pixel; it spares
    WeasyPrint splitting the channel into a separate mask and compressing both for the PDF."""
    from PIL import Image

    if tight:
        fig.tight_layout()
    fig.canvas.draw()
    return Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba(), "raw", "RGBA", 0,
                            1).convert("RGB")


def write_image(image: Any, path: Path, dpi: float) -> Path:
    """Write a chart image as PNG without a software stamp (same bytes for the same chart), with the figure's dpi,
    aside and renamed into place (write_aside: a map file that exists is kept by later nights)."""
    return write_aside(path, lambda part: image.save(part, format="png", dpi=(dpi, dpi),
                                                     compress_level=PNG_COMPRESS_LEVEL))


def write_aside(path: Path, write: Callable[[Path], None]) -> Path:
    """write(part) to a file beside `path`, then rename it to `path`: the files of a snapshot version that exist,
    and the report's copy of its map, are kept by later nights as they are (flows.stages.s08_snapshot,
    flows.stages.s11_report), so a night killed mid-write (or a write that fails) leaves none truncated under
    its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        write(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return path


def trend_charts(charts: list[tuple[str, dict[str, list[float | None]], bool, Path]],
                 months: list[dt.date]) -> list[Path]:
    """The trend charts, one per (title, series, shared_scale, path); None (withheld, or a window not yet complete)
    is a gap, never a point.

    A handful of clusters share one panel with a legend; more become small multiples, one panel per cluster,
    so no two series need telling apart by hue. With a shared scale (rates) the other clusters are drawn in
    grey for comparison; amounts differ by orders of magnitude between clusters, so each panel has its own
    scale (a shared one would flatten every cluster but the largest). Text is never parsed as mathtext, so
    names stay literal.

    Why figures are reused: making a dozen panels costs as much as drawing them, and every chart of a report has
    the same panels, so one figure per panel grid is made and between charts its lines and legend are removed, its
    data limits recomputed and its layout restarted from the figure's initial margins: each PNG is what a figure
    of its own would give.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flows.render.style import chart_style

    figures: dict[tuple[int, bool], tuple[Any, list[Any], dict[str, float]]] = {}
    year_ticks: dict[tuple[float, float], list[float]] = {}
    written = []
    with plt.rc_context(chart_style(**{"font.size": CHART_FONT_PT})):
        try:
            for title, series, shared_scale, path in charts:
                lines = {name: [math.nan if v is None else v for v in values] for name, values in series.items()}
                few = len(lines) <= FEW_SERIES
                ncols = 1 if few else SMALL_COLUMNS
                nrows = 1 if few else math.ceil(len(lines) / ncols)
                key = (0 if few else nrows, shared_scale)
                if key not in figures:
                    fig, axes = plt.subplots(nrows, ncols, dpi=150, sharex=True, sharey=shared_scale, squeeze=False,
                                             figsize=(CHART_WIDTH_IN, 3.2 if few else 0.6 + 1.45 * nrows))
                    for ax in axes.flat:
                        _axes_style(ax, year_ticks)
                    figures[key] = fig, list(axes.flat), {k: getattr(fig.subplotpars, k) for k in
                                                          ("left", "right", "bottom", "top", "wspace", "hspace")}
                fig, panels, margins = figures[key]
                for ax in panels:
                    for line in list(ax.lines):
                        line.remove()
                    if ax.get_legend() is not None:
                        ax.get_legend().remove()
                    ax.set_autoscalex_on(True)      # an earlier chart of one month fixed its x range
                    ax.relim()
                fig.subplots_adjust(**margins)
                if few:
                    _one_panel(panels[0], lines, months)
                else:
                    _small_multiples(panels, lines, months, shared_scale)
                if len({k for ys in lines.values() for k, v in enumerate(ys) if not math.isnan(v)}) <= 1:
                    # values in one month only (a 12-month indicator in the first year of data): matplotlib would
                    # widen that single date to ±2 years; the chart's window, with matplotlib's usual 5 % margin
                    # (a dot on the edge would be cut in half), says where the month stands. With no value at all
                    # (a year-on-year rate in the first year) it would put the axis at 1970, its empty default
                    margin = (months[-1] - months[0]) * 0.05
                    panels[0].set_xlim(months[0] - margin, months[-1] + margin)
                fig.suptitle(title, fontsize=10)
                written.append(write_image(chart_image(fig), path, fig.dpi))
        finally:
            for fig, _, _ in figures.values():
                plt.close(fig)
    return written


def _one_panel(ax: Any, lines: dict[str, list[float]], months: list[dt.date]) -> None:
    import matplotlib.pyplot as plt

    palette = plt.get_cmap("tab10")
    for n, (name, ys) in enumerate(lines.items()):
        ax.plot(months, ys, label=name, color=palette(n), linewidth=1.5, **_dots(ys))
    if lines:
        ax.legend(fontsize=CHART_FONT_PT, loc="upper left", frameon=False)


def _small_multiples(panels: list[Any], lines: dict[str, list[float]], months: list[dt.date],
                     shared_scale: bool) -> None:
    for ax, (name, ys) in zip(panels, lines.items(), strict=False):
        for other in lines.values() if shared_scale else ():
            ax.plot(months, other, color="#d0d0d0", linewidth=0.7, **_dots(other, 1.5))
        ax.plot(months, ys, color="#b0181d", linewidth=1.6, **_dots(ys))
        # y=1.0 is where matplotlib's automatic placement puts it (no ticks on top); stating it spares that
        # placement measuring every panel's tick labels again on each draw
        ax.set_title(name if len(name) <= 18 else name[:17] + "…", fontsize=CHART_FONT_PT, pad=2, y=1.0)
    for n, ax in enumerate(panels):
        ax.set_visible(n < len(lines))


def _dots(ys: list[float], size: float = 3.0) -> dict[str, Any]:
    """A value with no value beside it (the month a 12-month window first completes, a month between gaps) is a
    line of no length, which draws nothing: such values are marked with a dot, or a chart of them looks empty.
    A series without one is drawn as before (no marker)."""
    alone = [not math.isnan(v) and (k == 0 or math.isnan(ys[k - 1])) and (k == len(ys) - 1 or math.isnan(ys[k + 1]))
             for k, v in enumerate(ys)]
    return {"marker": "o", "markersize": size, "markevery": alone} if any(alone) else {}


def _axes_style(ax: Any, year_ticks: dict[tuple[float, float], list[float]]) -> None:
    import matplotlib
    import matplotlib.dates as mdates

    ax.grid(True, color="#e4e4e4", linewidth=0.5)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=CHART_FONT_PT)
    ax.xaxis.set_major_locator(_year_locator(year_ticks))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.6g}"))
    # the axes have no axis labels: placed at a fixed point, the empty labels are not placed beside the tick labels
    # of the axis and of its siblings on every layout and draw (each measuring them all: ≈20 % of the charts' CPU);
    # an empty label draws nothing and has no extent wherever it is
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_label_coords(0.5, 0.5)


def _year_locator(ticks: dict[tuple[float, float], list[float]]) -> Any:
    """matplotlib's YearLocator, its ticks computed once per view interval and shared by the panels that share
    it: every panel of a report's charts spans the same months, and tight_layout and the drawing each ask
    every panel's locator again (an rrule expanded each time: ≈10 % of the charts' CPU at nation)."""
    import matplotlib.dates as mdates

    class YearTicks(mdates.YearLocator):
        def __call__(self) -> list[float]:
            view = (float(self.axis.get_view_interval()[0]), float(self.axis.get_view_interval()[1]))
            if view not in ticks:
                ticks[view] = list(super().__call__())
            return list(ticks[view])

    return YearTicks()


def report_html(content: dict[str, Any]) -> str:
    """The report page from its content (reports/templates/monthly_report.html.j2, CSS inlined)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    css = (TEMPLATES_DIR / "monthly_report.css").read_text(encoding="utf-8")
    return env.get_template("monthly_report.html.j2").render(**content, css=css)


INLINE_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_rows(png: bytes) -> bytes | None:
    """A PNG's compressed rows (its IDAT chunks joined) when a PDF image can hold them as they are, else None.

    A PDF image with /FlateDecode and a PNG predictor (≥ 10) reads exactly a PNG's filtered rows, each with its
    own filter byte, so an 8-bit grey or RGB PNG that is not interlaced needs no decoding and compressing again
    (what WeasyPrint does to every PNG: 1.1–1.3 of a nation PDF's 8.9–9.2 CPU-s, its 41 charts and map, and
    0.7–0.9 of the sample's 5.4–5.5)."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        return None
    depth, colour, _, _, interlace = png[24:29]
    if depth != 8 or colour not in (0, 2) or interlace != 0:
        return None
    rows, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(png):
        (length,), kind = struct.unpack(">I", png[at:at + 4]), png[at + 4:at + 8]
        if kind == b"IDAT":
            rows.append(png[at + 8:at + 8 + length])
        elif kind == b"IEND":
            return b"".join(rows)
        at += 12 + length
    return None


def write_pdf(html: str, path: Path) -> Path:
    """HTML → A4 PDF with WeasyPrint (no network: every resource is inline; fonts come from fontconfig).

    The page's PNG data URIs are handed to WeasyPrint by reference (cw-image:N, served from memory by the URL
    fetcher): its HTML parser reads attribute values character by character in Python, and the charts' base64 is
    most of the page's bytes. The images and everything else are the same as in the HTML."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    images: dict[str, bytes] = {}

    def by_reference(match: re.Match[str]) -> str:
        key = f"cw-image:{len(images)}"
        images[key] = base64.b64decode(match.group(1), validate=True)
        return key

    class InlineFetcher(URLFetcher):
        """The page's own images, then data: URIs only: never a file or the network."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url in images:
                return URLFetcherResponse(url, images[url], {"Content-Type": "image/png"})
            return super().fetch(url, headers)

    light = INLINE_PNG.sub(by_reference, html)
    with _png_rows_passed_through(), _svg_letters_laid_out_once(), collector_paused():
        HTML(string=light, url_fetcher=InlineFetcher(allowed_protocols=("data",), fail_on_errors=True)).write_pdf(path)
    return path


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (as it was after), for WeasyPrint's rendering.

    Why: a PDF's layout makes millions of objects that live until the PDF is written (boxes, styles, lines), so
    the collections their allocations start walk them over and over to find next to no garbage: 0.1–0.6 of a
    nation PDF's ≈ 8 CPU-s and 0.1–0.2 of the sample's ≈ 4.7 with the night's collector settings (flows/cli.py
    frozen_heap), more without them; the process's peak memory rose by 3 MB. Objects without reference cycles are
    freed at once all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _png_rows_passed_through() -> Iterator[None]:
    """While WeasyPrint writes a PDF, a PNG it would decode and compress again for an image's stream gives its own
    compressed rows instead (png_rows: the same pixels; WeasyPrint 70 has no option for it, only JPEG passes
    through). Any other image — another format, an alpha channel split into a mask, a PNG png_rows cannot pass —
    goes WeasyPrint's own way."""
    from PIL.PngImagePlugin import PngImageFile
    from weasyprint.images import RasterImage

    own = RasterImage.__dict__["_get_png_data"]

    def png_data(pillow_image: Any) -> bytes:
        if isinstance(pillow_image, PngImageFile) and isinstance(pillow_image.fp, io.BytesIO):
            rows = png_rows(pillow_image.fp.getvalue())
            if rows is not None:
                return rows
        return own.__func__(pillow_image)

    RasterImage._get_png_data = staticmethod(png_data)
    try:
        yield
    finally:
        RasterImage._get_png_data = own


@contextmanager
def _svg_letters_laid_out_once() -> Iterator[None]:
    """While WeasyPrint writes a PDF, an SVG text's letter is laid out once per letter and font, not once per place
    it is drawn.

    Why: WeasyPrint 70 sets an SVG <text> letter by letter, each letter a Pango layout of its own made twice (to
    measure it, then again to draw it): the nation report's 30 chain diagrams draw 8 k letters of ≈ 100 distinct ones,
    ≈ 0.4 of the PDF's ≈ 6.5 CPU-s. A letter's layout depends only on the letter and the few font properties an SVG
    text has (WeasyPrint's svg.text.Style: family, style, weight, size, direction; the rest are initial values), so a
    layout made once is drawn wherever the letter recurs in that font; the PDF is the same bytes. Only SVG text goes
    this way (its Style, unbounded width): the page's own text is laid out by WeasyPrint as always."""
    from weasyprint.svg.text import Style
    from weasyprint.text import line_break

    own = line_break.split_first_line
    laid_out: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def font(style: Any) -> tuple[Any, ...]:
        return (tuple(style["font_family"]), style["font_style"], style["font_weight"], style["font_size"],
                style["direction"], id(style.font_config))

    class KeptLayout(line_break.Layout):
        """A letter's layout, drawn wherever the letter recurs in its font (the key it is kept under): set up again
        only after WeasyPrint let it go (deactivate, once it measured it)."""

        def reactivate(self, style: Any) -> None:
            if not hasattr(self, "layout"):
                super().reactivate(style)

    def split_first_line(text: str, style: Any, context: Any, max_width: float, justification_spacing: float,
                         *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        if not isinstance(style, Style) or max_width != math.inf or args or kwargs:
            return own(text, style, context, max_width, justification_spacing, *args, **kwargs)
        key = (text, justification_spacing, font(style))
        if key not in laid_out:
            result = own(text, style, context, max_width, justification_spacing)
            result[0].__class__ = KeptLayout
            laid_out[key] = result
        return laid_out[key]

    line_break.split_first_line = split_first_line
    try:
        yield
    finally:
        line_break.split_first_line = own
