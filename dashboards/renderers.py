"""Renderer kinds: how a layer is drawn on a session's map, looked up by the spec's kind here
and nowhere else.

A renderer is one layer on one map. It draws itself for a viewport (made ready off the event
loop, then drawn on it), hides (and drops its rows), changes its opacity, and may add controls
to its card. Adding a kind is a class with these members and a line in ``RENDERERS``;
``layers.spec.RENDERER_KINDS`` names it for the specs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from bokeh.models import GlyphRenderer
from bokeh.plotting import figure

from dashboards.dense import DenseLayer
from dashboards.vector import VectorLayer
from layers.filters import NO_FILTER, Filter
from layers.overview import Overview
from layers.queries import Viewport, feature_drawn_at
from layers.spec import LayerSpec
from layers.store import FeatureStore


class Renderer(Protocol):
    """One layer drawn on one session's map."""

    renderer: GlyphRenderer
    answers_taps: bool  # a click on the map looks for this layer's features
    tabled: bool  # its features are rows of the table below the map (dashboards.feature_table)

    def show(self, viewport: Viewport) -> None: ...  # prepare(viewport)(), at once

    # what the view needs, read and computed without touching the page (on a worker thread);
    # calling what it returns draws it, on the page's event loop
    def prepare(self, viewport: Viewport) -> Callable[[], None]: ...

    # the feature under a pointer resting at (x, y), for a hover the page's data cannot answer
    # (a view drawn as an image), made ready off the loop; None where there is none to find
    def prepare_pointer(
        self, x: float, y: float, viewport: Viewport
    ) -> Callable[[], None] | None: ...

    def hide(self) -> None: ...

    def set_opacity(self, opacity: float) -> None: ...

    def controls(self) -> list: ...

    def link_state(self) -> dict[str, str]: ...  # the controls' choices, for the address bar

    def follow_link(self, state: dict[str, str]) -> list[str]: ...  # the keys it could not use


@dataclass(frozen=True)
class MapContext:
    """What a renderer needs of its map: where data comes from, for whom, in which look."""

    store: FeatureStore
    role: str
    part: Callable[[LayerSpec], str | None]  # the part shown of a partitioned layer
    where: Callable[[LayerSpec], Filter]  # the attribute filter a layer is drawn with
    # draw a layer again for the map's view, as a gesture would (off the loop when served)
    redraw: Callable[[LayerSpec], None]
    theme_name: str | None = None

    def fetch(self, spec: LayerSpec, viewport: Viewport):
        return self.store.features(spec, viewport, self.role, self.part(spec), self.where(spec))

    def fetch_at(self, spec: LayerSpec, x: float, y: float, viewport: Viewport, radius_m: float):
        return feature_drawn_at(
            self.store.engine, spec, x, y, viewport, radius_m,
            self.role, self.part(spec), self.where(spec),
        )  # fmt: skip

    def overview(self, spec: LayerSpec, column: str | None) -> Overview | None:
        """The overview of a big layer drawn whole: none while a part or a filter is chosen,
        which the overview does not know.
        """
        if self.part(spec) is not None or self.where(spec) != NO_FILTER:
            return None
        return self.store.overview(spec, self.role, column)


RENDERERS: dict[str, Callable[[figure, LayerSpec, MapContext], Renderer]] = {
    "vector": lambda plot, spec, context: VectorLayer(
        plot, spec, context.fetch, context.fetch_at, context.overview, context.theme_name
    ),
    "dense_points": lambda plot, spec, context: DenseLayer(
        plot, spec, context.store.readings(spec), partial(context.redraw, spec), context.theme_name
    ),
}


def make_renderer(plot: figure, spec: LayerSpec, context: MapContext) -> Renderer:
    """The renderer of ``spec``'s kind, added to ``plot``."""
    return RENDERERS[spec.renderer](plot, spec, context)
