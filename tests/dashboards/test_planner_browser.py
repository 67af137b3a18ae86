"""/planner in real headless Chromium: drawn, interactive, quiet, and served only from here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.dashboards.browser import MAP_BACKGROUND, SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    yield page
    page.close()


def map_pixels(page) -> np.ndarray:
    canvas = page.locator(".bk-Canvas").first
    return np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))


def drawn_share(page) -> float:
    pixels = map_pixels(page)
    return float(np.any(np.abs(pixels.astype(int) - MAP_BACKGROUND) > 6, axis=2).mean())


def test_the_map_is_drawn_with_no_console_error_and_nothing_from_elsewhere(page):
    assert wait_for(lambda: drawn_share(page) > 0.3), (
        "most of the map should be covered by the municipality"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner.png")  # for a person to look at
    pixels = map_pixels(page)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50, "layers in many colours"
    assert page.console_errors == []
    assert page.foreign_requests == []


def test_toggling_a_layer_redraws_the_map(page):
    assert wait_for(lambda: drawn_share(page) > 0.3)
    before = map_pixels(page)
    page.locator(".layer-roads input[type=checkbox]").click()

    def changed() -> float:
        share = float(np.any(before != map_pixels(page), axis=2).mean())
        return share if share > 0.01 else 0.0

    assert wait_for(changed), "hiding the roads did not change the map"
    assert not page.locator(".layer-roads input[type=checkbox]").is_checked()
    assert page.console_errors == []


def test_a_click_on_the_map_shows_the_features_details(page):
    box = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("table.details").wait_for(timeout=10_000)
    assert "Vir · Source" in page.locator(".details-pane .about").inner_text()
    assert page.console_errors == []


# the map's horizontal range as the page shows it
VIEW_JS = """() => {
  const plot = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name("scale_bar")).parent.model;
  return [plot.x_range.start, plot.x_range.end];
}"""


@pytest.mark.outage
def test_a_pan_during_an_outage_says_so_and_the_map_pans_again_after(page):
    from tests.dashboards.test_wall_browser import project_cluster

    assert wait_for(lambda: drawn_share(page) > 0.3)
    box = page.locator(".bk-Canvas").first.bounding_box()
    middle = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def pan(dx: float) -> None:
        page.mouse.move(*middle)
        page.mouse.down()
        page.mouse.move(middle[0] + dx, middle[1], steps=8)
        page.mouse.up()

    notice = page.locator(".outage-banner")
    project_cluster("stop")
    try:
        pan(250)
        notice.wait_for(timeout=60_000)
        assert "cannot be reached" in notice.inner_text() and "ni dosegljiva" in notice.inner_text()
        assert drawn_share(page) > 0.2  # what it showed, it keeps
        page.screenshot(path=SCREENSHOTS / "planner-outage.png")
    finally:
        project_cluster("start")
    notice.wait_for(state="hidden", timeout=60_000)  # the pan was done by itself
    heard = len(page.received)
    for _ in range(3):  # a page busy drawing may take a drag for a click: it moves nothing
        before = page.evaluate(VIEW_JS)
        pan(-250)
        if wait_for(lambda: page.evaluate(VIEW_JS) != before, 10):  # noqa: B023 (used at once)
            break
    assert wait_for(lambda: len(page.received) > heard, 30), "the server did not answer the pan"
    assert page.console_errors == [] and page.foreign_requests == []
