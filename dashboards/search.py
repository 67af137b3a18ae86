"""The search box: places and things by name, answered as one types; a choice zooms to it.

The answers come from ``layers.search`` (PostgreSQL's trigrams over the names every layer
declares), only from the layers the session's role may see. Choosing one turns its layer on,
shows it with a margin, outlines it on the map, and puts the feature in the details pane.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import panel as pn
import shapely
from bokeh.models import ColumnDataSource

from dashboards.map import LayerMap
from dashboards.theme import html_pane
from dashboards.vector import line_coordinates
from layers.registry import layer
from layers.search import MIN_QUERY, Found, Place, find, place_of

MARK_COLOUR = "#e6007e"  # no layer's style uses it: the mark stands out on any of them
NO_ANSWERS = "<p class='hint'>Ni zadetkov. <span class='en'>Nothing found.</span></p>"


class SearchMark:
    """The found feature, outlined on top of every layer: a ring for a point, a line for the
    others (a polygon by its boundary)."""

    def __init__(self, figure) -> None:
        self.points = ColumnDataSource({"x": [], "y": []})
        self.lines = ColumnDataSource({"xs": [], "ys": []})
        figure.scatter(
            "x", "y", source=self.points, size=26, fill_alpha=0,
            line_color=MARK_COLOUR, line_width=4, name="search_mark_point",
        )  # fmt: skip
        figure.multi_line(
            "xs", "ys", source=self.lines, line_color=MARK_COLOUR, line_width=4,
            line_alpha=0.9, name="search_mark_line",
        )  # fmt: skip

    def show(self, place: Place) -> None:
        shape = place.shape
        if shape.geom_type in ("Point", "MultiPoint"):
            x, y = shapely.get_coordinates(shape).T
            self.points.data = {"x": x.tolist(), "y": y.tolist()}
            self.lines.data = {"xs": [], "ys": []}
            return
        outline = shape.boundary if shape.geom_type.endswith("Polygon") else shape
        xs, ys = line_coordinates(np.array([outline]))
        self.points.data = {"x": [], "y": []}
        self.lines.data = {"xs": xs, "ys": ys}


class SearchBox(pn.viewable.Viewer):
    """One text box for every name the role may find, its answers below it as buttons."""

    def __init__(self, layer_map: LayerMap, role: str, **params) -> None:
        super().__init__(**params)
        self.map, self.role = layer_map, role
        self.mark = SearchMark(layer_map.figure)
        self.input = pn.widgets.TextInput(
            label="Iskanje · Search",
            placeholder="naslov, ulica, naselje, ime … · address, street, place, name …",
            sizing_mode="stretch_width",
            css_classes=["search-input"],
        )
        self.answers = pn.Column(sizing_mode="stretch_width", css_classes=["search-answers"])
        self.found: list[Found] = []
        guarded = layer_map.outage.guarded
        self.input.param.watch(guarded(self._search), "value_input")
        # Enter, not any new value: leaving the box for an answer's button must not choose
        self.input.param.watch(guarded(self._choose_first), "enter_pressed")

    def _search(self, event) -> None:
        query = event.new or ""
        self.found = find(self.map.engine, query, self.role)
        if len(query.strip()) < MIN_QUERY:
            self.answers.objects = []
        elif not self.found:
            self.answers.objects = [html_pane(NO_ANSWERS, margin=(0, 10))]
        else:
            self.answers.objects = [self._button(found) for found in self.found]

    def _button(self, found: Found) -> pn.widgets.Button:
        spec = layer(found.layer)
        detail = f" ({found.detail})" if found.detail else ""
        button = pn.widgets.Button(
            name=f"{found.label}{detail} — {spec.title_sl}",
            description=f"{spec.title_sl} · {spec.title_en}",
            button_type="light",
            sizing_mode="stretch_width",
            css_classes=["search-answer"],
        )
        button.on_click(self.map.outage.guarded(lambda _event: self.choose(found)))
        return button

    def _choose_first(self, _event) -> None:
        if self.found:
            self.choose(self.found[0])

    def choose(self, found: Found) -> None:
        """Show answer ``found``: its layer on, the map on it, outlined, its details."""
        place = place_of(self.map.engine, found.entry, self.role)
        if place is None:  # reloaded away since it was found
            self.answers.objects = [html_pane(NO_ANSWERS, margin=(0, 10))]
            return
        self.map.next_tick(partial(self.map.outage.guarded(self._show), place))

    def _show(self, place: Place) -> None:
        self.map.show_layer(place.layer)
        self.map.zoom_to(place.bounds)
        self.mark.show(place)
        if place.feature_id is not None:
            self.map.show_feature(layer(place.layer), place.feature_id)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            html_pane("<div class='panel-title'>Iskanje · Search</div>"),
            self.input,
            self.answers,
            sizing_mode="stretch_width",
        )
