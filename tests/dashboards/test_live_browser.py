"""A reading published over MQTT reaches a planner's open map in Chromium, without a reload."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse

import pytest

from etl.load import LoadOptions, load_file
from layers.db import ROOT
from tests.dashboards.browser import open_page
from tests.dashboards.conftest import ACCOUNTS, start_server, stop_server
from tests.etl.feeding import Sensors, ingesting, new_root

pytestmark = pytest.mark.browser
BOUNDARY = ROOT / "data" / "real" / "gurs-obcine" / "11028039-ptuj.geojson"
LAYER_READY = "() => !!Bokeh.documents[0]?.get_model_by_name('sensor_readings')"
# the highest value the page holds of the readings layer: its squares, or its image's grid
HIGHEST = """() => {
  const doc = Bokeh.documents[0];
  const squares = doc.get_model_by_name('sensor_readings').data_source.data.value || [];
  const image = doc.get_model_by_name('sensor_readings-image');
  const grid = image ? (image.data_source.data.value || []).flatMap(g => Array.from(g)) : [];
  return Math.max(-1, ...Array.from(squares), ...grid.filter(Number.isFinite));
}"""


def test_a_published_reading_reaches_an_open_map_within_seconds(sensors, browser, tmp_path):
    load_file(sensors.writer, BOUNDARY, "municipality", LoadOptions(progress=False))
    server = start_server(sensors, tmp_path / "app")
    root = new_root()
    publisher = Sensors(root)
    try:
        with ingesting(sensors, root):
            page = open_page(browser, server.url)
            shown = "/planner?layers=sensor_readings&sensor_readings.how=max&sensor_readings.window=hour"
            name, password = ACCOUNTS["planner"]
            page.goto(f"{server.url}/login?next={urllib.parse.quote(shown, safe='')}")
            page.fill("#username", name)
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_function(LAYER_READY, timeout=60_000)
            assert page.evaluate(HIGHEST) < 900
            started = time.monotonic()
            publisher.publish(
                "ZRAK-T1", {"observed_at": dt.datetime.now(dt.UTC).isoformat(), "value": 900.25}
            )
            # a page looks every 2 s; 30 s is the old look's period, which must not be needed
            page.wait_for_function(f"() => ({HIGHEST})() === 900.25", timeout=25_000)
            waited = time.monotonic() - started
            assert page.console_errors == [] and page.foreign_requests == []
            page.close()
    finally:
        publisher.close()
        stop_server(server)
    print(f"publish to the open map: {waited:.1f} s")
