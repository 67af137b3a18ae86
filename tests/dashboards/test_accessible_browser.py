"""Every control of the public map has a name a screen reader can say, in both languages."""

from __future__ import annotations

import pytest

from layers.registry import layer
from tests.dashboards.browser import open_page, wait_for

pytestmark = pytest.mark.browser

UNNAMED = """() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("input[type=checkbox], [role=slider], .bk-OnOffButton, .bk-ClickButton"))
      if (!el.getAttribute("aria-label")) out.push(el.outerHTML.slice(0, 80));
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return out;
}"""


def test_checkboxes_sliders_and_tools_are_named_and_nothing_links_out(browser, server):
    page = open_page(browser, server.url + "/public")
    page.wait_for_selector("canvas", timeout=60_000)
    settlements = layer("settlements").title
    page.get_by_role("checkbox", name=settlements, exact=True).wait_for(timeout=30_000)
    assert wait_for(lambda: page.evaluate(UNNAMED) == []), page.evaluate(UNNAMED)
    # a slider says what it sets and for which layer
    opacity = page.get_by_role("slider", name=f"Prosojnost · Opacity: {settlements}", exact=True)
    assert opacity.count() == 1
    # the toolbar's tools are buttons by their descriptions, and work from the keyboard
    ruler = page.get_by_role("button", name="Izmeri razdaljo · Measure a distance")
    ruler.focus()
    page.keyboard.press("Enter")
    assert wait_for(lambda: "bk-active" in (ruler.get_attribute("class") or ""))
    assert page.get_by_role("link", name="Bokeh").count() == 0  # no link out of the product
    # unticked by name, the layer goes
    page.get_by_role("checkbox", name=settlements, exact=True).uncheck()
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
