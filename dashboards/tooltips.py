"""One tooltip under the pointer: the topmost layer's.

Bokeh gives each hover tool its own tooltip, so a house in a district in a Natura 2000 site
showed three, stacked into a column that covered the map. Each layer's hover keeps its tooltip
only where no layer drawn above it has something under the pointer; an image (the sensor
readings) has something only where its pixel holds a number.

Bokeh finds what is under the pointer from each layer's data on the screen, which it works out
when it paints; a layer hidden since the page was built has none until its first paint, and a
pointer over it before then threw in Bokeh's own hit test. ``hit_testable_when_shown`` works it
out as the layer is shown, and as new data comes (a pan's features). Should a pointer still
meet data that has no place on the screen yet, a layer above is taken to have nothing under it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bokeh.models import CustomJS, GlyphRenderer, HoverTool
from bokeh.plotting import figure

# cb_data is what a hover filter is given; cb_context.index finds a model's view
TOPMOST_JS = """
const {data_source, vars} = cb_data;
const holds_number = (source, field, pixel) =>
  Number.isFinite(source.data[field][pixel.index][pixel.flat_index]);
if (vars.image_index != null &&
    !holds_number(data_source, vars.glyph_view.model.image.field, vars.image_index)) {
  return false;
}
const at = {type: "point", sx: vars.sx, sy: vars.sy};
const hit_of = (renderer) => {
  try {
    return cb_context.index.find_one(renderer)?.hit_test(at);
  } catch (error) {
    // data sent since the last paint has no place on the screen yet: nothing to hit there
    if (error instanceof TypeError) return null;
    throw error;
  }
};
return !above.some((renderer) => {
  const hit = hit_of(renderer);
  if (hit == null || hit.is_empty()) return false;
  const pixel = hit.image_indices[0];
  return pixel == null || holds_number(renderer.data_source, renderer.glyph.image.field, pixel);
});
"""


# runs as a microtask after the change (after Bokeh's own handlers of it), so before the next
# pointer event
MAP_DATA_JS = "if (renderer.visible) cb_context.index.find_one(renderer)?.map_data();"


def hit_testable_when_shown(renderers: Iterable[GlyphRenderer]) -> None:
    """Have each of ``renderers`` put its data on the screen the moment it is shown, and the
    moment new data comes (Bokeh's own hover threw on a pointer that moved between the two)."""
    for renderer in renderers:
        mapped = CustomJS(args={"renderer": renderer}, code=MAP_DATA_JS)
        renderer.js_on_change("visible", mapped)
        renderer.data_source.js_on_change("data", mapped)


def one_tooltip_at_a_time(plot: figure) -> None:
    """Give each hover tool of ``plot`` (made in the layers' drawing order) the renderers of
    the hover tools after it, whose hits hide its tooltip."""
    hovers = [tool for tool in plot.tools if isinstance(tool, HoverTool)]
    for place, hover in enumerate(hovers):
        above = [r for later in hovers[place + 1 :] for r in later.renderers]
        # a filter is keyed by a field it is given the value of; "$x" is one every glyph has
        hover.filters = {"$x": CustomJS(args={"above": above}, code=TOPMOST_JS)}
