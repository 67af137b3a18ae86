"""The sensor layer in a real browser: an image from 2 million sample readings, hover, pan."""

from __future__ import annotations

import pytest

from tests.dashboards.browser import open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser

# Where, on the screen, the busiest pixel of the sensor image is, and what the page holds there.
BUSIEST = """() => {
  const doc = Bokeh.documents[0];
  const layer = doc.get_model_by_name('sensor_readings');
  const d = layer.data_source.data;
  if (!d.image || !d.image.length) return null;
  const image = d.image[0], count = d.count[0], [h, w] = image.shape;
  let best = -1;
  for (let i = 0; i < image.length; i++)
    if (!isNaN(image[i]) && (best < 0 || count[i] > count[best])) best = i;
  if (best < 0) return null;
  const x = d.x[0] + (best % w + 0.5) * d.dw[0] / w, y = d.y[0] + (Math.floor(best / w) + 0.5) * d.dh[0] / h;
  const plot = Bokeh.index.find_one(layer).parent;
  const canvas = plot.canvas_view.el.getBoundingClientRect();
  return {sx: canvas.left + plot.frame.x_scale.compute(x), sy: canvas.top + plot.frame.y_scale.compute(y),
          value: image[best], count: count[best], x0: d.x[0]};
}"""


def test_the_sensor_image_answers_hover_and_is_redrawn_on_pan(browser, server, sample_database):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    spot = wait_for(lambda: page.evaluate(BUSIEST), seconds=60)
    assert spot and spot["count"] >= 1 and spot["value"] > 0

    page.mouse.move(spot["sx"], spot["sy"])
    readings = page.get_by_text("Meritev · Readings")
    readings.wait_for(timeout=10_000)
    assert readings.locator("xpath=..").inner_text().split()[-1] == f"{spot['count']:.0f}"
    mean = page.locator(".bk-tooltip-row-label", has_text="Povprečje · Mean")
    assert "µg/m³" in mean.locator("xpath=..").inner_text()

    page.mouse.move(800, 500)
    page.mouse.down()
    page.mouse.move(600, 380, steps=6)
    page.mouse.up()
    assert wait_for(lambda: page.evaluate(BUSIEST)["x0"] != spot["x0"], seconds=30), "no new image"
    page.locator(".layer-sensor_readings select").last.select_option("gray")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
