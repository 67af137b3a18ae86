"""The layered map shared by the dashboards: per-viewport layers, toggles, opacity, legend, details.

One ``LayerMap`` per session: its figure, widgets and clicked feature are that user's state. The
features come from ``layers.queries`` through a short-lived process-wide cache, so users looking
at the same place share one query. A hidden layer is not fetched at all.
"""

from __future__ import annotations

import html
from collections.abc import Collection

import panel as pn
import param
from bokeh.events import RangesUpdate, Tap
from bokeh.models import DataRange1d, WMTSTileSource
from bokeh.plotting import figure
from sqlalchemy import Engine

from dashboards.dense import DenseLayer
from dashboards.theme import html_pane
from dashboards.vector import add_layer, columns, set_opacity
from layers.db import get_engine
from layers.queries import (
    Viewport,
    feature_at,
    fetch_features,
    newest_load,
    partition_values,
)
from layers.readings import reading_cache
from layers.registry import LayerSpec, layer
from styles import legend_html

CACHE_SECONDS = 60
TAP_RADIUS_PX = 6
ASSUMED_WIDTH_PX = 1200  # the server does not know the browser's width; this sets the detail
NO_DETAILS = (
    "<p class='hint'>Kliknite objekt na karti za podrobnosti.<br>"
    "<span class='en'>Click a feature on the map for its details.</span></p>"
)


@pn.cache(ttl=CACHE_SECONDS, max_items=500)
def cached_features(
    url: str,
    layer_id: str,
    box: tuple[float, float, float, float],
    width_px: int,
    role: str,
    part: str | None,
):
    """Features of a layer in a snapped viewport, shared by every session for a minute."""
    return fetch_features(get_engine(url), layer(layer_id), Viewport(*box, width_px), role, part)


def base_figure(basemap_url: str | None):
    """An empty map in EPSG:3857, with an online tile basemap only when one is configured."""
    plot = figure(
        tools="pan,wheel_zoom,box_zoom,reset,tap",
        active_scroll="wheel_zoom",
        x_axis_type=None,
        y_axis_type=None,
        match_aspect=True,
        sizing_mode="stretch_both",
        min_height=560,
        background_fill_color="#e8edf0",
        toolbar_location="above",
        output_backend="canvas",
    )
    plot.grid.visible = False
    if basemap_url:
        plot.add_tile(WMTSTileSource(url=basemap_url))
    return plot


class LayerMap(pn.viewable.Viewer):
    """A map of the given layers with a layer list (toggle, opacity, legend) and a details pane.

    ``visible`` names the layers shown at first (default: each spec's own ``visible``). A
    partitioned layer (flood scenarios) gets a choice of its part in its card, in ``partitions``.
    """

    details = param.Dict(default=None, allow_None=True, doc="The clicked feature and its layer.")

    def __init__(
        self,
        engine: Engine,
        specs: list[LayerSpec],
        role: str,
        extent: tuple[float, float, float, float],
        basemap_url: str | None = None,
        visible: Collection[str] | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self._engine, self._specs, self._role = engine, specs, role
        self._url = engine.url.render_as_string(hide_password=False)
        self.figure = base_figure(basemap_url)
        # in the registry's drawing order: dense layers (sensor readings) draw datashader's
        # grids, every other layer is vector
        self.dense: dict[str, DenseLayer] = {}
        self.renderers = {}
        for spec in specs:
            if spec.kind == "dense_points":
                self.dense[spec.id] = DenseLayer(self.figure, spec, reading_cache(self._url))
                self.renderers[spec.id] = self.dense[spec.id].renderer
            else:
                self.renderers[spec.id] = add_layer(self.figure, spec)
        # Fit the view to the basemap layers (the municipality), keeping the map's aspect.
        fit = [self.renderers[s.id] for s in specs if s.basemap] or list(self.renderers.values())
        self.figure.x_range = DataRange1d(renderers=fit, range_padding=0.04)
        self.figure.y_range = DataRange1d(renderers=fit, range_padding=0.04)
        shown = {s.id for s in specs if s.visible} if visible is None else set(visible)
        self.toggles = {
            s.id: pn.widgets.Checkbox(label=s.title, value=s.id in shown) for s in specs
        }
        for spec in specs:
            self.renderers[spec.id].visible = spec.id in shown
        self.partitions = {
            s.id: pn.widgets.Select(
                label="Scenarij · Scenario",
                options=partition_values(engine, s),
                sizing_mode="stretch_width",
            )
            for s in specs
            if s.partition_column
        }
        for layer_id, choice in self.partitions.items():
            choice.param.watch(lambda _event, i=layer_id: self._repart(i), "value")
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
                lambda event, s=spec: self._toggle(s, event.new), "value"
            )
            self.opacity[spec.id].param.watch(
                lambda event, s=spec: self._set_opacity(s, event.new), "value"
            )
        self.viewport = Viewport(*extent, ASSUMED_WIDTH_PX)
        self.figure.on_event(RangesUpdate, self._on_ranges)
        self.figure.on_event(Tap, self._on_tap)
        self._pane = pn.pane.Bokeh(self.figure, sizing_mode="stretch_both", min_height=560)
        self.details_pane = html_pane(
            NO_DETAILS, sizing_mode="stretch_width", css_classes=["details-pane"]
        )
        self.param.watch(self._show_details, "details")
        self.refresh()

    def part(self, spec: LayerSpec) -> str | None:
        """The part of a partitioned layer on show (its scenario), else None."""
        choice = self.partitions.get(spec.id)
        return choice.value if choice else None

    def _fetch(self, spec: LayerSpec):
        snapped = self.viewport.snapped()
        box = (snapped.xmin, snapped.ymin, snapped.xmax, snapped.ymax)
        return cached_features(
            self._url, spec.id, box, snapped.width_px, self._role, self.part(spec)
        )

    def _repart(self, layer_id: str) -> None:
        if self.toggles[layer_id].value:
            self._show(layer(layer_id))

    def _show(self, spec: LayerSpec) -> None:
        if spec.id in self.dense:
            self.dense[spec.id].show(self.viewport)
        else:
            self.renderers[spec.id].data_source.data = columns(spec, self._fetch(spec))

    def _set_opacity(self, spec: LayerSpec, opacity: float) -> None:
        if spec.id in self.dense:
            self.dense[spec.id].set_opacity(opacity)
        else:
            set_opacity(self.renderers[spec.id], spec, opacity)

    def refresh(self) -> None:
        """Fetch every visible layer for the current viewport."""
        for spec in self._specs:
            if self.toggles[spec.id].value:
                self._show(spec)

    def _toggle(self, spec: LayerSpec, visible: bool) -> None:
        if visible:
            self._show(spec)
        elif spec.id in self.dense:
            self.dense[spec.id].hide()
        else:  # drop the rows too: a hidden layer holds nothing in the page
            self.renderers[spec.id].data_source.data = columns(spec, None)
        self.renderers[spec.id].visible = visible

    def _on_ranges(self, event: RangesUpdate) -> None:
        if None in (event.x0, event.x1, event.y0, event.y1):
            return
        self.viewport = Viewport(event.x0, event.y0, event.x1, event.y1, ASSUMED_WIDTH_PX)
        self.refresh()

    def _on_tap(self, event: Tap) -> None:
        self.select_at(event.x, event.y)

    def select_at(self, x: float, y: float) -> None:
        """Show the topmost visible feature at (x, y) in EPSG:3857 in the details pane."""
        radius = TAP_RADIUS_PX * self.viewport.ground_pixel_size
        for spec in reversed(self._specs):
            if not self.toggles[spec.id].value or spec.id in self.dense:
                continue  # a dense layer answers by hovering
            found = feature_at(self._engine, spec, x, y, radius, self._role, self.part(spec))
            if found:
                self.details = {
                    "spec": spec,
                    "attributes": found,
                    "source": newest_load(self._engine, spec, self.part(spec)),
                }
                return
        self.details = None

    def layer_list(self) -> pn.Column:
        """A card per layer, topmost first: the toggle, the legend, its source and the opacity."""
        cards = [
            pn.Column(
                self.toggles[s.id],
                *([self.partitions[s.id]] if s.id in self.partitions else []),
                *(self.dense[s.id].controls() if s.id in self.dense else []),
                html_pane(
                    legend_html(s.style_key) + source_line(newest_load(self._engine, s)),
                    margin=(0, 10),
                ),
                self.opacity[s.id],
                css_classes=["layer-card", f"layer-{s.id}"],
                sizing_mode="stretch_width",
            )
            for s in reversed(self._specs)
        ]
        return pn.Column(*cards, sizing_mode="stretch_width", scroll=True)

    def _show_details(self, _event=None) -> None:
        """Put the clicked feature's attributes, labelled in both languages, in the details pane."""
        if not self.details:
            self.details_pane.object = NO_DETAILS
            return
        spec, values = self.details["spec"], self.details["attributes"]
        rows = "".join(
            f"<tr><th>{html.escape(f.label_sl)}<br><span class='en'>{html.escape(f.label_en)}</span></th>"
            f"<td>{html.escape('' if values.get(f.name) is None else str(values[f.name]))}</td></tr>"
            for f in spec.fields
        )
        self.details_pane.object = (
            f"<h3>{html.escape(spec.title)}</h3><table class='details'>{rows}"
            f"</table>{about_source(self.details['source'])}"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane


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
