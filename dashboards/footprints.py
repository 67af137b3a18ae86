"""A view of a line or polygon layer holding more features than a page should carry, drawn as
one image of its style classes.

Coordinates go to the page as nested lists, which the server serialises number by number on its
event loop: the Ptuj sample's 12,556 buildings at municipality zoom were 3 MB and half a second
of the loop per page. Here datashader rasterises the features at the view's pixel size instead,
and the page gets one byte per pixel, the feature's class, coloured by Bokeh's colour mapper.
Points need no image: they travel as two flat arrays of coordinates whatever their number.
A view holding more features than a view reads is drawn from the layer's overview instead
(``layers.overview``): datashader puts each feature's point in its pixel, from arrays the
server holds, without reading the layer.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from functools import partial

import datashader as ds
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from bokeh.models import GlyphRenderer, LinearColorMapper
from bokeh.plotting import figure

from dashboards.images import TRANSPARENT, add_image, image_columns, no_image
from dashboards.sources import set_data
from layers.overview import Overview
from layers.queries import Viewport
from layers.spec import Geometry

IMAGE_ABOVE = 3_000  # features in view past which a line or polygon layer is drawn as an image
GRIDS = ("image",)
DRAW = {Geometry.LINE: "line", Geometry.POLYGON: "polygons"}  # the datashader Canvas method


def class_colours(entry: dict, colour_key: str) -> tuple[list[str], dict[str, int]]:
    """The style's colours, and each class's code in the image (its colour's place, from 1;
    a feature of no listed class gets the last, the style's colour for others)."""
    if "color_by" not in entry:
        return [entry[colour_key]], {}
    classes = entry["classes"]
    colours = [c["color"] for c in classes] + [entry.get("other_color", "#999999")]
    return colours, {str(c["value"]): i + 1 for i, c in enumerate(classes)}


def warm_up() -> threading.Thread:
    """Compile datashader's line and polygon code now, on a thread of its own, so that the first
    page with a big layer does not wait the few seconds it takes; for the multi-part geometries
    the layers hold, which datashader compiles for apart from single ones."""
    square = shapely.box(0, 0, 1, 1)
    frame = gpd.GeoDataFrame(
        {"code": np.ones(1, "float32")}, geometry=[shapely.MultiPolygon([square])]
    )
    lines = frame.set_geometry([shapely.MultiLineString([square.boundary])])

    def draw() -> None:
        canvas = ds.Canvas(plot_width=2, plot_height=2, x_range=(0, 1), y_range=(0, 1))
        canvas.polygons(frame, geometry="geometry", agg=ds.last("code"))
        canvas.line(lines, geometry="geometry", agg=ds.last("code"))

    thread = threading.Thread(target=draw, name="footprints-warm-up", daemon=True)
    thread.start()
    return thread


class FootprintImage:
    """The image of one layer on one map; empty while the layer is drawn as vectors."""

    def __init__(self, plot: figure, geometry: Geometry, entry: dict, colour_key: str, name: str):
        self.geometry = geometry
        self.color_by: str | None = entry.get("color_by")
        colours, self.codes = class_colours(entry, colour_key)
        self.other = len(colours)
        # a byte per pixel: 0 is no feature (below ``low``, transparent), k the k-th colour
        mapper = LinearColorMapper(
            palette=colours, low=0.5, high=len(colours) + 0.5, low_color=TRANSPARENT
        )
        self.renderer: GlyphRenderer = add_image(plot, GRIDS, mapper, f"{name}-image")
        self.source = self.renderer.data_source

    def prepare(self, frame: gpd.GeoDataFrame, viewport: Viewport) -> Callable[[], None]:
        """The image of ``frame``'s features, in their style classes, covering ``viewport``,
        made without touching the page; calling what is returned draws it."""
        box = (viewport.xmin, viewport.ymin, viewport.xmax, viewport.ymax)
        image = image_columns(box, image=self.rasterise(frame, viewport))
        return partial(setattr, self.source, "data", image)

    def class_codes(self, classes: list) -> np.ndarray:
        """The colour code of each class; a class the style does not name takes the others'."""
        return np.array([self.codes.get(c, self.other) for c in classes], np.float32)

    def feature_codes(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        """The colour code of each feature, looked up once a class, not once a feature."""
        if self.color_by is None:
            return np.full(len(frame), self.other, np.float32)
        found, classes = pd.factorize(frame[self.color_by])
        # a feature of no value (-1) takes the last: the others' colour
        return self.class_codes([*(str(c) for c in classes), None])[found]

    def coded(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """``frame``'s shapes with their colour codes, made once for every session's image of
        the same style (``CODED``)."""
        style = (self.color_by, tuple(self.codes.items()), self.other)
        return CODED.get(frame, style, self.feature_codes)

    def rasterise(self, frame: gpd.GeoDataFrame, viewport: Viewport) -> np.ndarray:
        """The class code of the feature drawn last at each pixel, 0 where there is none."""
        width, height = viewport.canvas_px
        coded = self.coded(frame)
        view = shapely.box(viewport.xmin, viewport.ymin, viewport.xmax, viewport.ymax)
        # datashader keeps to the view by the same spatial index, built once for both
        if not len(coded.sindex.query(view)):
            # the features were read by the view's box in the layer's CRS, which reaches past
            # the view's corners: all of them may lie there, and datashader refuses an empty
            # frame (shapely's "Geometry type combination is not supported ([])")
            return np.zeros((height, width), np.uint8)
        draw = getattr(view_canvas(viewport), DRAW[self.geometry])
        return as_codes(draw(coded, geometry="geometry", agg=ds.last("code")).values)

    def prepare_overview(
        self, overview: Overview, inside: np.ndarray, viewport: Viewport
    ) -> Callable[[], None]:
        """The image of the overview's points ``inside`` the view, a pixel each, in the colour
        of its class (the highest code where several meet); calling what is returned draws it.
        """
        # a feature of no value (code -1) takes the last: the others' colour
        codes_of_classes = self.class_codes([*overview.classes, None])
        points = pd.DataFrame(
            {
                "x": overview.x[inside],
                "y": overview.y[inside],
                "code": codes_of_classes[overview.codes[inside]],
            }
        )
        grid = view_canvas(viewport).points(points, "x", "y", agg=ds.max("code")).values
        box = (viewport.xmin, viewport.ymin, viewport.xmax, viewport.ymax)
        image = image_columns(box, image=as_codes(grid))
        return partial(setattr, self.source, "data", image)

    def clear(self) -> None:
        set_data(self.source, no_image(GRIDS))

    def set_opacity(self, alpha: float) -> None:
        self.renderer.glyph.global_alpha = alpha


class CodedShapes:
    """Each frame's shapes with their colour codes, and the spatial index datashader builds on
    them, made once for all sessions. The feature store gives every pan within a cell of its
    grid, in any session, the same frame; the coding and the index were half of the image's
    making. An entry goes with its frame (the store keeps a frame for a minute at most)."""

    def __init__(self) -> None:
        self._made: dict[tuple, tuple[weakref.ref, gpd.GeoDataFrame]] = {}

    def get(
        self,
        frame: gpd.GeoDataFrame,
        style: tuple,
        codes_of: Callable[[gpd.GeoDataFrame], np.ndarray],
    ) -> gpd.GeoDataFrame:
        """The coded shapes of ``frame`` in ``style`` (its classes' codes), made by
        ``codes_of`` the first time."""
        key = (id(frame), style)  # a frame cannot be hashed; its id is its own while it lives
        made = self._made.get(key)
        if made is not None and made[0]() is frame:
            return made[1]
        coded = gpd.GeoDataFrame({"code": codes_of(frame)}, geometry=frame.geometry.array)
        self._made[key] = (weakref.ref(frame), coded)
        weakref.finalize(frame, self._made.pop, key, None)
        return coded


CODED = CodedShapes()


def as_codes(grid: np.ndarray) -> np.ndarray:
    """datashader's grid of codes as bytes, 0 where it has none (NaN): ``fmax`` keeps the number
    of the two, in one pass where ``nan_to_num`` took four."""
    return np.fmax(grid, 0).astype(np.uint8)


def view_canvas(viewport: Viewport) -> ds.Canvas:
    """The datashader canvas of the map's view: its box, at its size in pixels."""
    width, height = viewport.canvas_px
    return ds.Canvas(
        plot_width=width,
        plot_height=height,
        x_range=(viewport.xmin, viewport.xmax),
        y_range=(viewport.ymin, viewport.ymax),
    )
