"""Measuring, the scale bar and the cursor's coordinates in real Chromium, against D96/TM."""

from __future__ import annotations

import math
import re

import pytest
from pyproj import Transformer

from tests.dashboards.browser import SCREEN_POINT, SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True)
TO_GRID = Transformer.from_crs(3857, 3794, always_xy=True)
TO_WGS84 = Transformer.from_crs(3857, 4326, always_xy=True)
DOUBLE_CLICK_MS = 300  # Bokeh's: two taps closer in time are one double tap
CENTRE = (566_500, 142_800)  # D96/TM, in the middle of Ptuj
VIEW = "/planner?lon=15.8716&lat=46.4217&w=2000"  # about CENTRE, 2 km across

SCALE = """() => {
  const bar = Bokeh.documents[0].get_model_by_name("scale_bar");
  const plot = Bokeh.index.find_one(bar).parent.model;
  return {ground: bar.range.end - bar.range.start, map: plot.x_range.end - plot.x_range.start,
          y: (plot.y_range.start + plot.y_range.end) / 2};
}"""
# the corners of the area being drawn, the one following the pointer included
CORNERS = """() => {
  const xs = Bokeh.documents[0].get_model_by_name("measure_area").data_source.data.xs;
  return xs.length ? xs[0].length : 0 }"""
CURSOR = "() => Bokeh.documents[0].get_model_by_name('cursor_position').text"


def screen(page, east: float, north: float) -> list[float]:
    """Where the D96/TM point (east, north) is on the page's map."""
    return page.evaluate(SCREEN_POINT, ["measure_line", *TO_MERCATOR.transform(east, north)])


def slovenian(text: str) -> float:
    """``1 000,0`` → 1000.0"""
    return float(text.replace(" ", "").replace(",", "."))


def figure(page, pattern: str) -> float | None:
    """The number ``pattern`` finds in what the measure pane shows, or None."""
    shown = page.locator(".measure .measured")
    found = shown.count() and re.search(pattern, shown.text_content())
    return slovenian(found.group(1)) if found else None


def test_a_known_line_and_square_measure_true_on_the_ground(browser, server):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.goto(server.url + VIEW)
    page.wait_for_selector("canvas", timeout=60_000)
    assert wait_for(lambda: page.evaluate(SCALE)["map"] < 5_000), "the link's view is not shown"

    # the scale bar measures the view's width on the ground at its centre: cos φ of the map's
    scale = page.evaluate(SCALE)
    cos_phi = 1 / math.cosh(scale["y"] / 6_378_137)
    assert scale["ground"] == pytest.approx(scale["map"] * cos_phi, rel=1e-3)

    # the cursor's coordinates, as proj4js in the page gives them, against PROJ's
    east, north = CENTRE[0] + 123, CENTRE[1] - 77
    page.mouse.move(*screen(page, east, north))
    assert wait_for(lambda: page.evaluate(CURSOR).startswith("D96/TM: E")), "no coordinates"
    shown = page.evaluate(CURSOR)
    e, n = (slovenian(v) for v in re.findall(r"[EN] ([\d ]+) m", shown))
    lat, lon = (slovenian(v) for v in re.findall(r"([\d,]+)° [NE]", shown))
    pixel_m = scale["ground"] / page.evaluate(
        "() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('scale_bar'))"
        ".parent.frame.bbox.width"
    )
    assert abs(e - east) <= pixel_m + 0.5 and abs(n - north) <= pixel_m + 0.5
    x, y = TO_MERCATOR.transform(e, n)
    expected_lon, expected_lat = TO_WGS84.transform(x, y)
    assert abs(lat - expected_lat) < 2e-5 and abs(lon - expected_lon) < 2e-5

    # a line 1,000 m long on the ground: double-click, double-click
    page.locator('[title^="Izmeri razdaljo"]').click()
    start, end = (CENTRE[0] - 500, CENTRE[1]), (CENTRE[0] + 500, CENTRE[1])
    page.mouse.dblclick(*screen(page, *start))
    page.mouse.dblclick(*screen(page, *end))
    length = wait_for(lambda: figure(page, r"Length: ([\d ,]+) m"))
    assert length == pytest.approx(1000, rel=0.01)
    # the clicks drew; they did not pick the features under them
    page.get_by_text("Kliknite objekt na karti za podrobnosti.").wait_for()

    # a square 500 m on a side: 25 ha
    page.locator('[title^="Izmeri površino"]').click()
    corners = [(CENTRE[0] + dx, CENTRE[1] + dy) for dx, dy in ((0, 0), (500, 0), (500, 500))]
    page.mouse.dblclick(*screen(page, *corners[0]))
    for drawn, corner in enumerate(corners[1:], start=2):
        # each corner once the page has the one before, and apart as a person clicks them:
        # to Bokeh, two clicks within 0.3 s are a double click, however far apart
        assert wait_for(lambda n=drawn: page.evaluate(CORNERS) == n)
        page.wait_for_timeout(DOUBLE_CLICK_MS + 100)
        page.mouse.click(*screen(page, *corner))
    assert wait_for(lambda: page.evaluate(CORNERS) == 4)
    page.wait_for_timeout(DOUBLE_CLICK_MS + 100)
    page.mouse.dblclick(*screen(page, CENTRE[0], CENTRE[1] + 500))
    # the triangle of the first three corners is measured too: wait for the square
    area = wait_for(lambda: (a := figure(page, r"Area: ([\d ,]+) m²")) and a > 200_000 and a)
    assert area == pytest.approx(250_000, rel=0.01)
    assert figure(page, r"· ([\d ,]+) ha") == pytest.approx(25, rel=0.01)
    assert figure(page, r"Perimeter: ([\d ,]+) m") == pytest.approx(2000, rel=0.01)
    # one measurement at a time: the line has gone
    line = "() => Bokeh.documents[0].get_model_by_name('measure_line').data_source.data.xs.length"
    assert wait_for(lambda: page.evaluate(line) == 0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner-measure.png")

    page.get_by_role("button", name="Počisti meritev · Clear the measurement").click()
    page.locator(".measure").get_by_text("Izberite ravnilo").wait_for(timeout=15_000)
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
