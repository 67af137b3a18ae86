"""The evacuation on the civil-protection map: the roads the water closes and the routes to
the shelters (``layers.evacuation``), drawn over every layer with their legend; a route's
tooltip names its shelter and the evacuees placed there.
"""

from __future__ import annotations

import numpy as np
import shapely
from bokeh.models import ColumnDataSource, HoverTool

from dashboards.print_map import TO_MERCATOR
from dashboards.vector import line_coordinates
from layers.evacuation import Evacuation
from styles import legend_html, style

CLOSED, ROUTES = "evacuation_closed", "evacuation_routes"  # their styles and renderers' names


def _in_mercator(geometry: np.ndarray) -> np.ndarray:
    return shapely.transform(geometry, TO_MERCATOR.transform, interleaved=False)


class EvacuationOverlay:
    """The closed roads and the routes of the report shown, on ``figure``."""

    def __init__(self, figure) -> None:
        self.closed = ColumnDataSource({"xs": [], "ys": [], "name": []})
        self.routes = ColumnDataSource({"xs": [], "ys": [], "name": [], "evacuees": []})
        for key, source in ((CLOSED, self.closed), (ROUTES, self.routes)):
            entry = style(key)
            renderer = figure.multi_line(
                "xs", "ys", source=source, line_color=entry["line_color"],
                line_width=entry["line_width"], line_dash=entry.get("line_dash", "solid"),
                line_alpha=0.95, name=key,
            )  # fmt: skip
            if source is self.routes:
                figure.add_tools(
                    HoverTool(
                        renderers=[renderer],
                        tooltips=[
                            ("Zbirno mesto · Shelter", "@name"),
                            ("Evakuirani · Evacuees", "@evacuees"),
                        ],
                        description="Poti · Routes",
                    )
                )

    def show(self, evacuation: Evacuation | None) -> None:
        """Draw ``evacuation``'s closed roads and routes instead of those drawn before."""
        closed = evacuation.closed if evacuation is not None else None
        routes = evacuation.routes if evacuation is not None else None
        self.closed.data = self._lines(closed, ["name"])
        self.routes.data = self._lines(routes, ["name", "evacuees"])

    @staticmethod
    def _lines(frame, columns: list[str]) -> dict:
        if frame is None or frame.empty:
            return {"xs": [], "ys": [], **{c: [] for c in columns}}
        xs, ys = line_coordinates(_in_mercator(frame.geometry.to_numpy()))
        return {"xs": xs, "ys": ys, **{c: frame[c].tolist() for c in columns}}


def overlay_legend() -> str:
    """The legend of the closed roads and the routes, as the layer list writes legends."""
    return "".join(legend_html(key, "MultiLineString") for key in (CLOSED, ROUTES))
