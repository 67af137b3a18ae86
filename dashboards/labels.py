"""Names on the map: a layer whose style has ``labels`` writes each feature's label there.

This is what makes the basemap readable offline: settlement and district names, street names
along their streets. A point is named beside it, a polygon at a point inside it, a line once
per name (at the middle of its longest piece in view, turned along it, never upside down). A
style's ``labels.below_m_per_px`` keeps the names off the map until it is zoomed in that far:
street names over a whole municipality would be a grey smear.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import geopandas as gpd
import numpy as np
import shapely
from bokeh.models import ColumnDataSource, GlyphRenderer, Text

from dashboards.sources import set_data
from layers.queries import Viewport
from layers.spec import Geometry, LayerSpec


def no_labels() -> dict[str, list]:
    """Empty columns, new each time: Bokeh takes ownership of the lists it is given."""
    return {"x": [], "y": [], "text": [], "angle": []}


# how each kind is placed: beside a point, centred on an area or along a line
PLACEMENT = {
    Geometry.POINT: {"text_align": "left", "text_baseline": "middle", "x_offset": 7},
    Geometry.POLYGON: {"text_align": "center", "text_baseline": "middle"},
    Geometry.LINE: {"text_align": "center", "text_baseline": "bottom", "y_offset": -2},
}


def _upright(angle: np.ndarray) -> np.ndarray:
    """An angle turned by half a turn where its text would read upside down: within a
    quarter turn of the horizontal."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


def label_columns(spec: LayerSpec, frame: gpd.GeoDataFrame) -> dict[str, list]:
    """Where each name goes (EPSG:3857) and at what angle, in Bokeh's column format."""
    named = frame[frame[spec.label_field].notna() & (frame[spec.label_field] != "")]
    if named.empty:
        return no_labels()
    shapes = named.geometry.array.to_numpy()
    texts = named[spec.label_field].astype(str).to_numpy()
    angle = np.zeros(len(named))
    if spec.geometry == Geometry.POINT:
        at = shapes
    elif spec.geometry == Geometry.POLYGON:
        at = shapely.point_on_surface(shapes)
    else:
        # once per name: its longest piece in view carries it
        longest = (
            named.assign(_length=shapely.length(shapes)).reset_index(drop=True)
            .sort_values("_length").drop_duplicates(spec.label_field, keep="last")
        )  # fmt: skip
        shapes = longest.geometry.array.to_numpy()
        texts = longest[spec.label_field].astype(str).to_numpy()
        merged = shapely.line_merge(shapes)
        at = shapely.line_interpolate_point(merged, 0.5, normalized=True)
        before = shapely.line_interpolate_point(merged, 0.45, normalized=True)
        after = shapely.line_interpolate_point(merged, 0.55, normalized=True)
        angle = _upright(
            np.arctan2(shapely.get_y(after) - shapely.get_y(before),
                       shapely.get_x(after) - shapely.get_x(before))
        )  # fmt: skip
    return {
        "x": shapely.get_x(at).tolist(),
        "y": shapely.get_y(at).tolist(),
        "text": texts.tolist(),
        "angle": angle.tolist(),
    }


class MapLabels:
    """The names of one layer on one map, as its style's ``labels`` table writes them."""

    def __init__(self, plot, spec: LayerSpec, look: dict) -> None:
        self.spec, self.look = spec, look
        glyph = Text(
            x="x", y="y", text="text", angle="angle", text_font_size=look.get("size", "12px"),
            text_color=look.get("color", "#3c3c3c"), text_font_style=look.get("font_style", "normal"),
            text_outline_color="#ffffff", **PLACEMENT[spec.geometry],
        )  # fmt: skip
        # above every layer's glyphs: a name under a later layer's fill could not be read
        self.renderer: GlyphRenderer = plot.add_glyph(
            ColumnDataSource(no_labels()), glyph, name=f"{spec.id}_labels", level="annotation"
        )

    def prepare(self, frame: gpd.GeoDataFrame, viewport: Viewport) -> Callable[[], None]:
        """The names of what ``frame`` holds, if the view is zoomed in far enough for this
        layer, worked out without touching the page; calling what is returned draws them."""
        below = self.look.get("below_m_per_px")
        near = below is None or viewport.ground_pixel_size < below
        found = label_columns(self.spec, frame) if near else no_labels()
        return partial(set_data, self.renderer.data_source, found)

    def hide(self) -> None:
        """No names: the layer is off."""
        set_data(self.renderer.data_source, no_labels())

    def set_opacity(self, opacity: float) -> None:
        """Fade the names with their layer."""
        self.renderer.glyph.text_alpha = opacity
