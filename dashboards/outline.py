"""Features outlined on top of every layer, in a colour no layer's style uses: a ring for a
point, a line for the others (a polygon by its boundary). The search marks what it found in
one, the table the selection in another."""

from __future__ import annotations

import numpy as np
import shapely
from bokeh.models import ColumnDataSource

from dashboards.vector import line_coordinates


class Outline:
    """Shapes (EPSG:3857) outlined on ``figure``; its renderers are named ``<name>_point``
    and ``<name>_line``."""

    def __init__(self, figure, colour: str, name: str, width: float = 4) -> None:
        self.points = ColumnDataSource({"x": [], "y": []})
        self.lines = ColumnDataSource({"xs": [], "ys": []})
        self.point_renderer = figure.scatter(
            "x", "y", source=self.points, size=26, fill_alpha=0, line_color=colour,
            line_width=width, name=f"{name}_point",
        )  # fmt: skip
        self.line_renderer = figure.multi_line(
            "xs", "ys", source=self.lines, line_color=colour, line_width=width,
            line_alpha=0.9, name=f"{name}_line",
        )  # fmt: skip

    def show(self, shapes: list[shapely.Geometry]) -> None:
        """Outline ``shapes`` instead of what was outlined before."""
        kinds = shapely.get_type_id(np.array(shapes, dtype=object)) if shapes else np.array([])
        points = [s for s, kind in zip(shapes, kinds, strict=True) if kind in (0, 4)]
        others = [s for s, kind in zip(shapes, kinds, strict=True) if kind not in (0, 4)]
        x, y = shapely.get_coordinates(points).T if points else ([], [])
        self.points.data = {"x": list(x), "y": list(y)}
        if not others:
            self.lines.data = {"xs": [], "ys": []}
            return
        # a polygon by its boundary; a line as it is
        drawn = [s.boundary if s.geom_type.endswith("Polygon") else s for s in others]
        xs, ys = line_coordinates(np.array(drawn, dtype=object))
        self.lines.data = {"xs": xs, "ys": ys}

    def clear(self) -> None:
        """Outline nothing."""
        self.show([])
