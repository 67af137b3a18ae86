"""Measuring on the map: a distance or an area drawn with two tools of the map's toolbar.

The map is Web Mercator, whose scale at Ptuj (46.4° N) is about 1.45: a length taken in its
units is 45 % too long. What is drawn is projected to D96/TM (EPSG:3794), the national grid,
whose scale is within 0.01 % of the ground's across Slovenia, and measured there, on the server,
each time a corner is added or moved.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import panel as pn
import shapely
from bokeh.events import DoubleTap
from bokeh.models import ColumnDataSource, CustomJS, PolyDrawTool
from pyproj import Transformer

from dashboards.tables import number
from dashboards.theme import html_pane
from layers.queries import WEB_MERCATOR
from layers.spec import STORAGE_SRID

TO_GRID = Transformer.from_crs(WEB_MERCATOR, STORAGE_SRID, always_xy=True)
COLOUR = "#e6007e"  # the search mark's: drawn by the user, not data
HINT = (
    "<p class='hint'>Izberite ravnilo ali ploskev v orodjih nad karto; dvoklik začne, klik doda "
    "oglišče, dvoklik konča.<br><span class='en'>Pick the ruler or the area in the tools above "
    "the map; double-click starts, a click adds a corner, a double-click ends.</span></p>"
)


def svg_icon(body: str) -> str:
    """A toolbar icon from SVG markup, as a data URL: nothing is fetched for it."""
    svg = f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='#333' stroke-width='1.6'>{body}</svg>"
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


RULER = svg_icon(
    "<rect x='2' y='8' width='20' height='8' rx='1'/><path d='M6 8v3M10 8v4M14 8v3M18 8v4'/>"
)
AREA = svg_icon("<path d='M4 18 7 5l12 3-2 11z' fill='#ddd'/><path d='M9 9l7 2-1 5-6-2z'/>")

# Bokeh's draw tool starts and ends a shape on a press-and-hold and ignores a double click,
# which is what a person tries first (as in every desktop GIS): a double click on the map is
# made to press the draw tool that is active.
DOUBLE_CLICK_JS = """
for (const tool of tools) {
  const view = tool.active ? Bokeh.index.find_one(tool) : null;
  if (view != null) view._press(cb_obj);
}
"""


def draw_on_double_click(figure, tools: list[PolyDrawTool]) -> None:
    """Let a double click start and end a shape of ``tools``, as a press-and-hold does."""
    figure.js_on_event(DoubleTap, CustomJS(args={"tools": tools}, code=DOUBLE_CLICK_JS))


@dataclass(frozen=True)
class Measured:
    """A drawn line's length, or a drawn polygon's area and perimeter, on the ground."""

    length_m: float
    area_m2: float | None = None


def measured(xs: list[float], ys: list[float], closed: bool) -> Measured | None:
    """The measure of the corners (EPSG:3857) as a line, or as a polygon when ``closed``;
    None while there are too few distinct ones."""
    x, y = TO_GRID.transform(list(xs), list(ys))
    # the draw tool starts a shape with its first corner twice and ends on its last twice
    corners = [
        c for i, c in enumerate(zip(x, y, strict=True)) if i == 0 or c != (x[i - 1], y[i - 1])
    ]
    if not closed:
        return Measured(shapely.LineString(corners).length) if len(corners) >= 2 else None
    if len(corners) < 3:
        return None
    polygon = shapely.Polygon(corners)
    # a ring that crosses itself is measured as the areas it encloses, not their signed sum
    return Measured(polygon.exterior.length, shapely.make_valid(polygon).area)


def measured_html(found: Measured) -> str:
    """The measure as Slovenian writes numbers, with its units in both languages."""
    length = f"<b>{number(found.length_m, 1)} m</b>"
    if found.length_m >= 1000:
        length += f" · {number(found.length_m / 1000, 3)} km"
    if found.area_m2 is None:
        return f"<p class='measured'>Dolžina · Length: {length}</p>"
    return (
        f"<p class='measured'>Površina · Area: <b>{number(found.area_m2, 0)} m²</b>"
        f" · {number(found.area_m2 / 10_000, 2)} ha<br>Obseg · Perimeter: {length}</p>"
    )


class Measure(pn.viewable.Viewer):
    """The ruler and the area tools on ``figure``, with what they measured beside the map and
    at the last corner on it."""

    def __init__(self, figure, **params) -> None:
        super().__init__(**params)
        self.lines = ColumnDataSource({"xs": [], "ys": []})
        self.areas = ColumnDataSource({"xs": [], "ys": []})
        self.corners = ColumnDataSource({"x": [], "y": []})
        self.label = ColumnDataSource({"x": [], "y": [], "text": []})
        line = figure.multi_line(
            "xs", "ys", source=self.lines, line_color=COLOUR, line_width=3, line_dash="dashed",
            name="measure_line",
        )  # fmt: skip
        area = figure.patches(
            "xs", "ys", source=self.areas, line_color=COLOUR, line_width=3, line_dash="dashed",
            fill_color=COLOUR, fill_alpha=0.12, name="measure_area",
        )  # fmt: skip
        vertices = figure.scatter("x", "y", source=self.corners, size=8, color=COLOUR)
        figure.text(
            "x", "y", "text", source=self.label, text_font_size="13px", text_font_style="bold",
            x_offset=10, y_offset=-6, background_fill_color="white", background_fill_alpha=0.85,
        )  # fmt: skip
        tools = [
            PolyDrawTool(
                renderers=[line], vertex_renderer=vertices, num_objects=1, icon=RULER,
                description="Izmeri razdaljo · Measure a distance",
            ),
            PolyDrawTool(
                renderers=[area], vertex_renderer=vertices, num_objects=1, icon=AREA,
                description="Izmeri površino · Measure an area",
            ),
        ]  # fmt: skip
        figure.add_tools(*tools)
        draw_on_double_click(figure, tools)
        self.readout = html_pane(HINT, sizing_mode="stretch_width", css_classes=["measure"])
        self.clear_button = pn.widgets.Button(
            name="Počisti meritev · Clear the measurement", button_type="light"
        )
        self.clear_button.on_click(lambda _event: self.clear())
        self.lines.on_change("data", lambda _a, _o, _n: self._drawn(self.lines, self.areas, False))
        self.areas.on_change("data", lambda _a, _o, _n: self._drawn(self.areas, self.lines, True))

    def _drawn(self, source: ColumnDataSource, other: ColumnDataSource, closed: bool) -> None:
        """Measure what was drawn in ``source``; one measurement at a time, so the other
        tool's drawing goes."""
        xs, ys = source.data["xs"], source.data["ys"]
        found = measured(xs[-1], ys[-1], closed) if xs else None
        if found is None:
            return
        if other.data["xs"]:
            other.data = {"xs": [], "ys": []}
        self.readout.object = measured_html(found)
        shown = (
            f"{number(found.area_m2 / 10_000, 2)} ha"
            if closed
            else f"{number(found.length_m, 0)} m"
        )
        self.label.data = {"x": [xs[-1][-1]], "y": [ys[-1][-1]], "text": [shown]}

    def clear(self) -> None:
        """Take the measurement off the map."""
        for source in (self.lines, self.areas):
            source.data = {"xs": [], "ys": []}
        self.corners.data = {"x": [], "y": []}
        self.label.data = {"x": [], "y": [], "text": []}
        self.readout.object = HINT

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            html_pane("<div class='panel-title'>Merjenje · Measure</div>"),
            self.readout,
            self.clear_button,
            sizing_mode="stretch_width",
        )
