"""The dense-point renderer: millions of sensor readings aggregated per pixel of the map.

On every pan and zoom the cached readings (``layers.readings``) of the chosen kind, window and
aggregate are summed at their sensors and binned on datashader's grid of the view at the map's
resolution (``layers.aggregation``). The page gets only the pixels drawn,
each a square of the style's size with its aggregate and count, or, where most of the view is
drawn and that is smaller, the two grids as an image. The browser colours either through one
Bokeh colour mapper, so a new colour map or opacity is a property change in the page and costs
no aggregation, and hovering shows the aggregate and the count from what the page holds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import replace

import colorcet
import numpy as np
import panel as pn
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    CustomJSHover,
    GlyphRenderer,
    HoverTool,
    LinearColorMapper,
)
from bokeh.plotting import figure
from bokeh.transform import transform

from dashboards.images import TRANSPARENT, add_image, image_columns, no_image
from dashboards.sources import set_data
from dashboards.theme import html_pane
from layers.aggregation import Aggregate, ReadingQuery, spread
from layers.queries import Viewport
from layers.readings import ReadingCache
from layers.sensor_kinds import sensor_kinds
from layers.spec import LayerSpec
from styles import style, theme

CANVAS_PX = (1200, 800)  # until the browser reports the map's size
# how often a session looks whether the cache has new readings (an integer compared: the live
# feed's readings are on the map within this and the feed's second)
REFRESH_MS = 2_000
WINDOWS = {  # name shown: length (None: the range slider's)
    "Zadnja ura · Last hour": dt.timedelta(hours=1),
    "Zadnji dan · Last day": dt.timedelta(days=1),
    "Zadnji teden · Last week": dt.timedelta(days=7),
    "Obdobje · Range": None,
}
# the windows' names in links: a range is not linked (the next person's "last week" moves on)
WINDOW_KEYS = dict(zip(("hour", "day", "week"), list(WINDOWS)[:3], strict=True))
AGGREGATE_NAMES = {"Povprečje · Mean": "mean", "Največ · Max": "max", "Število · Count": "count"}
# bytes sent per drawn pixel as a square (x and y, aggregate and count), and per pixel of the
# view as an image (its two grids): whichever is smaller for a view is sent
SQUARE_BYTES, GRID_BYTES = 24, 8


# A number under the pointer as the rest of the page writes it (1 234,5); a pixel without
# readings shows no tooltip (dashboards.tooltips).
NUMBER_JS = r"""
const [whole, fraction] = Math.abs(value).toFixed(decimals).split(".");
const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, " ");
return (value < 0 ? "−" : "") + grouped + (fraction ? "," + fraction : "") + unit;
"""


def slovenian_number(decimals: int, unit: str) -> CustomJSHover:
    """A tooltip's formatter of a number to ``decimals``, with ``unit`` after it."""
    return CustomJSHover(args={"decimals": decimals, "unit": unit}, code=NUMBER_JS)


def no_squares() -> dict[str, list]:
    """Empty columns, new each time: Bokeh takes ownership of the lists it is given (a shared
    list would hold every session's source that was ever given it)."""
    return {"x": [], "y": [], "value": [], "count": []}


NO_READINGS = (
    "<p class='hint'>V tem pogledu in časovnem oknu ni meritev.<br>"
    "<span class='en'>No readings in this view and time window.</span></p>"
)
GRIDS = ("value", "count")  # coloured by the first; the hover shows both


def palette(name: str) -> list[str]:
    return list(colorcet.palette[name])


def colour_bar(mapper: LinearColorMapper, unit: str, look: dict | None) -> ColorBar:
    """The layer's colour bar, in the theme's colours and sizes when it gives them."""
    bar = ColorBar(color_mapper=mapper, title=unit, width=12, visible=False, name="colour-bar")
    if look:
        bar.background_fill_color = look["background_fill_color"]
        bar.major_label_text_color = bar.title_text_color = look["text_color"]
        bar.major_label_text_font_size = bar.title_text_font_size = look["font_size"]
        bar.width = look["width"]
    return bar


def _us(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class DenseLayer:
    """One dense layer on one session's map: its image, colour bar, hover and controls."""

    answers_taps = False  # hovering shows the aggregate under the cursor instead
    tabled = False  # its rows are readings, millions of them: a sensor's history shows them

    def __init__(
        self,
        plot: figure,
        spec: LayerSpec,
        cache: ReadingCache,
        redraw: Callable[[], None],
        theme_name: str | None = None,
    ) -> None:
        self.spec, self.cache, self.redraw = spec, cache, redraw
        self.style = style(spec.style_key, theme_name)
        self.spread_px = int(self.style.get("spread_px", 0))  # each sensor a square this big
        self.aggregations = 0  # how often this session aggregated (colour changes must not)
        self.shown_version = -1
        self._viewport: Viewport | None = None
        kinds = sensor_kinds()
        present = [k for k in kinds if k in cache.snapshot.kinds] or list(kinds)
        first = kinds[present[0]]
        self.kind = pn.widgets.Select(
            label="Vrsta senzorja · Sensor kind",
            options={kinds[k].title: k for k in present},
            value=first.id,
            sizing_mode="stretch_width",
        )
        self.window = pn.widgets.Select(
            label="Časovno okno · Time window",
            options=list(WINDOWS),
            value="Zadnji dan · Last day",
            sizing_mode="stretch_width",
        )
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        oldest = self._oldest() or now - dt.timedelta(days=30)
        self.range = pn.widgets.DatetimeRangeSlider(
            label="Obdobje · Range",
            start=oldest.replace(tzinfo=None),
            end=now.replace(tzinfo=None),
            value=(
                max(oldest, now - dt.timedelta(days=30)).replace(tzinfo=None),
                now.replace(tzinfo=None),
            ),
            step=3_600_000,
            visible=False,
            sizing_mode="stretch_width",
        )
        self.how = pn.widgets.Select(
            label="Združevanje · Aggregate",
            options=AGGREGATE_NAMES,
            value=first.aggregate,
            sizing_mode="stretch_width",
        )
        self.colormap = pn.widgets.Select(
            label="Barvna lestvica · Colour map",
            options=self.style["colormaps"],
            value=first.colormap,
            sizing_mode="stretch_width",
        )
        self.mapper = LinearColorMapper(palette=palette(first.colormap), nan_color=TRANSPARENT)
        self.squares = ColumnDataSource(no_squares())
        self.renderer: GlyphRenderer = plot.scatter(
            x="x",
            y="y",
            source=self.squares,
            marker="square",
            size=2 * self.spread_px + 1,
            fill_color=transform("value", self.mapper),
            line_color=None,
            name=spec.id,
        )
        self.renderer.nonselection_glyph = None  # a click on the map dims nothing
        self.image = add_image(plot, GRIDS, self.mapper, f"{spec.id}-image")
        self.grids = self.image.data_source
        self.status = html_pane("", margin=(0, 10), css_classes=["readings-status"])
        self.colour_bar = colour_bar(self.mapper, first.unit, theme(theme_name).get("colour_bar"))
        plot.add_layout(self.colour_bar, "right")
        self.hover = HoverTool(renderers=[self.renderer, self.image], description=spec.title)
        self._describe_hover()
        plot.add_tools(self.hover)
        for widget in (self.kind, self.window, self.range, self.how):
            widget.param.watch(self._changed, "value")
        self.colormap.param.watch(self._recolour, "value")
        if pn.state.curdoc and pn.state.curdoc.session_context:
            pn.state.add_periodic_callback(self._refresh_if_new, period=REFRESH_MS)

    def _oldest(self) -> dt.datetime | None:
        first = self.cache.first_us()
        return None if first is None else dt.datetime.fromtimestamp(first / 1e6, dt.UTC)

    def controls(self) -> list:
        return [self.kind, self.window, self.range, self.how, self.colormap, self.status]

    def link_state(self) -> dict[str, str]:
        """The kind, the window (a range is not kept), the aggregate and the colour map."""
        chosen = {"kind": self.kind.value, "how": self.how.value, "colours": self.colormap.value}
        window = [key for key, name in WINDOW_KEYS.items() if name == self.window.value]
        return chosen | ({"window": window[0]} if window else {})

    def follow_link(self, state: dict[str, str]) -> list[str]:
        """Choose what ``state`` names; the keys it could not choose by are returned."""
        widgets = {"kind": self.kind, "window": self.window, "how": self.how}
        widgets["colours"] = self.colormap
        ignored = []
        for key, value in state.items():
            value = WINDOW_KEYS.get(value, "") if key == "window" else value
            if key in widgets and value in widgets[key].values:
                widgets[key].value = value
            else:
                ignored.append(key)
        return ignored

    def _describe_hover(self) -> None:
        """The tooltip: the aggregate and the readings under the pointer, written the Slovenian
        way; where there are none, it says so (the image's empty pixels hold NaN)."""
        kind = sensor_kinds()[self.kind.value]
        name = {v: k for k, v in AGGREGATE_NAMES.items()}[self.how.value]
        counted = self.how.value == "count"
        self.hover.formatters = {
            "@value": slovenian_number(0 if counted else 1, "" if counted else f" {kind.unit}"),
            "@count": slovenian_number(0, ""),
        }
        self.hover.tooltips = [(name, "@value{custom}"), ("Meritev · Readings", "@count{custom}")]

    def query(self, viewport: Viewport) -> ReadingQuery:
        """The current view of this layer as a cache query, at the map's pixel size."""
        end = dt.datetime.now(dt.UTC)
        length = WINDOWS[self.window.value]
        if length is None:
            start, end = (t.replace(tzinfo=dt.UTC) for t in self.range.value)
        else:
            start = end - length
        width, height = self._canvas(viewport)
        return ReadingQuery(
            kind=self.kind.value,
            start_us=_us(start),
            end_us=_us(end),
            box=(viewport.xmin, viewport.ymin, viewport.xmax, viewport.ymax),
            width=width,
            height=height,
            how=self.how.value,
        )

    def _canvas(self, viewport: Viewport) -> tuple[int, int]:
        """The canvas in pixels: as wide as the map, with square pixels."""
        return (
            viewport if viewport.width_px else replace(viewport, width_px=CANVAS_PX[0])
        ).canvas_px

    def show(self, viewport: Viewport) -> None:
        self.prepare(viewport)()

    def prepare(self, viewport: Viewport) -> Callable[[], None]:
        """The view aggregated, as its drawn pixels or its grids, without touching the page;
        calling what is returned sends them."""
        version = self.cache.snapshot.version
        found = self.cache.aggregate(self.query(viewport))
        self.aggregations += 1
        if len(found.pixels) * SQUARE_BYTES <= math.prod(found.shape) * GRID_BYTES:
            pixels, grids = squares(found), no_image(GRIDS)
        else:
            value, count = spread(found, self.spread_px) if self.spread_px else found.grids()
            pixels, grids = no_squares(), image_columns(found.box, value=value, count=count)

        def draw() -> None:
            self._viewport, self.shown_version = viewport, version
            self.status.object = "" if len(found.pixels) else NO_READINGS
            set_data(self.squares, pixels)
            set_data(self.grids, grids)
            if len(found.value):
                low, high = float(found.value.min()), float(found.value.max())
                self.mapper.update(low=low, high=max(high, low + 1e-6))
            self.colour_bar.visible = True

        return draw

    def prepare_pointer(self, x: float, y: float, viewport: Viewport) -> None:
        """None: the hover reads the aggregate under the pointer from what the page holds."""

    def hide(self) -> None:
        set_data(self.squares, no_squares())
        set_data(self.grids, no_image(GRIDS))
        self.status.object = ""
        self.colour_bar.visible = False

    def set_opacity(self, opacity: float) -> None:
        self.renderer.glyph.fill_alpha = opacity
        self.image.glyph.global_alpha = opacity

    def _changed(self, _event=None) -> None:
        self.range.visible = WINDOWS[self.window.value] is None
        self.colour_bar.title = sensor_kinds()[self.kind.value].unit
        self._describe_hover()
        if self._viewport is not None and self.renderer.visible:
            self.redraw()

    def _recolour(self, event) -> None:
        self.mapper.palette = palette(event.new)

    def _refresh_if_new(self) -> None:
        """New readings reached the cache since this view was drawn: draw it again."""
        if (
            self.cache.snapshot.version != self.shown_version
            and self._viewport
            and self.renderer.visible
        ):
            self.redraw()


def squares(found: Aggregate) -> dict:
    """The drawn pixels of ``found`` as squares at their centres, the largest aggregate last, so
    that where squares overlap the largest shows, as in a spread image."""
    xmin, ymin, xmax, ymax = found.box
    height, width = found.shape
    order = np.argsort(found.value, kind="stable")
    rows, cols = np.divmod(found.pixels[order], width)
    return {
        "x": xmin + (cols + 0.5) * (xmax - xmin) / width,
        "y": ymin + (rows + 0.5) * (ymax - ymin) / height,
        "value": found.value[order],
        "count": found.count[order],
    }
