"""The search box in real Chromium: typed as a person types, an answer zooms the map to it."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import text

from tests.dashboards.browser import SCREENSHOTS, open_page, received_text, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser

# The map's view and what the mark outlines, read from the page's own Bokeh models.
VIEW = """() => {
  const mark = Bokeh.documents[0].get_model_by_name("search_mark_line");
  const plot = Bokeh.index.find_one(mark).parent.model;
  const points = Bokeh.documents[0].get_model_by_name("search_mark_point").data_source.data;
  return {x0: plot.x_range.start, x1: plot.x_range.end, y0: plot.y_range.start,
          y1: plot.y_range.end, lines: mark.data_source.data.xs.length, points: points.x.length};
}"""


def type_into_search(page, typed: str) -> None:
    box = page.get_by_role("textbox", name="Iskanje · Search")
    box.click()
    box.press_sequentially(typed, delay=60)
    # the answers come as one types; wait for those of the whole text before choosing one,
    # or a click lands on a list that is being replaced
    page.get_by_role("status").filter(has_text=f"»{typed.strip()}«").wait_for(timeout=15_000)


def answer(page, name: str):
    return page.get_by_role("button", name=name)


def test_a_planner_finds_an_address_and_the_map_zooms_to_it(browser, server, sample_database):
    with sample_database.reader.connect() as conn:
        address, use, area = conn.execute(
            text(
                "SELECT address, use_class, floor_area_m2 FROM building"
                " WHERE address ~ 'š.* 7$' AND floor_area_m2 <> round(floor_area_m2) LIMIT 1"
            )
        ).one()
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    before = page.evaluate(VIEW)
    type_into_search(page, address.replace("š", "s").lower())  # as typed on a phone
    answer(page, f"{address} — Stavbe").click()
    assert wait_for(lambda: page.evaluate(VIEW)["lines"] == 1), "the building is not outlined"
    details = page.locator(".details-pane")
    details.get_by_text(address).wait_for(timeout=15_000)
    details.get_by_text(use, exact=True).wait_for(timeout=5_000)
    # a real number as Slovenian writes it: a decimal comma
    details.get_by_text(f"{area:.2f}".rstrip("0").replace(".", ","), exact=True).wait_for(
        timeout=5_000
    )
    view = page.evaluate(VIEW)
    width = view["x1"] - view["x0"]
    assert width < (before["x1"] - before["x0"]) / 10, "the map did not zoom in"
    assert width > 400, "at least a street's width of context (400 m) is shown"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner-search.png")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


def test_the_public_finds_a_settlement_and_no_address(browser, server, sample_database):
    with sample_database.reader.connect() as conn:
        address = conn.scalar(
            text("SELECT address FROM building WHERE address ~ '[čšž].* 3$' LIMIT 1")
        )
    page = open_page(browser, server.url + "/public")
    page.wait_for_selector("canvas", timeout=60_000)
    type_into_search(page, "krcevina")
    answer(page, "Krčevina pri Vurbergu — Naselja").wait_for()  # the first answer
    page.get_by_role("textbox", name="Iskanje · Search").press("Enter")
    assert wait_for(lambda: page.evaluate(VIEW)["points"] == 1), "the settlement is not marked"
    page.locator(".details-pane").get_by_text("Krčevina pri Vurbergu").wait_for(timeout=15_000)
    box = page.get_by_role("textbox", name="Iskanje · Search")
    box.fill("")
    # typed as a search finds it for staff (lower case, no diacritics): the box repeats what
    # was typed, so only the address as written can be a leak
    typed = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode().lower()
    type_into_search(page, typed)
    assert answer(page, f"{address} — Stavbe").count() == 0
    assert address not in received_text(page)
    page.screenshot(path=SCREENSHOTS / "public-search.png")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
