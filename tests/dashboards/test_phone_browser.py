"""/public on a phone in real Chromium, emulated as a phone (its viewport meta obeyed): one
column as wide as the screen, the map first, legible text, a layer list that folds away."""

from __future__ import annotations

import pytest

from tests.dashboards.browser import SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

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
    # the cursor's position in two lines: one is wider than the screen
    page.mouse.move(canvas["x"] + 100, canvas["y"] + 150)
    page.mouse.move(canvas["x"] + 120, canvas["y"] + 160)
    readout = "() => Bokeh.documents[0].get_model_by_name('cursor_position').text"
    assert wait_for(lambda: "\nWGS 84: " in page.evaluate(readout)), page.evaluate(readout)
    page.screenshot(path=SCREENSHOTS / "public-phone.png", full_page=True)
    page.get_by_text("Sloji · Layers").click()
    assert wait_for(lambda: not heritage.is_visible()), "the layer list does not fold"
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


# Whether the exposure report's column shows all it holds, not a box that scrolls inside.
REPORT_WHOLE = """() => {
  const find = (root) => {
    for (const e of root.querySelectorAll('*')) {
      if (e.classList.contains('details-column')) return e;
      const inner = e.shadowRoot && find(e.shadowRoot);
      if (inner) return inner;
    }
  };
  const report = find(document);
  return report.scrollHeight <= report.clientHeight + 1;
}"""


def test_the_civil_protection_page_fits_a_phone_with_its_report_whole(browser, server):
    page = open_page(browser, server.url + "/public", **PHONE)
    sign_in(page, server.url, *ACCOUNTS["civil_protection"], "/civil-protection")
    page.wait_for_selector("canvas", timeout=60_000)
    summary = page.get_by_text("Povzetek po razredih nevarnosti").first
    summary.wait_for(timeout=60_000)
    wide = "() => document.documentElement.scrollWidth"
    assert wait_for(lambda: page.evaluate(wide) <= PHONE["width"]), "the page scrolls sideways"
    canvas = page.locator("canvas").first.bounding_box()
    assert canvas["width"] >= PHONE["width"] - 40
    assert canvas["y"] < summary.bounding_box()["y"]  # the map first, the report below it
    assert page.evaluate(REPORT_WHOLE), "the report is cut to a box that scrolls"
    page.screenshot(path=SCREENSHOTS / "civil-protection-phone.png", full_page=True)
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
