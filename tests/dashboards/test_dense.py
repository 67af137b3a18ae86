"""The dense layer's controls: which re-aggregate, and which are only a change in the page."""

from __future__ import annotations

import numpy as np
from bokeh.document import Document
from bokeh.plotting import figure

from dashboards.dense import DenseLayer, palette
from layers.queries import Viewport
from layers.readings import ReadingCache
from layers.registry import layer


def dense_on(cache: ReadingCache) -> DenseLayer:
    """A dense layer alone, redrawn at once where a map would redraw it (off the loop)."""
    dense = DenseLayer(
        figure(), layer("sensor_readings"), cache, lambda: dense.show(dense._viewport)
    )
    return dense


def test_colour_and_opacity_do_not_aggregate_again_but_kind_and_window_do(sample_database):
    cache = ReadingCache(sample_database.reader, layer("sensor_readings"))
    cache.top_up()
    dense = dense_on(cache)
    xs, ys = cache.snapshot.kinds["parking"].sensor_x, cache.snapshot.kinds["parking"].sensor_y
    dense.show(Viewport(xs.min() - 500, ys.min() - 500, xs.max() + 500, ys.max() + 500, 1200))
    assert dense.aggregations == 1 and dense.colour_bar.visible

    dense.colormap.value = "gray"
    dense.set_opacity(0.4)
    assert dense.aggregations == 1
    assert dense.mapper.palette == palette("gray")
    assert dense.renderer.glyph.fill_alpha == 0.4 and dense.image.glyph.global_alpha == 0.4

    dense.kind.value = "parking"
    dense.window.value = "Zadnji teden · Last week"
    assert dense.aggregations == 3
    assert dense.colour_bar.title == "%"
    assert 0 <= float(dense.mapper.low) <= float(dense.mapper.high) <= 100


def around_the_car_parks(sample_database) -> tuple[DenseLayer, ReadingCache, Viewport]:
    """A dense layer on the sample's readings, and a view of every car park's sensors."""
    cache = ReadingCache(sample_database.reader, layer("sensor_readings"))
    cache.top_up()
    dense = dense_on(cache)
    parking = cache.snapshot.kinds["parking"]
    xs, ys = parking.sensor_x, parking.sensor_y
    return (
        dense,
        cache,
        Viewport(xs.min() - 500, ys.min() - 500, xs.max() + 500, ys.max() + 500, 1200),
    )


def test_a_view_is_sent_as_its_drawn_pixels_or_as_an_image_whichever_is_smaller(sample_database):
    dense, cache, view = around_the_car_parks(sample_database)
    xs, ys = cache.snapshot.kinds["parking"].sensor_x, cache.snapshot.kinds["parking"].sensor_y
    dense.kind.value = "parking"
    dense.show(view)
    found = cache.aggregate(dense.query(view))
    value, count = found.grids()
    squares = dense.squares.data
    # a square per drawn pixel, with its aggregate and count; no grid
    assert 0 < len(squares["x"]) == np.count_nonzero(count) < count.size / 100
    assert dense.grids.data["value"] == []
    assert sorted(squares["count"]) == sorted(count[count > 0])
    assert list(squares["value"]) == sorted(squares["value"])  # the largest drawn on top
    # each square sits on its pixel: its aggregate is the grid's there
    xmin, ymin, xmax, ymax = found.box
    height, width = found.shape
    col = ((squares["x"] - xmin) / (xmax - xmin) * width).astype(int)
    row = ((squares["y"] - ymin) / (ymax - ymin) * height).astype(int)
    np.testing.assert_array_equal(value[row, col], squares["value"])

    dense.how.value = "count"
    one_pixel = Viewport(xs[0] - 1, ys[0] - 1, xs[0] + 1, ys[0] + 1, 1)  # all of it drawn
    dense.show(one_pixel)
    assert len(dense.squares.data["x"]) == 0 and dense.grids.data["value"][0].shape == (1, 1)


def test_a_view_without_readings_says_so(sample_database):
    dense, _cache, view = around_the_car_parks(sample_database)
    dense.show(view)
    assert dense.status.object == ""
    far = Viewport(view.xmax + 50_000, view.ymax + 50_000, view.xmax + 51_000, view.ymax + 51_000)
    dense.show(far)  # nothing read out there
    assert "ni meritev" in dense.status.object and "No readings" in dense.status.object
    dense.hide()
    assert dense.status.object == ""


def test_a_view_drawn_again_sends_no_empty_image(sample_database):
    """An empty image set again on every pan went to every page."""
    dense, _cache, view = around_the_car_parks(sample_database)
    dense.kind.value = "parking"
    page = Document()  # in a document Bokeh sends a source's data however equal to the last
    page.add_root(dense.grids)
    page.add_root(dense.squares)
    sent = []
    dense.grids.on_change("data", lambda _attr, _old, _new: sent.append("image"))
    dense.squares.on_change("data", lambda _attr, _old, _new: sent.append("squares"))
    dense.show(view)
    dense.show(view)
    assert sent == ["squares", "squares"]  # drawn as squares: the image, empty, never set
    dense.hide()
    dense.hide()
    assert sent == ["squares", "squares", "squares"]  # emptied once
