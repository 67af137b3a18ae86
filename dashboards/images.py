"""Images on the map: grids covering a box, coloured in the page by a Bokeh colour mapper.

The dense layer's aggregates and the big vector views' style classes are drawn this one way.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColorMapper, ColumnDataSource, GlyphRenderer
from bokeh.plotting import figure

TRANSPARENT = (0, 0, 0, 0)
PLACE = ("x", "y", "dw", "dh")  # the box an image covers: its corner, width and height


def add_image(
    plot: figure, grids: tuple[str, ...], mapper: ColorMapper, name: str
) -> GlyphRenderer:
    """An empty image on ``plot``, coloured from its first grid; the others are there for the
    hover to show."""
    source = ColumnDataSource(no_image(grids))
    return plot.image(
        image=grids[0], **{p: p for p in PLACE}, source=source, color_mapper=mapper, name=name
    )


def no_image(grids: tuple[str, ...]) -> dict:
    return {column: [] for column in (*grids, *PLACE)}


def image_columns(box: tuple[float, float, float, float], **grids: np.ndarray) -> dict:
    """The columns of an image: each grid, row 0 at the box's bottom, covering ``box``."""
    xmin, ymin, xmax, ymax = box
    return {
        **{column: [grid] for column, grid in grids.items()},
        "x": [xmin],
        "y": [ymin],
        "dw": [xmax - xmin],
        "dh": [ymax - ymin],
    }
