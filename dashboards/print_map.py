"""The map as printed: layers drawn with matplotlib in EPSG:3794, for every PDF the product makes.

D96/TM's metres are the ground's (within 0.01 % across Slovenia), so a map drawn in them at a
stated size is at a stated scale, and its scale bar is right. The features come from the same
per-viewport queries as the dashboards, at the printed map's pixel size. A layer is drawn as the
screen draws it (``styles.toml``: a printed view), or by its style's ``print`` table where it has
one (the flood report's muted look); the readings layer, an image of the screen's pixels, is not
printed.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import Transformer
from sqlalchemy import Engine

from layers.queries import WEB_MERCATOR, Viewport, fetch_features
from layers.registry import LAYERS
from layers.spec import STORAGE_SRID, LayerSpec
from styles import class_colors, style

TO_MERCATOR = Transformer.from_crs(STORAGE_SRID, WEB_MERCATOR, always_xy=True)
# the screen's markers (Bokeh's names) as matplotlib draws them
MARKERS = {"circle": "o", "triangle": "^", "square": "s", "square_pin": "s", "diamond": "D"}
POINTS_PER_SCREEN_PX = 0.5  # line widths and marker sizes: a screen pixel is about 0.26 mm


def printed_layers(role: str) -> list[LayerSpec]:
    """The layers with a print style that ``role`` may see: those on the flood report's map."""
    return [s for s in LAYERS.values() if "print" in style(s.style_key) and role in s.roles]


def can_print(spec: LayerSpec) -> bool:
    """Whether ``spec`` can be drawn on paper: every layer of features (not the readings image)."""
    return spec.dense is None


def features_in(
    engine: Engine, spec: LayerSpec, box: tuple, role: str, part: str | None, width_px: int
) -> gpd.GeoDataFrame:
    """A layer's features in ``box`` (EPSG:3794) at the detail of a map ``width_px`` wide."""
    (x0, x1), (y0, y1) = TO_MERCATOR.transform([box[0], box[2]], [box[1], box[3]])
    frame = fetch_features(engine, spec, Viewport(x0, y0, x1, y1, width_px), role, part)
    return frame.to_crs(STORAGE_SRID)


def screen_look(spec: LayerSpec, frame: gpd.GeoDataFrame) -> dict:
    """matplotlib's arguments for drawing ``frame`` as the screen draws ``spec``."""
    look = style(spec.style_key)
    colours = class_colors(spec.style_key)
    fill = (
        frame[look["color_by"]].map(colours).fillna("#999999").tolist()
        if colours
        else look.get("fill_color", look.get("line_color", "#555555"))
    )
    line = look.get("line_color", "#555555")
    width = look.get("line_width", 1.0) * POINTS_PER_SCREEN_PX
    if spec.geometry == "Point":
        marker = MARKERS.get(look.get("marker", "circle"), "o")
        size = (look.get("size", 8) * POINTS_PER_SCREEN_PX) ** 2
        return {"color": fill, "marker": marker, "markersize": size, "edgecolor": line}
    if spec.geometry == "MultiLineString":
        return {"color": fill if colours else line, "linewidth": width * 1.5}
    return {
        "color": fill,
        "alpha": look.get("fill_alpha", 1.0),
        "edgecolor": line,
        "linewidth": width,
    }


def draw_layer(ax: Axes, spec: LayerSpec, frame: gpd.GeoDataFrame, as_on_screen: bool) -> list:
    """Draw one layer, as on screen or by its print style; return the legend handles its print
    style names (none for the others)."""
    entry = style(spec.style_key)
    if as_on_screen or "print" not in entry:
        frame.plot(ax=ax, **screen_look(spec, frame))
        return []
    printed = dict(entry["print"])
    by_class, sl, en = (
        printed.pop("by_class", False),
        printed.pop("sl", None),
        printed.pop("en", None),
    )
    if by_class:
        colours = class_colors(spec.style_key)
        values = frame[entry["color_by"]]
        frame.plot(ax=ax, color=values.map(colours), **printed)
        labels = {c["value"]: f"{c['sl']} · {c['en']}" for c in entry["classes"]}
        present = [c["value"] for c in entry["classes"] if c["value"] in set(values)]
        alpha = printed.get("alpha", 1.0)
        return [Patch(color=colours[v], alpha=alpha, label=labels[v]) for v in present]
    frame.plot(ax=ax, **printed)
    if sl is None:
        return []
    marker = printed.get("marker")
    return [
        Line2D([], [], color=printed["color"], marker=marker, linestyle="", label=f"{sl} · {en}")
    ]


def draw_map(
    ax: Axes,
    engine: Engine,
    specs: list[LayerSpec],
    box: tuple[float, float, float, float],
    role: str,
    part_of: Callable[[LayerSpec], str | None],
    width_px: int,
    as_on_screen: bool = False,
) -> list:
    """Draw ``specs`` in ``box`` (EPSG:3794) on ``ax`` with a scale bar and grid north, each
    as on screen or by its print style; return the legend handles of the print styles."""
    handles = []
    for spec in specs:
        frame = features_in(engine, spec, box, role, part_of(spec), width_px)
        if not frame.empty:
            handles += draw_layer(ax, spec, frame, as_on_screen)
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_artist(ScaleBar(1, "m", location="lower left", box_alpha=0.8))
    # grid north: D96/TM's, within a degree of true north anywhere in Slovenia
    ax.annotate(
        "S · N\n↑", xy=(0.97, 0.9), xycoords="axes fraction", ha="center", fontsize=11,
        weight="bold", bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0},
    )  # fmt: skip
    return handles
