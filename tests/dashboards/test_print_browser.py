"""Print the view in real Chromium: choose the paper and the scale, download, read the PDF."""

from __future__ import annotations

import re

import pypdf
import pytest
from pyproj import Transformer

from layers.registry import layer
from tests.dashboards.browser import open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser

TO_GRID = Transformer.from_crs(4326, 3794, always_xy=True)
LON, LAT = 15.8716, 46.4217
WIDTH = """() => { const bar = Bokeh.documents[0].get_model_by_name("scale_bar");
  return bar.range.end - bar.range.start }"""  # the view's width on the ground
PRINT = "Natisni pogled (PDF) · Print the view"
# Note in the page whenever its button labelled so shows that it is busy (Panel's loading).
WATCH_BUSY = """(label) => {
  const button = [...Bokeh.documents[0].all_models].find((m) => m.label == label);
  window.busySeen = false;
  button.connect(button.properties.css_classes.change, () => {
    if (button.css_classes.includes("pn-loading")) window.busySeen = true;
  });
}"""


def test_the_view_prints_at_the_chosen_scale_centred_where_the_screen_is(browser, server):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.goto(f"{server.url}/planner?lon={LON}&lat={LAT}&w=2000&layers=municipality,buildings")
    page.wait_for_selector("canvas", timeout=60_000)
    # the page shows the link's view once drawn (2 km across): print that one
    assert wait_for(lambda: page.evaluate(WIDTH) < 5_000), "the link's view is not shown"
    page.get_by_label("Papir · Paper").select_option("A3")
    page.get_by_label("Merilo · Scale").select_option("1 : 2 000")
    # another person's page, open meanwhile, is not told of this one's work
    other = open_page(browser, server.url + "/public")
    other.get_by_role("button", name=PRINT).wait_for(timeout=60_000)
    for watched in (page, other):
        watched.evaluate(WATCH_BUSY, PRINT)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name=PRINT).click()
    assert page.evaluate("() => window.busySeen"), "the button did not show it was busy"
    assert not other.evaluate("() => window.busySeen")
    other.close()
    assert download.value.suggested_filename == "zemljevid_1-2000.pdf"
    pdf = pypdf.PdfReader(download.value.path())
    box = pdf.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((1191, 842), abs=1)  # A3
    words = " ".join(p.extract_text() for p in pdf.pages)
    assert "1 : 2 000" in words and "Stavbe" in words
    hidden = layer("water_mains").title_sl
    assert hidden not in words  # a layer not shown is neither drawn nor listed
    corners = re.search(r"NW E ([\d ]+) N [\d ]+; JV · SE E ([\d ]+) N", words)
    x0, x1 = (float(v.replace(" ", "")) for v in corners.groups())
    east, _north = TO_GRID.transform(LON, LAT)
    assert (x0 + x1) / 2 == pytest.approx(east, abs=20)  # where the screen's centre is
    assert x1 - x0 == pytest.approx((42.0 - 2.4) / 100 * 2_000, abs=1)  # 792 m of A3 at 1 : 2 000
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
