"""The dense layer's controls: which re-aggregate, and which are only a change in the page."""

from __future__ import annotations

from bokeh.plotting import figure

from dashboards.dense import DenseLayer, palette
from layers.queries import Viewport
from layers.readings import ReadingCache
from layers.registry import layer


def test_colour_and_opacity_do_not_aggregate_again_but_kind_and_window_do(sample_database):
    cache = ReadingCache(sample_database.reader, layer("sensor_readings"))
    cache.top_up()
    dense = DenseLayer(figure(), layer("sensor_readings"), cache)
    xs, ys = cache.snapshot.kinds["parking"].sensor_x, cache.snapshot.kinds["parking"].sensor_y
    dense.show(Viewport(xs.min() - 500, ys.min() - 500, xs.max() + 500, ys.max() + 500, 1200))
    assert dense.aggregations == 1 and dense.colour_bar.visible

    dense.colormap.value = "gray"
    dense.set_opacity(0.4)
    assert dense.aggregations == 1
    assert dense.mapper.palette == palette("gray") and dense.renderer.glyph.global_alpha == 0.4

    dense.kind.value = "parking"
    dense.window.value = "Zadnji teden · Last week"
    assert dense.aggregations == 3
    assert dense.colour_bar.title == "%"
    image = dense.source.data["image"][0]
    assert image.shape[1] == 1200
    assert 0 <= float(dense.mapper.low) <= float(dense.mapper.high) <= 100
