"""/public on a phone in real Chromium, emulated as a phone (its viewport meta obeyed): one
column as wide as the screen, the map first, legible text, a layer list that folds away."""

from __future__ import annotations

import pytest

from tests.dashboards.browser import SCREENSHOTS, open_page, wait_for

pytestmark = pytest.mark.browser

PHONE = {
    "width": 390,
    "height": 844,
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}


def test_the_public_map_fits_a_phone_and_its_layer_list_folds(browser, server):
    page = open_page(browser, server.url + "/public", **PHONE)
    page.wait_for_selector("canvas", timeout=60_000)
    assert page.evaluate("() => document.documentElement.lang") == "sl"
    # without a viewport the page was laid out 980 pixels wide and shrunk: text 5 px tall
    assert page.evaluate("() => window.innerWidth") == PHONE["width"]
    heritage = page.get_by_role("checkbox", name="Kulturna dediščina · Cultural heritage")
    heritage.wait_for(timeout=30_000)
    wide = "() => document.documentElement.scrollWidth"
    assert wait_for(lambda: page.evaluate(wide) <= PHONE["width"]), "the page scrolls sideways"
    canvas = page.locator("canvas").first.bounding_box()
    assert canvas["width"] >= PHONE["width"] - 40 and canvas["x"] >= 0
    assert canvas["y"] < heritage.bounding_box()["y"]  # the map first, its layers below
    label = page.get_by_text("Kulturna dediščina · Cultural heritage").first
    size = label.evaluate("(shown) => parseFloat(getComputedStyle(shown).fontSize)")
    assert size >= 12
    page.screenshot(path=SCREENSHOTS / "public-phone.png", full_page=True)
    page.get_by_text("Sloji · Layers").click()
    assert wait_for(lambda: not heritage.is_visible()), "the layer list does not fold"
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
