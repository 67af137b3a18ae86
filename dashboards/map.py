"""The layered map shared by the dashboards: per-viewport layers, toggles, opacity, legend, details.

One ``LayerMap`` per session: its figure, widgets and clicked feature are that user's state. Each
layer is drawn by the renderer of its kind (``dashboards.renderers``); the features come from the
process's feature store, whose short-lived cache lets users looking at the same place share one
query. A hidden layer is not fetched at all.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Collection
from functools import partial

import panel as pn
import param
from bokeh.events import RangesUpdate, Tap
from bokeh.models import ColumnDataSource, CustomJS, DataRange1d, WMTSTileSource
from bokeh.plotting import figure
from panel.io.state import set_curdoc

from dashboards.filters import LayerFilter
from dashboards.map_scale import add_scale_bar
from dashboards.outage import Outage
from dashboards.pointer import on_rest
from dashboards.renderers import MapContext, Renderer, make_renderer
from dashboards.tables import number
from dashboards.theme import html_pane
from dashboards.tooltips import hit_testable_when_shown, one_tooltip_at_a_time
from layers.catalog import newest_load
from layers.filters import NO_FILTER, Filter
from layers.queries import Viewport, feature_at, feature_with_id, mercator_stretch, partition_values
from layers.spec import Field, LayerSpec
from layers.store import FeatureStore
from styles import legend_html, theme

TAP_RADIUS_PX = 6
ZOOM_MARGIN = 0.3  # around a feature zoomed to, of its size
FIT_MARGIN = 0.04  # around the municipality the map opens on, of its size
ZOOM_MIN_SPAN_M = 400  # true metres: a street's width of context around a point or a house
# a map with more of the page below it (a table, an address list) is this tall
MAP_HEIGHT_PX = 600
# a mouse wheel still this long has stopped turning, and the new view is fetched (Bokeh's own
# 500 ms made every zoom wait half a second before the server heard of it)
WHEEL_SETTLED_MS = 150
DRAWN = "drawn:"  # the x range's tag of the view the map has drawn (``drawn_tag``)
ASSUMED_WIDTH_PX = 1200  # the server does not know the browser's width; this sets the detail
NO_DETAILS = (
    "<p class='hint'>Kliknite objekt na karti za podrobnosti.<br>"
    "<span class='en'>Click a feature on the map for its details.</span></p>"
)


# A zoom asked for by the server: setting a data range's start and end from Python is undone by
# its next fit to the data, so the box goes to the browser in a source of its own and is applied
# as a zoom tool would (the range manager, then RangesUpdate back to the server).
ZOOM_JS = """
const [x0, x1, y0, y1] = request.data.box;
const view = Bokeh.index.find_one(plot);
const {width, height} = view.frame.bbox;
let [dx, dy] = [x1 - x0, y1 - y0];
if (dx / dy > width / height) dy = dx * height / width; else dx = dy * width / height;
const [x, y] = [(x0 + x1) / 2, (y0 + y1) / 2];
view.update_range({
  xrs: new Map([[plot.x_range, {start: x - dx / 2, end: x + dx / 2}]]),
  yrs: new Map([[plot.y_range, {start: y - dy / 2, end: y + dy / 2}]]),
});
view.trigger_ranges_update_event();
"""

# A click on the map picks the feature under it, unless a drawing tool is on (a measurement,
# an area), when it adds a corner and nothing else. Only the page knows which tool is on, so
# it sends the server the clicks that pick (a time makes each one new).
TAP_JS = """
if (plot.toolbar.tools.some((tool) => tool.type == "PolyDrawTool" && tool.active)) return;
taps.data = {x: [cb_obj.x], y: [cb_obj.y], at: [Date.now()]};
"""


ONLINE_BASEMAP = "online_basemap"


def base_figure(basemap_url: str | None, theme_name: str | None = None):
    """An empty map in EPSG:3857, with an online tile basemap only when one is configured:
    the base a person can always read is drawn from our own layers (their names included)."""
    look = theme(theme_name).get("map", {})
    plot = figure(
        tools="pan,wheel_zoom,box_zoom,reset,tap",
        active_scroll="wheel_zoom",
        x_axis_type=None,
        y_axis_type=None,
        match_aspect=True,
        sizing_mode="stretch_both",
        min_height=560,
        background_fill_color=look.get("background", "#e8edf0"),
        border_fill_color=look.get("background", "#ffffff"),
        toolbar_location="above",
        output_backend="canvas",
        lod_timeout=WHEEL_SETTLED_MS,
    )
    plot.grid.visible = False
    plot.toolbar.logo = None  # a link out of the product, to bokeh.org
    if basemap_url:
        plot.add_tile(WMTSTileSource(url=basemap_url), name=ONLINE_BASEMAP)
    return plot


def page_request(plot, column: str, code: str) -> ColumnDataSource:
    """A source of one ``column`` whose every new value the browser acts on with ``code``
    (given ``plot`` and ``request``): how the server asks the page for what only it can do."""
    request = ColumnDataSource({column: []})
    request.js_on_change("data", CustomJS(args={"plot": plot, "request": request}, code=code))
    plot.tags = [*plot.tags, request]  # in the document with the plot, though no glyph draws it
    return request


class LayerMap(pn.viewable.Viewer):
    """A map of the given layers with a layer list (toggle, opacity, legend) and a details pane.

    ``visible`` names the layers shown at first (default: each spec's own ``visible``). A
    partitioned layer (flood scenarios) gets a choice of its part in its card, in ``partitions``.
    ``theme_name`` is a theme of ``styles/`` (the wall's dark one).
    """

    details = param.Dict(default=None, allow_None=True, doc="The clicked feature and its layer.")
    viewport = param.ClassSelector(class_=Viewport, doc="What the map shows, as last reported.")

    def __init__(
        self,
        store: FeatureStore,
        specs: list[LayerSpec],
        role: str,
        extent: tuple[float, float, float, float],
        basemap_url: str | None = None,
        visible: Collection[str] | None = None,
        theme_name: str | None = None,
        height: int | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.engine, self.specs, self._role, self.extent = store.engine, specs, role, extent
        # A page built to be served draws its layers once the browser has it, for the view the
        # browser then reports; until then only the basemap layers its view is fitted to.
        # Drawn while the page was built as well, a big view was drawn twice, the first time for
        # the server's guess at the view: 0.3 s more of building, and 1.4 MB sent in vain.
        document = pn.state.curdoc
        self._page_to_come = document is not None and document.session_context is not None
        xmin, ymin, xmax, ymax = extent
        margin = max(xmax - xmin, ymax - ymin) * FIT_MARGIN / 2
        # what the browser shows once the page has loaded: the municipality, or a link's view
        self.first_box = (xmin - margin, ymin - margin, xmax + margin, ymax + margin)
        if self._page_to_come:
            pn.state.onload(lambda: self.next_tick(lambda: self.show_box(self.first_box)))
        self.figure = base_figure(basemap_url, theme_name)
        # a page with more below its map gives it a height of its own; stretched both ways in
        # a column of several, Bokeh draws the map taller than its place, over what follows
        size = {"sizing_mode": "stretch_both", "min_height": 560}
        if height:
            size = {"sizing_mode": "stretch_width", "height": height, "min_height": None}
            self.figure.update(**size)
        # the box (x0, x1, y0, y1 in EPSG:3857) the browser zooms the map to
        self.zoom_request = page_request(self.figure, "box", ZOOM_JS)
        self.filters = {s.id: LayerFilter(store.engine, s) for s in specs if s.filters}
        context = MapContext(
            store, role, self.part, self.where, lambda spec: self.draw([spec.id]), theme_name
        )
        # in the registry's drawing order, each by the renderer of its kind
        self.layers: dict[str, Renderer] = {
            spec.id: make_renderer(self.figure, spec, context) for spec in specs
        }
        self.renderers = {layer_id: drawn.renderer for layer_id, drawn in self.layers.items()}
        one_tooltip_at_a_time(self.figure)
        hit_testable_when_shown(self.renderers.values())
        # Fit the view to the basemap layers (the municipality), keeping the map's aspect.
        fit = [self.renderers[s.id] for s in specs if s.basemap] or list(self.renderers.values())
        self.figure.x_range = DataRange1d(renderers=fit, range_padding=FIT_MARGIN)
        self.figure.y_range = DataRange1d(renderers=fit, range_padding=FIT_MARGIN)
        add_scale_bar(self.figure, extent)
        shown = {s.id for s in specs if s.visible} if visible is None else set(visible)
        self.toggles = {
            s.id: pn.widgets.Checkbox(label=s.title, value=s.id in shown) for s in specs
        }
        for spec in specs:
            self.renderers[spec.id].visible = spec.id in shown
        # a configured online basemap is a choice in the layer list, at the bottom, as it lies
        # (found among the map's renderers: a search of the figure's every model took 50 ms)
        tiles = next((r for r in self.figure.renderers if r.name == ONLINE_BASEMAP), None)
        self.online_basemap = None
        if tiles:
            self.online_basemap = pn.widgets.Checkbox(
                label="Spletna podlaga · Online basemap", value=True
            )
            self.online_basemap.param.watch(lambda e: setattr(tiles, "visible", e.new), "value")
        self.partitions = {
            s.id: pn.widgets.Select(
                label="Scenarij · Scenario",
                options=partition_values(store.engine, s),
                sizing_mode="stretch_width",
            )
            for s in specs
            if s.partition_column
        }
        # every gesture waits out an outage of the database, saying so (dashboards.outage)
        self.outage = Outage()
        guarded = self.outage.guarded
        for layer_id, choice in self.partitions.items():
            choice.param.watch(guarded(lambda _event, i=layer_id: self.draw([i])), "value")
        for layer_id, controls in self.filters.items():
            controls.param.watch(guarded(lambda _event, i=layer_id: self.draw([i])), "current")
        self.opacity = {
            s.id: pn.widgets.FloatSlider(
                label="Prosojnost · Opacity",
                start=0,
                end=1,
                step=0.05,
                value=1.0,
                sizing_mode="stretch_width",
            )
            for s in specs
        }
        for spec in specs:
            self.toggles[spec.id].param.watch(
                guarded(lambda event, s=spec: self._toggle(s, event.new)), "value"
            )
            self.opacity[spec.id].param.watch(
                lambda event, s=spec: self._set_opacity(s, event.new), "value"
            )
        self.viewport = Viewport(*extent, ASSUMED_WIDTH_PX)
        self.figure.on_event(RangesUpdate, guarded(self._on_ranges))
        self.taps = ColumnDataSource({"x": [], "y": [], "at": []})
        self.figure.js_on_event(
            Tap, CustomJS(args={"plot": self.figure, "taps": self.taps}, code=TAP_JS)
        )
        picked = guarded(self._on_tap)
        self.taps.on_change("data", lambda _attr, _old, tap: picked(tap))
        on_rest(self.figure, self._on_rest)  # a tooltip is never a gesture to retry (outage)
        self._pane = pn.pane.Bokeh(self.figure, **size)
        self.details_pane = html_pane(
            NO_DETAILS, sizing_mode="stretch_width", css_classes=["details-pane"]
        )
        self.param.watch(self._show_details, "details")
        self.refresh()

    def part(self, spec: LayerSpec) -> str | None:
        """The part of a partitioned layer on show (its scenario), else None."""
        choice = self.partitions.get(spec.id)
        return choice.value if choice else None

    def where(self, spec: LayerSpec) -> Filter:
        """The attribute filter ``spec`` is drawn with (none for a layer without one)."""
        controls = self.filters.get(spec.id)
        return controls.current if controls else NO_FILTER

    def draw(self, layer_ids: Collection[str]) -> None:
        """Draw the switched-on ones of ``layer_ids`` for the current view.

        On a served page each layer's reading and computing runs on a worker thread and only
        the drawing on the event loop, under the page's lock (which holds this page's next
        gesture until it is done, and no other page's); a view that has moved on meanwhile
        is not drawn: its successor is on its way.
        """
        viewport = self.viewport
        shown = {i: self.layers[i] for i in layer_ids if self.toggles[i].value}
        if self._served():
            if shown:
                self._off_loop(viewport, shown, lambda layer: layer.prepare(viewport))
            return
        basemap = {s.id for s in self.specs if s.basemap}
        for layer_id, layer in shown.items():  # no page is served (a page being built, a test)
            if layer_id in basemap or not self._page_to_come:
                layer.show(viewport)

    def _on_rest(self, x: float, y: float) -> None:
        """The pointer rests at (x, y): the layers drawn as images find the feature there."""
        viewport = self.viewport
        shown = {i: layer for i, layer in self.layers.items() if self.toggles[i].value}
        if self._served():
            self._off_loop(viewport, shown, lambda layer: layer.prepare_pointer(x, y, viewport))

    def _served(self) -> bool:
        document = self.figure.document
        return document is not None and document.session_context is not None

    def _off_loop(
        self,
        viewport: Viewport,
        shown: dict[str, Renderer],
        prepare: Callable[[Renderer], Callable[[], None] | None],
    ) -> None:
        """``prepare`` each of ``shown`` on a worker thread, then draw what it made ready on the
        page's next tick, unless the view has moved on or the layer been switched off."""
        self.figure.document.add_next_tick_callback(
            partial(self._draw_on_page, (viewport, shown, prepare))
        )

    async def _draw_on_page(self, job: tuple) -> None:
        # Bokeh names the page's document only while a callback is called, not while the
        # coroutine it returned runs: an outage's notice and retry need it named
        with set_curdoc(self.figure.document):
            await self.outage.guarded(self._drawn_off_loop)(job)

    async def _drawn_off_loop(self, job: tuple) -> None:
        viewport, shown, prepare = job
        if viewport is not self.viewport:
            return
        drawings = await asyncio.to_thread(
            lambda: {i: prepare(layer) for i, layer in shown.items()}
        )
        if viewport is not self.viewport:
            return
        for layer_id, drawing in drawings.items():
            if drawing and self.toggles[layer_id].value:  # not switched off meanwhile
                drawing()
        # the view now drawn, for what waits on the page for its map (a benchmark, a test): on
        # the range, whose tags hold no model. A change of the figure's tags, which hold the
        # page's requests, made Bokeh walk the whole document again (70 ms of the loop a pan).
        self.figure.x_range.tags = [drawn_tag(viewport)]

    def _set_opacity(self, spec: LayerSpec, opacity: float) -> None:
        self.layers[spec.id].set_opacity(opacity)

    def refresh(self) -> None:
        """Fetch every visible layer for the current viewport."""
        self.draw(self.layers)

    def _toggle(self, spec: LayerSpec, visible: bool) -> None:
        if visible:
            self.draw([spec.id])
        else:
            self.layers[spec.id].hide()
        self.renderers[spec.id].visible = visible

    def _on_ranges(self, event: RangesUpdate) -> None:
        if None in (event.x0, event.x1, event.y0, event.y1):
            return
        self.viewport = Viewport(event.x0, event.y0, event.x1, event.y1, ASSUMED_WIDTH_PX)
        self.refresh()

    def _on_tap(self, tap: dict) -> None:
        self.select_at(tap["x"][0], tap["y"][0])

    def select_at(self, x: float, y: float) -> None:
        """Show the topmost visible feature at (x, y) in EPSG:3857 in the details pane."""
        radius = TAP_RADIUS_PX * self.viewport.ground_pixel_size
        for spec in reversed(self.specs):
            if not self.toggles[spec.id].value or not self.layers[spec.id].answers_taps:
                continue
            found = feature_at(
                self.engine, spec, x, y, radius, self._role, self.part(spec), self.where(spec)
            )
            if found:
                self.details = self._details(spec, found)
                return
        self.details = None

    def next_tick(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the next tick of this page's document, under its lock.

        Panel runs some widgets' changes (a text box's Enter, a click that follows typing, a
        page's onload) outside the document's lock, where the map's own Bokeh models must not
        change; the page's own document is named, not whichever Panel holds as current.
        """
        document = self.figure.document
        if document is None or document.session_context is None:
            action()  # no page is served (a test of the map alone): nothing to lock
        else:
            document.add_next_tick_callback(action)

    def show_layer(self, layer_id: str) -> None:
        """Switch layer ``layer_id`` on (it is fetched for the view as a toggle would)."""
        self.toggles[layer_id].value = True

    def zoom_to(self, bounds: tuple[float, float, float, float]) -> None:
        """Show ``bounds`` (EPSG:3857) with a margin, at least ``ZOOM_MIN_SPAN_M`` across."""
        xmin, ymin, xmax, ymax = bounds
        least = ZOOM_MIN_SPAN_M * mercator_stretch((ymin + ymax) / 2)
        half = max(xmax - xmin, ymax - ymin, least) * (0.5 + ZOOM_MARGIN)
        x, y = (xmin + xmax) / 2, (ymin + ymax) / 2
        self.show_box((x - half, y - half, x + half, y + half))

    def show_box(self, box: tuple[float, float, float, float]) -> None:
        """Show at least ``box`` (EPSG:3857), grown to the map's shape by the browser, which
        then reports the view (RangesUpdate) and so fetches the layers."""
        xmin, ymin, xmax, ymax = box
        self.zoom_request.data = {"box": [xmin, xmax, ymin, ymax]}

    def show_feature(self, spec: LayerSpec, feature_id: int) -> None:
        """Put feature ``feature_id`` of ``spec`` in the details pane, as a click on it would."""
        found = feature_with_id(self.engine, spec, feature_id, self._role)
        self.details = found and self._details(spec, found)

    def _details(self, spec: LayerSpec, attributes: dict) -> dict:
        """What the details pane shows of a feature: its layer, attributes and their source."""
        return {
            "spec": spec,
            "attributes": attributes,
            "source": newest_load(self.engine, spec, self.part(spec)),
        }

    def layer_list(self) -> pn.Column:
        """A card per layer, topmost first: the toggle, the legend, its source and the opacity."""
        cards = [
            pn.Column(
                self.toggles[s.id],
                *([self.partitions[s.id]] if s.id in self.partitions else []),
                *([self.filters[s.id]] if s.id in self.filters else []),
                *self.layers[s.id].controls(),
                html_pane(
                    legend_html(s.style_key, s.geometry) + source_line(newest_load(self.engine, s)),
                    margin=(0, 10),
                ),
                self.opacity[s.id],
                css_classes=["layer-card", f"layer-{s.id}"],
                sizing_mode="stretch_width",
            )
            for s in reversed(self.specs)
        ]
        if self.online_basemap:
            cards.append(pn.Column(self.online_basemap, css_classes=["layer-card"]))
        return pn.Column(*cards, sizing_mode="stretch_width", scroll=True)

    def _show_details(self, _event=None) -> None:
        """Put the clicked feature's attributes, labelled in both languages, in the details pane."""
        if not self.details:
            self.details_pane.object = NO_DETAILS
            return
        spec, values = self.details["spec"], self.details["attributes"]
        rows = "".join(
            f"<tr><th>{html.escape(f.label_sl)}<br><span class='en'>{html.escape(f.label_en)}</span></th>"
            f"<td>{html.escape(shown_value(f, values.get(f.name)))}</td></tr>"
            for f in spec.fields
        )
        self.details_pane.object = (
            f"<h3>{html.escape(spec.title)}</h3><table class='details'>{rows}"
            f"</table>{about_source(self.details['source'])}"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.outage.notice, self._pane, sizing_mode="stretch_both", margin=0)


def drawn_tag(viewport: Viewport) -> str:
    """The tag the map's x range carries once its layers are drawn for ``viewport``: its box
    in EPSG:3857 to the millimetre, written as the page can write its ranges (JavaScript's
    ``toFixed(3)``)."""
    box = (viewport.xmin, viewport.ymin, viewport.xmax, viewport.ymax)
    return DRAWN + ",".join(f"{value:.3f}" for value in box)


def shown_value(field: Field, value: object) -> str:
    """A feature's value as the details pane writes it: a real number the Slovenian way, to
    two decimals at most (``458,6``); a year, a code or a count as it is."""
    if field.type == "real" and isinstance(value, int | float):
        return number(value, 2).rstrip("0").rstrip(",")
    return "" if value is None else str(value)


def about_source(source: dict | None) -> str:
    """Where a layer's data came from, from the catalogue, as one HTML paragraph."""
    if not source:
        return ""
    synthetic = " · <b>sintetični podatki · synthetic data</b>" if source["synthetic"] else ""
    return (
        f"<p class='about'>Vir · Source: {html.escape(source['source_file'])}, "
        f"{html.escape(source['provider'] or '')}; {html.escape(source['licence'] or '')}; "
        f"naloženo · loaded {source['loaded_at']:%Y-%m-%d %H:%M}{synthetic}</p>"
    )


def source_line(source: dict | None) -> str:
    """The short form for a layer card: file, licence and load date."""
    if not source:
        return "<p class='about'>Ni podatkov · No data loaded</p>"
    return (
        f"<p class='about'>{html.escape(source['source_file'])} · "
        f"{html.escape(source['licence'] or '')} · {source['loaded_at']:%Y-%m-%d}</p>"
    )
