"""Printing the view: the scale chosen, the ground a page covers, and the PDF on the Ptuj sample."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from reportlab.lib.units import cm

from dashboards.view_pdf import PrintedView, ground_box, map_size, scale_holding, view_pdf
from layers.registry import layer


def test_the_scale_holding_a_view_is_the_largest_standard_one_it_fits():
    width, _ = map_size("A4", "Ležeče · Landscape")  # 27.3 cm of map
    assert width / cm == pytest.approx(29.7 - 2.4, abs=0.01)
    assert scale_holding(1_300, width) == 5_000  # 1,300 m on 27.3 cm needs 1 : 4 762
    assert scale_holding(1_400, width) == 10_000
    assert scale_holding(10**7, width) == 100_000  # beyond every scale: the smallest


def test_a_page_covers_its_paper_size_times_the_scale():
    size = map_size("A3", "Pokončno · Portrait")
    view = PrintedView((566_000, 142_000), 2_000, [], lambda _spec: None)
    x0, y0, x1, y1 = ground_box(view, size)
    assert x1 - x0 == pytest.approx(size[0] / cm / 100 * 2_000)
    assert y1 - y0 == pytest.approx(size[1] / cm / 100 * 2_000)
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((566_000, 142_000))


def test_the_pdf_holds_the_map_at_its_scale_the_legend_and_the_sources(sample_database):
    specs = [layer(i) for i in ("districts", "municipality", "roads", "buildings")]
    view = PrintedView((566_500, 142_800), 5_000, specs, lambda _spec: None)
    pdf = pypdf.PdfReader(io.BytesIO(view_pdf(sample_database.reader, view, "planner", "Ptuj")))
    page = pdf.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
        (842, 595), abs=1
    )
    words = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())  # cells wrap
    assert "1 : 5 000" in words and "Europe/Ljubljana" in words
    corners = re.search(r"NW E ([\d ]+) N ([\d ]+); JV · SE E ([\d ]+) N ([\d ]+)", words)
    x0, y1, x1, y0 = (float(v.replace(" ", "")) for v in corners.groups())
    assert x1 - x0 == pytest.approx(27.3 / 100 * 5_000, abs=1)  # 1,365 m on the ground
    assert (x0 + x1) / 2 == pytest.approx(566_500, abs=1)
    height = map_size("A4", "Ležeče · Landscape")[1] / cm / 100 * 5_000
    assert y1 - y0 == pytest.approx(height, abs=1) and (y0 + y1) / 2 == pytest.approx(
        142_800, abs=1
    )
    for spec in specs:  # each layer in the legend and the sources
        assert words.count(spec.title) >= 2, spec.title
    assert "stavbe" in words.lower() and "CC BY 4.0" in words
    image = next(iter(page.images))
    assert image.image.width == pytest.approx(27.3 / 2.54 * 200, abs=2)  # 200 dpi, exact size
