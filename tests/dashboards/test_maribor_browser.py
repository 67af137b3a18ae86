"""Maribor served from its profile, in real Chromium: every sensor kind on the planner's map, the
Drava's flood scenarios for civil protection, and a wall of ten measures or more, none of its
views drawn empty."""

from __future__ import annotations

import tomllib

import pytest

from dashboards.wall import CONFIG as WALL_CONFIG
from layers.sensor_kinds import sensor_kinds
from tests.dashboards.browser import SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS, start_server, stop_server
from tests.dashboards.test_wall_browser import DEVICE_LINK

pytestmark = pytest.mark.browser

# how much each named layer has drawn: its features, or the pixels of its image
DRAWN = """(names) => names.map(name => {
  const doc = Bokeh.documents[0];
  const count = (model) => {
    if (!model) return 0;
    const data = model.data_source.data;
    if (data.image) return data.image.length ? data.image[0].some(v => v > 0) ? 1 : 0 : 0;
    const first = Object.keys(data)[0];
    return first ? data[first].length : 0;
  };
  return count(doc.get_model_by_name(name)) + count(doc.get_model_by_name(name + '-image'));
})"""

# the sensor layer's pixels on show, kept to tell the next kind's from them
KEEP_PIXELS = """() => { window.shownPixels =
  Bokeh.documents[0].get_model_by_name('sensor_readings').data_source.data.count; }"""
# a kind's pixels drawn in their place, under a colour bar in the kind's unit
REDRAWN = """(unit) => {
  const doc = Bokeh.documents[0];
  const pixels = doc.get_model_by_name('sensor_readings').data_source.data.count;
  return pixels !== window.shownPixels && pixels.length > 0
    && doc.get_model_by_name('colour-bar').title === unit;
}"""


@pytest.fixture(scope="module")
def maribor_server(maribor_database, tmp_path_factory):
    running = start_server(
        maribor_database,
        tmp_path_factory.mktemp("maribor-server"),
        GIS_PROFILE="maribor",
        GIS_WALL_ROTATE_SECONDS="6",
    )
    yield running
    stop_server(running)


def look(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"maribor-{name}.png")
    assert page.console_errors == [] and page.foreign_requests == []


def test_the_planner_draws_every_sensor_kind(browser, maribor_server):
    page = open_page(browser, maribor_server.url + "/public")
    sign_in(page, maribor_server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    page.locator(".layer-sensor_readings input[type=checkbox]").click()
    choice = page.locator(".layer-sensor_readings select").first
    offered = choice.locator("option").all_inner_texts()
    assert sorted(offered) == sorted(kind.title for kind in sensor_kinds().values())
    for kind in ("sewer_overflow", "co2_indoor", "light_level"):
        page.evaluate(KEEP_PIXELS)
        choice.select_option(sensor_kinds()[kind].title)
        assert wait_for(lambda k=kind: page.evaluate(REDRAWN, sensor_kinds()[k].unit), 60), kind
    look(page, "planner")
    page.close()


def test_civil_protection_has_the_dravas_floods(browser, maribor_server):
    page = open_page(browser, maribor_server.url + "/public")
    sign_in(page, maribor_server.url, *ACCOUNTS["civil_protection"], "/civil-protection")
    page.wait_for_selector(".report-head", timeout=60_000)
    assert page.locator("select").first.locator("option").all_inner_texts() == [
        "Q10",
        "Q100",
        "Q500",
    ]
    buildings = page.locator("table.report-summary tr", has_text="Stavbe").first
    total = buildings.locator("td").all_inner_texts()[-1]
    assert int(total.replace(" ", "")) > 0
    assert wait_for(lambda: page.evaluate(DRAWN, ["flood_hazard"])[0] > 0, 60)
    look(page, "civil-protection")
    page.close()


def test_the_wall_shows_ten_measures_and_no_empty_view(browser, maribor_server):
    views = tomllib.loads(WALL_CONFIG.read_text(encoding="utf-8"))["views"]
    page = open_page(browser, maribor_server.url + DEVICE_LINK, 1920, 1080)
    page.wait_for_url(maribor_server.url + "/wall", timeout=30_000)
    page.wait_for_selector(".tile", timeout=60_000)
    values = page.locator(".tile .value").all_inner_texts()
    assert len(values) >= 10 and not [v for v in values if v.startswith("—")], values
    title = page.locator(".view-title")
    seen = set()
    for _ in views:  # each view in turn, as the wall rotates them
        shown = wait_for(lambda: title.inner_text() not in seen and title.inner_text(), 30)
        view = next(v for v in views if v["title_sl"] in shown)
        drawn = wait_for(lambda v=view: all(page.evaluate(DRAWN, v["layers"])), 30)
        assert drawn, f"the view {view['title_en']} is drawn empty"
        seen.add(shown)
        if len(seen) == 1:
            look(page, "wall")
    assert len(seen) == len(views)
    page.close()
