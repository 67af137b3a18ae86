"""Where on the ground the map is: a scale bar true at the view's centre, the cursor's coordinates.

The map is drawn in Web Mercator, whose metres are true only at the equator: at Ptuj (46.4° N)
one of them is 0.69 m on the ground. The scale bar measures the view's width on the ground, set
again from the latitude of the view's centre at every move. The cursor's position is
given in D96/TM (EPSG:3794, the national grid, by the definition pyproj holds) and in WGS 84,
computed in the browser by proj4js, which every page loads from our server
(``dashboards.page_scripts``): a move of the mouse asks nothing
of the server, and the readout is not synchronised back to it.
"""

from __future__ import annotations

import warnings

from bokeh.events import MouseLeave, MouseMove
from bokeh.models import CustomJS, MetricLength, Range1d, ScaleBar, Title
from pyproj import CRS

from dashboards.theme import NARROW_SCREEN
from layers.queries import mercator_stretch
from layers.spec import STORAGE_SRID

# D96/TM for proj4js, from the EPSG definition pyproj holds (a PROJ string: proj4js reads no
# other form; for this grid it loses nothing, whatever pyproj's warning says)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    GRID = CRS.from_epsg(STORAGE_SRID).to_proj4()
# short enough for a phone's width in one line
CURSOR_HINT = "D96/TM · WGS 84: pokažite na karto · point at the map"

# the view's width on the ground: a metre of the map is cos φ of one at the view's centre
# (cos φ = 1 / cosh(y / R) in Web Mercator)
GROUND_JS = """
const k = 1 / Math.cosh((plot.y_range.start + plot.y_range.end) / 2 / 6378137);
ground.setv({start: plot.x_range.start * k, end: plot.x_range.end * k});
"""
CURSOR_JS = """
if (typeof proj4 === "undefined") return;
const at = [cb_obj.x, cb_obj.y];
const [e, n] = proj4("EPSG:3857", grid, at);
const [lon, lat] = proj4("EPSG:3857", "WGS84", at);
const f = (v, d) => v.toLocaleString("sl-SI", {minimumFractionDigits: d, maximumFractionDigits: d})
  .replace(/\\./g, " ");
// in two lines where the page's columns stack: one is wider than a phone
const between = window.matchMedia(narrow).matches ? "\\n" : " · ";
readout.text = `D96/TM: E ${f(e, 0)} m, N ${f(n, 0)} m${between}WGS 84: ${f(lat, 5)}° N, ${f(lon, 5)}° E`;
"""


def add_scale_bar(plot, extent: tuple[float, float, float, float]) -> ScaleBar:
    """A scale bar in the map's lower left, true at the centre of the view (at first, of
    ``extent``, the municipality's box in EPSG:3857)."""
    stretch = mercator_stretch((extent[1] + extent[3]) / 2)
    # the scale bar measures this range, the view's in true metres, set at every move;
    # only the browser needs it
    ground = Range1d(start=extent[0] / stretch, end=extent[2] / stretch, syncable=False)
    bar = ScaleBar(
        range=ground,
        unit="m",
        dimensional=MetricLength(ticks=[1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500]),
        location="bottom_left",
        bar_length=120,
        label_text_font_size="12px",
        background_fill_alpha=0.75,
        border_line_alpha=0,
        name="scale_bar",
    )
    plot.add_layout(bar)
    follow = CustomJS(args={"plot": plot, "ground": ground}, code=GROUND_JS)
    for axis in (plot.x_range, plot.y_range):
        axis.js_on_change("start", follow)
        axis.js_on_change("end", follow)
    return bar


def add_cursor_position(plot) -> Title:
    """The cursor's coordinates in D96/TM and WGS 84, written below the map as it moves."""
    readout = Title(
        text=CURSOR_HINT,
        align="right",
        text_font_size="12px",
        text_font_style="normal",
        text_color="#1d2327",
        syncable=False,
        name="cursor_position",
    )
    plot.add_layout(readout, "below")
    plot.js_on_event(
        MouseMove,
        CustomJS(args={"readout": readout, "grid": GRID, "narrow": NARROW_SCREEN}, code=CURSOR_JS),
    )
    plot.js_on_event(
        MouseLeave,
        CustomJS(args={"readout": readout, "hint": CURSOR_HINT}, code="readout.text = hint"),
    )
    return readout
