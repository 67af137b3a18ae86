"""A pointer resting on the map, told to the server, for the tooltips of views drawn as images.

A big view of a line or polygon layer is one image (``dashboards.footprints``), which holds no
features for Bokeh's hover to find. When the pointer rests (``REST_MS`` without moving), the page
sends where, and each such layer reads the feature there and puts it alone in its vector glyph,
whose own hover tool shows its tooltip. Bokeh's hover inspects again at the pointer whenever the
map repaints, so the tooltip comes without the pointer moving.
"""

from __future__ import annotations

from collections.abc import Callable

from bokeh.events import MouseLeave, MouseMove
from bokeh.models import ColumnDataSource, CustomJS
from bokeh.plotting import figure

# long enough that a pointer crossing the map asks nothing, short enough to feel like a hover
REST_MS = 150
# the timer is kept on the source's own object in the page: one per map
REST_JS = """
clearTimeout(rests.timer);
if (cb_obj.event_name == "mouseleave") return;
const {x, y} = cb_obj;
rests.timer = setTimeout(() => { rests.data = {x: [x], y: [y], at: [Date.now()]}; }, wait);
"""


def on_rest(plot: figure, rested: Callable[[float, float], None]) -> None:
    """Call ``rested(x, y)`` (EPSG:3857) wherever the pointer comes to rest on ``plot``."""
    rests = ColumnDataSource({"x": [], "y": [], "at": []})
    told = CustomJS(args={"rests": rests, "wait": REST_MS}, code=REST_JS)
    plot.js_on_event(MouseMove, told)
    plot.js_on_event(MouseLeave, told)
    rests.on_change("data", lambda _attr, _old, rest: rested(rest["x"][0], rest["y"][0]))
