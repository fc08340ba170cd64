"""The report's PDF writer (flows/render/report.py write_pdf): a chart PNG goes into the PDF with its own compressed
rows, not decoded and compressed again, and the PDF shows the same pixels; a PNG whose rows a PDF cannot hold as
they are goes WeasyPrint's own way; WeasyPrint lays the PDF out with the garbage collector paused; an SVG's letters
are laid out once per letter and font."""

from __future__ import annotations

import base64
import gc
import io
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flows.render.report import collector_paused, png_rows, write_pdf


def _chart(size: tuple[int, int] = (420, 260)) -> Image.Image:
    """An RGB image with gradients and sharp edges (every PNG row filter has something to do)."""
    y, x = np.mgrid[0:size[1], 0:size[0]]
    pixels = np.stack([(x * 7) % 256, (y * 3) % 256, ((x // 9 + y // 13) % 2) * 255], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def _png(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="png", **options)
    return out.getvalue()


def _pdf_with(png: bytes, path: Path) -> bytes:
    html = f'<html><body><p>chart</p><img src="data:image/png;base64,{base64.b64encode(png).decode()}"></body></html>'
    return write_pdf(html, path).read_bytes()


def _pdf_images(pdf: Path, out: Path) -> list[np.ndarray]:
    subprocess.run(["pdfimages", "-png", str(pdf), str(out / "image")], check=True)
    return [np.asarray(Image.open(p)) for p in sorted(out.glob("image-*.png"))]


def test_a_chart_png_goes_into_the_pdf_with_its_own_compressed_rows_and_pixels(tmp_path):
    image = _chart()
    png = _png(image, compress_level=1)    # as the report's charts: WeasyPrint alone compresses at level 6
    pdf = _pdf_with(png, tmp_path / "chart.pdf")
    assert png_rows(png) in pdf
    (shown,) = _pdf_images(tmp_path / "chart.pdf", tmp_path)
    assert np.array_equal(shown, np.asarray(image))


def test_png_rows_are_every_idat_chunk_of_an_8_bit_grey_or_rgb_png_in_order():
    for image in (_chart((700, 900)), _chart().convert("L")):
        png = _png(image, compress_level=0)    # uncompressed: many IDAT chunks
        rows = png_rows(png)
        assert rows is not None and png.count(b"IDAT") > 1
        # the rows alone, as the one IDAT chunk of a PNG with the same header, are the same image
        header = png[8:33]
        alone = b"".join((png[:8], header, struct.pack(">I", len(rows)), b"IDAT", rows,
                          struct.pack(">I", zlib.crc32(b"IDAT" + rows)), png[-12:]))
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(alone))), np.asarray(image))


def test_a_png_a_pdf_cannot_hold_as_it_is_keeps_its_pixels_through_weasyprint(tmp_path):
    image = _chart()
    for kind, png in (("palette", _png(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))),
                      ("16-bit grey", _png(image.convert("I;16"))), ("alpha", _png(image.convert("RGBA")))):
        assert png_rows(png) is None, kind
    rgba = image.convert("RGBA")
    pdf = tmp_path / "alpha.pdf"
    _pdf_with(_png(rgba), pdf)
    shown = _pdf_images(pdf, tmp_path)     # the colour, then its alpha as a mask
    assert np.array_equal(shown[0], np.asarray(image))


def test_weasyprint_lays_out_the_pdf_with_the_collector_off_and_it_is_on_again_after(tmp_path, monkeypatch):
    import weasyprint

    seen: list[bool] = []
    real = weasyprint.HTML.write_pdf

    def recorded(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", recorded)
    assert gc.isenabled()
    _pdf_with(_png(_chart()), tmp_path / "chart.pdf")
    assert seen == [False] and gc.isenabled()


def test_the_collector_is_as_it_was_after_a_failed_pdf_or_when_it_was_off():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the layout failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_tables_whose_columns_the_template_knows_are_laid_out_at_stated_widths_not_measured(tmp_path, monkeypatch):
    """Measuring every cell's narrowest width (a CJK name at every character) is the PDF's automatic table layout:
    only the tables with a column per indicator keep it."""
    from weasyprint.layout import table as layout_table

    from flows.render.report import TEMPLATES_DIR

    measured: list[str] = []
    automatic = layout_table.auto_table_layout

    def auto_table_layout(context, box, containing_block):  # type: ignore[no-untyped-def]
        element = box.get_wrapped_table().element
        measured.append(element.get("id") or element.get("class"))
        return automatic(context, box, containing_block)

    monkeypatch.setattr(layout_table, "auto_table_layout", auto_table_layout)
    css = (TEMPLATES_DIR / "monthly_report.css").read_text(encoding="utf-8")
    tables = "".join(f'<table {attr}><thead><tr><th>集群</th><th>数</th></tr></thead>'
                     f'<tbody><tr><td class="text">某某集群</td><td class="num">1</td></tr></tbody></table>'
                     for attr in ('id="kpis"', 'id="cluster-table"', 'id="province-table"', 'id="ratings-table"',
                                  'id="d-firms"', 'id="files-table"', 'id="quarantine-table"', 'id="missing-table"',
                                  'id="index-table"', 'class="chain-segments"', 'class="leads"', 'id="methodology"'))
    write_pdf(f"<html><head><style>{css}</style></head><body>{tables}</body></html>", tmp_path / "t.pdf")
    assert sorted(set(measured)) == ["cluster-table", "province-table"]


def test_an_svgs_letters_are_laid_out_once_per_letter_and_font_and_the_pdf_is_the_same_bytes(tmp_path, monkeypatch):
    """A chain diagram's labels are SVG text, which WeasyPrint sets letter by letter: a letter that recurs in the same
    font is laid out once, and the PDF is byte for byte the one WeasyPrint writes laying out every letter."""
    import weasyprint
    from weasyprint.svg.text import Style
    from weasyprint.text import line_break

    texts = [("end", 8, "normal", "成员·整机制造 100.00亿 (100%)"),
             ("start", 8, "normal", "整机制造 100.00亿 本地配套率 50%"),
             ("middle", 10, "normal", "图　苏州产业链采购流向"), ("start", 8, "bold", "整机制造 100.00亿")]
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="300pt" height="120pt" viewBox="0 0 300 120" '
           "font-family=\"'Noto Sans CJK SC', 'DejaVu Sans'\">"
           + "".join(f'<text x="150" y="{20 + 25 * n}" text-anchor="{anchor}" dominant-baseline="central" '
                     f'font-size="{size}" font-weight="{weight}">{text}</text>'
                     for n, (anchor, size, weight, text) in enumerate(texts)) + "</svg>")
    html = (f'<html><body><p>图</p><img src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'
            "</body></html>")
    laid_out: list[str] = []
    own = line_break.split_first_line

    def counted(text, style, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(style, Style):
            laid_out.append(text)
        return own(text, style, *args, **kwargs)

    monkeypatch.setattr(line_break, "split_first_line", counted)
    ours = write_pdf(html, tmp_path / "ours.pdf").read_bytes()
    distinct = {(ch, size, weight) for _, size, weight, text in texts for ch in text}
    assert len(laid_out) == len(distinct) + len(texts) < sum(len(text) + 1 for *_, text in texts)
    assert ours == weasyprint.HTML(string=html).write_pdf()
