"""The view in the address bar, in real Chromium: a link opens the map as it was sent."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.dashboards.browser import SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS
from tests.dashboards.test_planner_browser import drawn_share

pytestmark = pytest.mark.browser

CENTRE = """() => {
  const plot = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name("municipality")).parent.model;
  return [(plot.x_range.start + plot.x_range.end) / 2, (plot.y_range.start + plot.y_range.end) / 2,
          plot.x_range.end - plot.x_range.start];
}"""


DRAWN = """() => Bokeh.documents.length > 0
  && Bokeh.documents[0].get_model_by_name("municipality").data_source.get_length() > 0"""


def address(page) -> str:
    """What the address bar holds now (asked of the page: Playwright's ``page.url`` learns of
    a replaced address only when it next hears from the browser)."""
    return page.evaluate("window.location.href")


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(address(page)).query).items()}


def test_a_copied_link_opens_the_same_view_layers_and_opacity(browser, server):
    page = open_page(browser, server.url + "/public")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    canvas = page.locator(".bk-Canvas").first.bounding_box()
    middle = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
    assert wait_for(lambda: page.evaluate(DRAWN), 60), "the map was not drawn"
    page.mouse.move(*middle)
    page.mouse.down()
    page.mouse.move(middle[0] - 200, middle[1] - 120, steps=8)  # a pan, as a person does
    page.mouse.up()
    assert wait_for(lambda: "lon" in query(page), 30), "the address bar does not follow the view"
    page.locator(".layer-roads input[type=checkbox]").click()
    assert wait_for(lambda: "roads" not in query(page).get("layers", "roads"))
    page.get_by_role("button", name="Kopiraj povezavo · Copy link").click()
    page.get_by_role("button", name="Povezava kopirana · Link copied").wait_for(timeout=10_000)
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == address(page)
    centre = page.evaluate(CENTRE)

    page.goto(server.url + "/planner")  # the page as it opens without a link
    page.wait_for_selector("canvas", timeout=60_000)
    assert page.locator(".layer-roads input[type=checkbox]").is_checked()
    page.goto(link)  # the link, pasted
    page.wait_for_selector("canvas", timeout=60_000)
    assert not page.locator(".layer-roads input[type=checkbox]").is_checked()
    assert page.locator(".layer-buildings input[type=checkbox]").is_checked()

    def same_view() -> bool:
        x, y, width = page.evaluate(CENTRE)
        near = abs(x - centre[0]) < centre[2] / 50 and abs(y - centre[1]) < centre[2] / 50
        return near and abs(width - centre[2]) < centre[2] / 20  # the same page size: same width

    assert wait_for(same_view, 30), "the link did not open the same view"
    assert page.locator(".link-notice").is_hidden(), "a link of our own is used whole"
    assert page.console_errors == []
    page.close()


def test_a_hostile_link_is_ignored_with_a_notice(browser, server):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    hostile = (
        "/planner?lon=abc&lat=46.4&w=1e9&layers=buildings,<img src=x onerror=alert(1)>"
        "&opacity=buildings:7&part=flood_hazard:Q9999&sensor_readings.window=forever&x=%00"
    )
    page.goto(server.url + hostile)
    page.wait_for_selector("canvas", timeout=60_000)
    notice = page.locator(".link-notice")
    notice.get_by_text("Not used from the link", exact=False).wait_for(timeout=15_000)
    text = notice.locator("p").inner_text()
    for name in ("lon", "w", "opacity:buildings", "part:flood_hazard", "sensor_readings.window"):
        assert name in text, name
    assert "<img src=x onerror=alert(1)>" in text  # shown as text, never as markup
    assert page.locator(".layer-buildings input[type=checkbox]").is_checked()
    assert not page.locator(".layer-roads input[type=checkbox]").is_checked()
    # the basemap layers are off, and the map still shows the municipality, its buildings drawn
    assert wait_for(lambda: 5_000 < page.evaluate(CENTRE)[2] < 100_000, 30), "no view"
    assert wait_for(lambda: drawn_share(page) > 0.02, 30), "the buildings are not drawn"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner-hostile-link.png")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
