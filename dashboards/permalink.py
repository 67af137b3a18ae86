"""The view in the address bar: a link opens the map as it was (issue: send the view).

The query string holds the centre (``lon``, ``lat``, WGS 84), the width of the view on the
ground in metres (``w``: the same ground whatever the screen it is opened on), the layers shown
(``layers``), their opacities (``opacity=roads:0.5``), the part shown of a layer held in parts
(``part=flood_hazard:Q100``), each renderer's own choices (``sensor_readings.kind=pm10``) and
each layer's filter (``filter.roads=condition:4..5``).
The page keeps the address bar up to date as the map changes (the browser's history gets no
entry per pan); opening a link restores all of it. A parameter that is unknown, not this role's,
or not a value the map can take is ignored, and the page says which in both languages.
"""

from __future__ import annotations

import html
import math
from urllib.parse import urlencode

import panel as pn
from bokeh.events import RangesUpdate
from pyproj import Transformer

from dashboards.map import LayerMap, page_request
from dashboards.theme import html_pane
from layers.queries import mercator_stretch

TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
TO_WGS84 = Transformer.from_crs(3857, 4326, always_xy=True)
WIDTH_M = (20.0, 200_000.0)  # a house to the whole country: what a view may be
REACH_M = 50_000  # how far from the municipality a link's centre may be
VIEW_KEYS = ("lon", "lat", "w")
LIST_KEYS = ("layers", "opacity", "part")
FILTER = "filter."  # filter.buildings=use_class:stanovanjska|poslovna;year_built:1950..1990

# The server's address for the view goes to the browser through a source of its own, as the
# map's zoom does; replaceState changes the address bar without a step in the history.
ADDRESS_JS = """
const [search] = request.data.search;
window.history.replaceState(window.history.state, "", window.location.pathname + search);
"""
COPY_JS = """
navigator.clipboard.writeText(window.location.href).then(() => {
  button.label = "Povezava kopirana · Link copied";
  setTimeout(() => { button.label = label; }, 2000);
});
"""


def view_of(layer_map: LayerMap) -> dict[str, str]:
    """The centre and the ground width of what ``layer_map`` shows."""
    view = layer_map.viewport
    x, y = (view.xmin + view.xmax) / 2, (view.ymin + view.ymax) / 2
    lon, lat = TO_WGS84.transform(x, y)
    width = (view.xmax - view.xmin) / mercator_stretch(y)
    return {"lon": f"{lon:.5f}", "lat": f"{lat:.5f}", "w": f"{width:.0f}"}


def link_of(layer_map: LayerMap) -> str:
    """The query string that opens ``layer_map`` as it is now."""
    shown = [i for i, toggle in layer_map.toggles.items() if toggle.value]
    state = view_of(layer_map) | {"layers": ",".join(shown)}
    faded = {i: s.value for i, s in layer_map.opacity.items() if s.value < 1 and i in shown}
    if faded:
        state["opacity"] = ",".join(f"{i}:{value:g}" for i, value in faded.items())
    if layer_map.partitions:
        state["part"] = ",".join(f"{i}:{c.value}" for i, c in layer_map.partitions.items())
    for layer_id in shown:
        for key, value in layer_map.layers[layer_id].link_state().items():
            state[f"{layer_id}.{key}"] = value
    for layer_id, controls in layer_map.filters.items():
        if controls.current:
            state[f"{FILTER}{layer_id}"] = controls.link_value()
    return "?" + urlencode(state, safe=",:;|")


def pairs(text: str) -> list[tuple[str, str]]:
    """``a:1,b:2`` as ``[("a", "1"), ("b", "2")]``; an item without a colon is kept whole."""
    items = [item for item in text.split(",") if item]
    return [tuple(item.split(":", 1)) if ":" in item else (item, "") for item in items]


class Permalink(pn.viewable.Viewer):
    """Restores the view a link names, keeps the address bar on the view, copies the link."""

    def __init__(self, layer_map: LayerMap, arguments: dict[str, str], **params) -> None:
        super().__init__(**params)
        self.map = layer_map
        self.request = page_request(layer_map.figure, "search", ADDRESS_JS)
        self.copy = pn.widgets.Button(
            label="Kopiraj povezavo · Copy link",
            description="Povezava do tega pogleda · A link to this view",
            button_type="light",
            css_classes=["copy-link"],
        )
        self.copy.js_on_click(args={"button": self.copy, "label": self.copy.label}, code=COPY_JS)
        ignored = self.follow(arguments)
        self.notice = html_pane(
            ignored_html(ignored), visible=bool(ignored), css_classes=["link-notice"]
        )
        layer_map.figure.on_event(RangesUpdate, lambda _event: self.update())
        for widget in self._widgets():
            widget.param.watch(lambda _event: self.update(), "value")
        for controls in layer_map.filters.values():
            controls.param.watch(lambda _event: self.update(), "current")

    def _widgets(self) -> list:
        """Everything whose change changes the link."""
        controls = [w for r in self.map.layers.values() for w in r.controls() if "value" in w.param]
        return [
            *self.map.toggles.values(),
            *self.map.opacity.values(),
            *self.map.partitions.values(),
            *controls,
        ]

    def update(self) -> None:
        """Put the link of the map as it is now in the address bar."""
        search = link_of(self.map)
        self.map.next_tick(lambda: setattr(self.request, "data", {"search": [search]}))

    def follow(self, arguments: dict[str, str]) -> list[str]:
        """Show what ``arguments`` name; the names of those ignored are returned."""
        ignored = [k for k in arguments if k not in (*VIEW_KEYS, *LIST_KEYS) and "." not in k]
        if "layers" in arguments:
            wanted = {i for i, _ in pairs(arguments["layers"])}
            ignored += sorted(wanted - set(self.map.toggles))
            for layer_id, toggle in self.map.toggles.items():
                toggle.value = layer_id in wanted
        for layer_id, value in pairs(arguments.get("opacity", "")):
            if not self._set(self.map.opacity, layer_id, _opacity(value)):
                ignored.append(f"opacity:{layer_id}")
        for layer_id, value in pairs(arguments.get("part", "")):
            if not self._set(self.map.partitions, layer_id, value):
                ignored.append(f"part:{layer_id}")
        ignored += self._follow_renderers(arguments)
        ignored += self._follow_filters(arguments)
        box = self._box(arguments)
        if box is None:
            ignored += [k for k in VIEW_KEYS if k in arguments]
        if box:  # shown once the page is drawn, in place of the municipality
            self.map.first_box = box
        return ignored

    @staticmethod
    def _set(widgets: dict, layer_id: str, value) -> bool:
        widget = widgets.get(layer_id)
        options = getattr(widget, "values", None)
        if widget is None or value is None or (options is not None and value not in options):
            return False
        widget.value = value
        return True

    def _follow_filters(self, arguments: dict[str, str]) -> list[str]:
        ignored = []
        for key in (k for k in arguments if k.startswith(FILTER)):
            controls = self.map.filters.get(key.removeprefix(FILTER))
            ignored += controls.follow_link(arguments[key]) if controls else [key]
        return ignored

    def _follow_renderers(self, arguments: dict[str, str]) -> list[str]:
        ignored = []
        for key in (k for k in arguments if "." in k and not k.startswith(FILTER)):
            layer_id, _, name = key.partition(".")
            drawn = self.map.layers.get(layer_id)
            if drawn is None or drawn.follow_link({name: arguments[key]}):
                ignored.append(key)
        return ignored

    def _box(self, arguments: dict[str, str]) -> tuple[float, float, float, float] | None:
        """The view a link names, as a box of its width in EPSG:3857 (its height is the
        screen's), or None when it names none that makes sense here."""
        try:
            lon, lat, width = (float(arguments[k]) for k in VIEW_KEYS)
        except (KeyError, ValueError):
            return None
        if not (all(map(math.isfinite, (lon, lat, width))) and -85 < lat < 85):
            return None
        if not WIDTH_M[0] <= width <= WIDTH_M[1]:
            return None
        x, y = TO_MERCATOR.transform(lon, lat)
        extent = self.map.extent
        reach = REACH_M * mercator_stretch(y)
        if not (
            extent[0] - reach <= x <= extent[2] + reach
            and extent[1] - reach <= y <= extent[3] + reach
        ):
            return None
        half = width * mercator_stretch(y) / 2
        return x - half, y, x + half, y

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.notice, self.copy, sizing_mode="stretch_width")


def _opacity(value: str) -> float | None:
    try:
        opacity = float(value)
    except ValueError:
        return None
    return opacity if 0 <= opacity <= 1 else None


def ignored_html(ignored: list[str]) -> str:
    """The notice of what a link named that the page could not show."""
    if not ignored:
        return ""
    names = html.escape(", ".join(ignored[:12]))
    return (
        f"<p class='hint'>Iz povezave ni bilo mogoče uporabiti: {names}.<br>"
        f"<span class='en'>Not used from the link: {names}.</span></p>"
    )
