"""The vector renderer: a layer's features and style become a Bokeh glyph and its data.

One renderer serves every vector layer; what differs between layers is data in their spec and
style, never a branch on a layer's id. Coordinates are unpacked with shapely's vectorised
functions straight into Bokeh's column format: measured on the Ptuj sample, HoloViews' geometry
interfaces took 7 s for 12,570 buildings and 24 s for 1,314 road segments, this takes well
under a second for both.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from functools import partial

import geopandas as gpd
import numpy as np
import shapely
from bokeh.models import (
    ColumnDataSource,
    GlyphRenderer,
    HoverTool,
    MultiLine,
    MultiPolygons,
    Scatter,
)
from bokeh.plotting import figure
from bokeh.transform import factor_cmap

from dashboards.footprints import DRAW, IMAGE_ABOVE, FootprintImage
from dashboards.labels import MapLabels
from dashboards.sources import set_data
from dashboards.tables import number
from dashboards.theme import html_pane
from layers.db import DATABASE_ERRORS
from layers.overview import Overview
from layers.queries import MAX_FEATURES, Viewport, read_columns
from layers.registry import LAYERS
from layers.spec import Geometry, LayerSpec
from layers.store import FeatureStore
from styles import style

log = logging.getLogger(__name__)

CLASS_COLUMN = "_class"  # the style's class of each feature, as text, for the colour map
# how near the pointer a feature of an image is found for its tooltip: a line a pixel wide is
# hard to rest on, and a polygon's tooltip shows only with the pointer inside it anyway
POINTER_RADIUS_PX = 3


def _split(values: np.ndarray, index: np.ndarray, count: int) -> list[np.ndarray]:
    """``values`` grouped by ``index`` (sorted, 0..count-1) into ``count`` arrays."""
    return np.split(values, np.searchsorted(index, np.arange(1, count)))


def polygon_coordinates(geometry: np.ndarray) -> tuple[list, list]:
    """MultiPolygons ``xs``/``ys``: per feature, per polygon, per ring (exterior first)."""
    parts, part_of = shapely.get_parts(geometry, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    coords = coords.round(1)  # decimetres are finer than any screen shows, and half the bytes
    # Plain lists: Bokeh sends many small arrays as separate buffers, which browsers decode slowly.
    ring_x = [a.tolist() for a in _split(coords[:, 0], coord_of, len(rings))]
    ring_y = [a.tolist() for a in _split(coords[:, 1], coord_of, len(rings))]
    rings_by_part = _split(np.arange(len(rings)), ring_of, len(parts))
    parts_by_feature = _split(np.arange(len(parts)), part_of, len(geometry))
    xs = [[[ring_x[r] for r in rings_by_part[p]] for p in feature] for feature in parts_by_feature]
    ys = [[[ring_y[r] for r in rings_by_part[p]] for p in feature] for feature in parts_by_feature]
    return xs, ys


def line_coordinates(geometry: np.ndarray) -> tuple[list, list]:
    """MultiLine ``xs``/``ys``: one list per feature, its parts separated by NaN."""
    parts, part_of = shapely.get_parts(geometry, return_index=True)
    coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    coords = coords.round(1)
    # a NaN row after each part followed by another of its feature breaks the line there
    inner = np.flatnonzero(part_of[:-1] == part_of[1:])
    breaks = np.searchsorted(coord_of, inner + 1)
    coords = np.insert(coords, breaks, np.nan, axis=0)
    owner = np.insert(part_of[coord_of], breaks, part_of[inner])
    # plain lists, as for polygons: an array per feature would be a buffer per feature
    xs = [a.tolist() for a in _split(coords[:, 0], owner, len(geometry))]
    ys = [a.tolist() for a in _split(coords[:, 1], owner, len(geometry))]
    return xs, ys


def _as_text(values: list) -> list:
    return ["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in values]


def point_coordinates(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scatter ``x``/``y``: one pair per feature."""
    return shapely.get_x(geometry), shapely.get_y(geometry)


# per geometry kind: the glyph's coordinate columns and how they are made
COORDINATES = {
    Geometry.POINT: (("x", "y"), point_coordinates),
    Geometry.LINE: (("xs", "ys"), line_coordinates),
    Geometry.POLYGON: (("xs", "ys"), polygon_coordinates),
}


def style_classes(entry: dict, frame: gpd.GeoDataFrame) -> list[str]:
    """Each feature's class in its style, as text ("" when the style has one colour)."""
    return [str(v) for v in frame[entry["color_by"]]] if "color_by" in entry else [""] * len(frame)


def columns(spec: LayerSpec, frame: gpd.GeoDataFrame | None) -> dict[str, list]:
    """The data of a layer's glyph: coordinates, every field and the style class."""
    names = read_columns(spec)
    coordinate_names, coordinates = COORDINATES[spec.geometry]
    if frame is None or frame.empty:
        return {name: [] for name in [*names, CLASS_COLUMN, *coordinate_names]}
    data = {name: _as_text(frame[name].tolist()) for name in names}
    data[CLASS_COLUMN] = style_classes(style(spec.style_key), frame)
    found = coordinates(frame.geometry.array.to_numpy())
    data.update(zip(coordinate_names, found, strict=True))
    return data


# the style's key for the colour of a feature of no class: fill, or the line itself
COLOUR_KEY = {
    Geometry.POINT: "fill_color",
    Geometry.LINE: "line_color",
    Geometry.POLYGON: "fill_color",
}


def _colour(entry: dict, default_key: str):
    if "color_by" not in entry:
        return entry[default_key]
    classes = entry["classes"]
    return factor_cmap(
        CLASS_COLUMN,
        palette=[c["color"] for c in classes],
        factors=[str(c["value"]) for c in classes],
        nan_color=entry.get("other_color", "#999999"),
    )


def point_glyph(entry: dict) -> Scatter:
    return Scatter(
        x="x",
        y="y",
        marker=entry["marker"],
        size=entry["size"],
        fill_color=_colour(entry, COLOUR_KEY[Geometry.POINT]),
        line_color=entry["line_color"],
        line_width=entry.get("line_width", 1.0),
    )


def line_glyph(entry: dict) -> MultiLine:
    return MultiLine(
        xs="xs",
        ys="ys",
        line_color=_colour(entry, COLOUR_KEY[Geometry.LINE]),
        line_width=entry.get("line_width", 1.0),
    )


def polygon_glyph(entry: dict) -> MultiPolygons:
    hatch = {k: entry[k] for k in ("hatch_pattern", "hatch_color", "hatch_alpha") if k in entry}
    return MultiPolygons(
        xs="xs",
        ys="ys",
        fill_color=_colour(entry, COLOUR_KEY[Geometry.POLYGON]),
        fill_alpha=entry.get("fill_alpha", 1.0),
        line_color=entry["line_color"],
        line_width=entry.get("line_width", 1.0),
        line_dash=entry.get("line_dash", "solid"),
        **hatch,
    )


GLYPHS = {Geometry.POINT: point_glyph, Geometry.LINE: line_glyph, Geometry.POLYGON: polygon_glyph}


def read_overviews(store: FeatureStore) -> threading.Thread:
    """Read the big layers' overviews now, on a thread of their own, so that the first page
    over a million buildings does not wait the second or two it takes."""

    def read() -> None:
        for spec in LAYERS.values():
            if spec.geometry in DRAW and not spec.partition_column:  # lines and areas, whole
                colour_by = style(spec.style_key).get("color_by")
                try:
                    store.overview(spec, next(iter(spec.roles)), colour_by)
                except DATABASE_ERRORS:  # the first page that needs it reads it
                    log.warning("the overview of %s was not read ahead", spec.id, exc_info=True)

    thread = threading.Thread(target=read, name="overviews", daemon=True)
    thread.start()
    return thread


def _draw_all(drawings: list[Callable[[], None]]) -> None:
    for drawing in drawings:
        drawing()


def cut_short(features: int) -> str:
    """What the layer's card says of a view of ``features`` read: nothing, or that the view
    holds more than are drawn (the read stops at ``MAX_FEATURES``)."""
    if features < MAX_FEATURES:
        return ""
    most = number(MAX_FEATURES)
    return (
        f"<p class='hint' role='status'>V pogledu je več kot {most} objektov; narisanih je"
        f" {most}: približajte. · More than {MAX_FEATURES:,} features in view; {MAX_FEATURES:,}"
        " are drawn: zoom in.</p>"
    )


def overview_said(features: int) -> str:
    """What the layer's card says of a view drawn from the layer's overview."""
    return (
        f"<p class='hint' role='status'>V pogledu je {number(features)} objektov, vsak kot"
        f" točka: približajte za obrise. · {features:,} features in view, each a dot: zoom in"
        " for their outlines.</p>"
    )


class VectorLayer:
    """One vector layer on one session's map: its glyph, hover and the features in view.

    ``fetch`` reads the layer's features for a viewport (the session's feature store, role and
    part); the glyph takes its look from the layer's style in the map's theme. A view of more
    than ``IMAGE_ABOVE`` lines or polygons is drawn as one image (``dashboards.footprints``):
    its tooltip comes from the feature under a resting pointer (``prepare_pointer``), and a click
    still finds the feature at the point. A view holding
    more than a view reads (``MAX_FEATURES``) is drawn from the layer's overview, a dot for
    each feature (``overview``: the session's, none while a part or a filter is chosen); with
    a filter it draws only the first ``MAX_FEATURES``. The layer's card says either.
    """

    answers_taps = True  # a click on a feature shows its details
    tabled = True

    def __init__(
        self,
        plot: figure,
        spec: LayerSpec,
        fetch: Callable[[LayerSpec, Viewport], gpd.GeoDataFrame],
        fetch_at: Callable[[LayerSpec, float, float, Viewport, float], gpd.GeoDataFrame],
        overview: Callable[[LayerSpec, str | None], Overview | None],
        theme_name: str | None = None,
    ) -> None:
        self.spec, self._fetch, self._fetch_at, self._overview = spec, fetch, fetch_at, overview
        self.imaged = False  # the view on the page is drawn as an image (or dots), not vectors
        self.style = style(spec.style_key, theme_name)
        self.notice = html_pane("", margin=(0, 10), css_classes=["layer-notice"])
        self.renderer: GlyphRenderer = plot.add_glyph(
            ColumnDataSource(columns(spec, None)),
            GLYPHS[spec.geometry](self.style),
            name=spec.id,
            nonselection_glyph=None,  # a click shows details; it dims nothing
        )
        self.image = (
            FootprintImage(plot, spec.geometry, self.style, COLOUR_KEY[spec.geometry], spec.id)
            if spec.geometry in DRAW
            else None
        )
        if self.image:
            self.image.set_opacity(self._image_alpha(1.0))
        self.labels = (
            MapLabels(plot, spec, self.style["labels"]) if "labels" in self.style else None
        )
        if spec.hover_fields:
            tooltips = [(spec.field(n).label, f"@{{{n}}}") for n in spec.hover_fields]
            # one feature's tooltip at a time: overlapping ones (a site both SAC and SPA) stacked
            # theirs into a column that covered the map. A polygon's tooltip is at the pointer:
            # Bokeh's default puts it at the mean of the ring's corners, and drops it where that
            # lies off the map (a site along the whole river had none)
            plot.add_tools(
                HoverTool(
                    renderers=[self.renderer],
                    tooltips=tooltips,
                    description=spec.title,
                    limit=1,
                    point_policy=(
                        "follow_mouse" if spec.geometry == Geometry.POLYGON else "snap_to_data"
                    ),
                )
            )

    def show(self, viewport: Viewport) -> None:
        self.prepare(viewport)()

    def prepare(self, viewport: Viewport) -> Callable[[], None]:
        """The layer's features in ``viewport``, read and made ready to draw (as vectors, or as
        an image of a big view) without touching the page; calling what is returned draws them."""
        if self.image:
            overview = self._overview(self.spec, self.style.get("color_by"))
            inside = overview.within(viewport) if overview else None
            if inside is not None and np.count_nonzero(inside) > MAX_FEATURES:
                return self._prepare_overview(overview, inside, viewport)
        frame = self._fetch(self.spec, viewport)
        drawings = [self.labels.prepare(frame, viewport)] if self.labels else []
        imaged = bool(self.image) and len(frame) > IMAGE_ABOVE
        if imaged:
            drawings.append(self.image.prepare(frame, viewport))
        elif self.image:
            drawings.append(self.image.clear)
        drawings.append(partial(setattr, self, "imaged", imaged))
        vectors = columns(self.spec, None if imaged else frame)
        drawings.append(partial(set_data, self.renderer.data_source, vectors))
        drawings.append(partial(setattr, self.notice, "object", cut_short(len(frame))))

        return partial(_draw_all, drawings)

    def _prepare_overview(
        self, overview: Overview, inside: np.ndarray, viewport: Viewport
    ) -> Callable[[], None]:
        """The view drawn from the layer's overview: its image, and no vectors or labels."""
        drawings = [self.labels.hide] if self.labels else []
        drawings += [
            self.image.prepare_overview(overview, inside, viewport),
            partial(setattr, self, "imaged", True),
            partial(set_data, self.renderer.data_source, columns(self.spec, None)),
            partial(setattr, self.notice, "object", overview_said(np.count_nonzero(inside))),
        ]
        return partial(_draw_all, drawings)

    def prepare_pointer(self, x: float, y: float, viewport: Viewport) -> Callable[[], None] | None:
        """The feature under a pointer resting at (x, y) of ``viewport``, read to be the only
        one in the glyph, whose hover then shows its tooltip; None where the view is drawn as
        vectors (their own hover answers) or the layer has no tooltip.
        """
        if not (self.imaged and self.spec.hover_fields):
            return None
        radius = POINTER_RADIUS_PX * viewport.ground_pixel_size
        try:
            found = self._fetch_at(self.spec, x, y, viewport, radius)
        except DATABASE_ERRORS:  # no tooltip while the database is away; the view's gestures wait
            log.info("no tooltip for %s: the database is not reachable", self.spec.id)
            return None
        return partial(self._show_under_pointer, columns(self.spec, found))

    def _show_under_pointer(self, under: dict[str, list]) -> None:
        if self.imaged:  # not drawn as vectors since
            set_data(self.renderer.data_source, under)

    def hide(self) -> None:
        """Drop the rows too: a hidden layer holds nothing in the page."""
        set_data(self.renderer.data_source, columns(self.spec, None))
        if self.image:
            self.image.clear()
        if self.labels:
            self.labels.hide()

    def set_opacity(self, opacity: float) -> None:
        """Scale the outline and fill; fills keep their style's own transparency."""
        glyph = self.renderer.glyph
        glyph.line_alpha = opacity
        if self.spec.geometry != Geometry.LINE:
            glyph.fill_alpha = opacity * float(self.style.get("fill_alpha", 1.0))
        if self.image:
            self.image.set_opacity(self._image_alpha(opacity))
        if self.labels:
            self.labels.set_opacity(opacity)

    def _image_alpha(self, opacity: float) -> float:
        """The image's opacity: the fill's for polygons, the line's for lines."""
        if self.spec.geometry == Geometry.LINE:
            return opacity
        return opacity * float(self.style.get("fill_alpha", 1.0))

    def controls(self) -> list:
        return [self.notice]

    def link_state(self) -> dict[str, str]:
        return {}

    def follow_link(self, state: dict[str, str]) -> list[str]:
        return list(state)
