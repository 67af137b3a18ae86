"""The sensor layer in a real browser: 2 million sample readings as drawn pixels, hover, pan,
and the same from an archive of them aggregated on Dask."""

from __future__ import annotations

import urllib.parse

import pytest

from dashboards.dense import NUMBER_JS
from layers.readings_dask import dask_client, export_readings
from layers.registry import layer
from layers.settings import read_settings
from tests.dashboards.browser import open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS, start_server, stop_server

pytestmark = pytest.mark.browser

# Where, on the screen, the busiest drawn pixel of the sensor layer is, and what the page holds
# there; the page's arrays themselves are kept to tell a new view from this one.
BUSIEST = """() => {
  const doc = Bokeh.documents[0];
  const layer = doc.get_model_by_name('sensor_readings');
  const d = layer.data_source.data;
  if (!d.count || !d.count.length) return null;
  let best = 0;
  for (let i = 1; i < d.count.length; i++) if (d.count[i] > d.count[best]) best = i;
  const plot = Bokeh.index.find_one(layer).parent;
  const canvas = plot.canvas_view.el.getBoundingClientRect();
  window.shownCounts = d.count;
  return {sx: canvas.left + plot.frame.x_scale.compute(d.x[best]),
          sy: canvas.top + plot.frame.y_scale.compute(d.y[best]),
          value: d.value[best], count: d.count[best], pixels: d.count.length};
}"""
NEW_VIEW = """() => Bokeh.documents[0].get_model_by_name('sensor_readings').data_source.data.count
  !== window.shownCounts"""


def hover_busiest(page) -> dict | None:
    """Point at the busiest drawn pixel; what the page holds there once its tooltip shows."""
    spot = page.evaluate(BUSIEST)
    if spot is None:
        return None
    page.mouse.move(spot["sx"] + 2, spot["sy"])
    page.mouse.move(spot["sx"], spot["sy"])
    shown = page.get_by_text("Meritev · Readings").first.is_visible()
    return spot if shown and page.evaluate(BUSIEST) == spot else None


def test_the_sensor_pixels_answer_hover_and_are_redrawn_on_pan(browser, server, sample_database):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    readings_on = page.locator(".layer-sensor_readings input[type=checkbox]")
    assert not readings_on.is_checked(), "off until a planner asks for readings"
    readings_on.click()
    # the view may still be settling (a page sets its first view once drawn, and a new view
    # brings new pixels): point at the busiest pixel of what is drawn until its tooltip shows
    spot = wait_for(lambda: hover_busiest(page), seconds=60)
    assert spot and spot["count"] >= 1 and spot["value"] > 0
    assert spot["pixels"] < 5_000  # the drawn pixels, not a canvas of a million
    # a nearby sensor's square may lie under the pointer too: then the tooltip has two entries
    readings = page.locator(".bk-tooltip-row-label", has_text="Meritev · Readings")
    shown = [row.locator("xpath=..").inner_text().replace(" ", "") for row in readings.all()]
    assert any(s.endswith(f"{spot['count']:.0f}") for s in shown)  # 1 234: grouped by spaces
    mean = page.locator(".bk-tooltip-row-label", has_text="Povprečje · Mean").first
    assert "µg/m³" in mean.locator("xpath=..").inner_text()

    page.mouse.move(800, 500)
    page.mouse.down()
    page.mouse.move(600, 380, steps=6)
    page.mouse.up()
    assert wait_for(lambda: page.evaluate(NEW_VIEW), seconds=30), "no new view"
    page.locator(".layer-sensor_readings select").last.select_option("gray")
    # what the tooltip writes of a number
    written = f"(value, decimals, unit) => {{ {NUMBER_JS} }}"
    assert page.evaluate(f"({written})(12345.67, 1, ' µg/m³')") == "12 345,7 µg/m³"
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


# the readings the page holds: its squares' counts added up, and how many squares
HELD = """() => {
  const d = Bokeh.documents[0]?.get_model_by_name('sensor_readings')?.data_source.data;
  if (!d || !d.count || !d.count.length) return null;
  return {readings: Array.from(d.count).reduce((a, b) => a + b, 0), squares: d.count.length};
}"""


def held_readings(browser, url: str) -> dict:
    """What a planner's page over the week's readings holds once drawn."""
    shown = "/planner?layers=municipality,sensor_readings&sensor_readings.window=week"
    page = open_page(browser, url + "/public")
    name, password = ACCOUNTS["planner"]
    page.goto(f"{url}/login?next={urllib.parse.quote(shown, safe='')}")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    held = wait_for(lambda: page.evaluate(HELD), seconds=60)
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
    return held


def test_a_map_over_the_archive_on_dask_shows_what_the_cache_shows(
    browser, server, sample_database, tmp_path
):
    export_readings(sample_database.reader, layer("sensor_readings"), tmp_path / "archive")
    with dask_client(read_settings().dask_scheduler) as client:
        archived = start_server(
            sample_database,
            tmp_path / "app",
            GIS_READINGS_ARCHIVE=str(tmp_path / "archive"),
            GIS_DASK_SCHEDULER=client.scheduler.address,
        )
        try:
            from_archive = held_readings(browser, archived.url)
        finally:
            stop_server(archived)
        # the archive was read on the cluster, not in the server
        asked = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        assert any("parquet" in prefix for prefix in asked), asked
    from_cache = held_readings(browser, server.url)
    assert from_cache["readings"] > 1_000
    assert from_archive["squares"] == from_cache["squares"]
    # the week's window starts at each page's own moment: a reading or two may differ
    assert abs(from_archive["readings"] - from_cache["readings"]) <= from_cache["readings"] / 1000
