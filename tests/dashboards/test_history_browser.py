"""A sensor's history in real Chromium: found, clicked, charted with its limit, compared."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from dashboards.tables import number
from tests.dashboards.browser import SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS
from tests.dashboards.test_search_browser import answer, type_into_search

pytestmark = pytest.mark.browser

# The glyphs the page draws something with, by type (a chart's curve is a Line, its
# rasterised form an Image).
DRAWN = """() => { const found = {};
  for (const m of Bokeh.documents[0]._all_models.values())
    if (m.glyph && m.data_source && m.data_source.get_length() > 0)
      found[m.glyph.type] = (found[m.glyph.type] || 0) + 1;
  return found }"""


def drawn(page, glyph: str) -> int:
    return page.evaluate(DRAWN).get(glyph, 0)


def test_a_sensors_readings_are_charted_with_its_limit_and_compared(
    browser, server, sample_database
):
    with sample_database.reader.connect() as conn:
        code, value, observed = conn.execute(
            text(
                "SELECT s.code, r.value, r.observed_at FROM sensor s"
                " JOIN sensor_reading r ON r.sensor_id = s.id"
                " WHERE s.kind = 'pm10' AND s.status = 'deluje'"
                " ORDER BY s.code, r.observed_at DESC LIMIT 1"
            )
        ).one()
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    type_into_search(page, code.lower())
    answer(page, f"{code} (pm10) — Senzorji").click()

    history = page.locator(".sensor-history")
    local = observed.astimezone(ZoneInfo("Europe/Ljubljana"))
    history.get_by_text(f"{number(value, 1)} µg/m³").wait_for(timeout=30_000)
    history.get_by_text(f"{local:%d. %m. %Y %H:%M}").wait_for()
    history.get_by_text("mejna vrednost, dnevno povprečje").wait_for()
    assert wait_for(lambda: drawn(page, "Line") >= 1), "the week's readings are not drawn"
    week = drawn(page, "Line")

    page.get_by_label("Primerjaj z · Compare with").select_option(index=1)
    assert wait_for(lambda: drawn(page, "Line") > week), "the second sensor is not drawn"
    images = drawn(page, "Image")
    page.get_by_label("Obdobje · Period").select_option("Zadnje leto · Last year")
    # a year of hourly readings comes as datashader's image of each line, not its points
    assert wait_for(lambda: drawn(page, "Image") >= images + 2, 30), "the year is not rasterised"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner-sensor-history.png")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
