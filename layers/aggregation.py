"""datashader's aggregation of one view of a dense layer: the query, the grids, the image.

One pipeline for every dense layer: the rows a view needs are handed to datashader (a big slice
in one part per core: its kernels release the GIL) and the grids of the parts are merged. A view
drawn as an image is spread so that lone sensors stay visible. A colour map is not a stage here:
the browser colours the pixels, so changing it costs no aggregation.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import datashader as ds
import numpy as np
from datashader.reductions import _sum_zero
from scipy.ndimage import maximum_filter

from layers.sensor_kinds import AGGREGATES

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

CORES = os.cpu_count() or 1
# shared by every session: at most one aggregation thread per core, however many pan at once
AGGREGATORS = ThreadPoolExecutor(CORES, thread_name_prefix="readings-aggregate")


@dataclass(frozen=True)
class ReadingQuery:
    """One view of one kind: a time window [start, end) in µs since 1970 (UTC), a box in
    EPSG:3857 and a canvas of width × height pixels, aggregated by ``how``.
    """

    kind: str
    start_us: int
    end_us: int
    box: tuple[float, float, float, float]
    width: int
    height: int
    how: str = "mean"

    def __post_init__(self) -> None:
        if self.how not in AGGREGATES:
            raise ValueError(f"aggregate {self.how!r} not in {AGGREGATES}")


@dataclass(frozen=True)
class Aggregate:
    """The grid of a view: ``value`` (the aggregate; NaN where nothing was read) and ``count``,
    row 0 at the bottom (``box``'s ymin), and how many readings went into it.
    """

    value: np.ndarray
    count: np.ndarray
    box: tuple[float, float, float, float]
    readings: int


def canvas(query: ReadingQuery) -> ds.Canvas:
    """The datashader canvas of a view: its box, and its width and height in pixels."""
    xmin, ymin, xmax, ymax = query.box
    return ds.Canvas(query.width, query.height, x_range=(xmin, xmax), y_range=(ymin, ymax))


def reduction(how: str) -> ds.summary:
    """What datashader sums per pixel: always the count (hover shows it), and what ``how`` needs."""
    if how == "count":
        return ds.summary(count=ds.count())
    if how == "mean":
        # the sum datashader's own mean is built from: it starts at 0 where ds.sum starts at NaN
        # and tests each pixel for it, a third slower per reading. Private, so datashader's
        # version is capped in pyproject.toml and tests compare the result with sums by hand.
        return ds.summary(count=ds.count(), sum=_sum_zero("value"))
    return ds.summary(count=ds.count(), max=ds.max("value"))


def grid(frame: pd.DataFrame | dd.DataFrame, query: ReadingQuery) -> dict[str, np.ndarray]:
    """The grids datashader makes of ``frame`` (pandas or Dask; x, y, value) for ``query``."""
    found = canvas(query).points(frame, "x", "y", agg=reduction(query.how))
    return {name: found[name].to_numpy() for name in found.data_vars}


def day_grid(frame: pd.DataFrame, query: ReadingQuery) -> dict[str, np.ndarray]:
    """The grids of sensors' days (x, y and the count, sum and largest of each day's readings):
    the same as ``grid`` of the readings themselves, from one row a sensor a day.
    """
    parts = {"count": ds.sum("count")}
    if query.how == "mean":
        parts["sum"] = ds.sum("sum")
    if query.how == "max":
        parts["max"] = ds.max("max")
    found = canvas(query).points(frame, "x", "y", agg=ds.summary(**parts))
    grids = {name: found[name].to_numpy() for name in found.data_vars}
    for name in ("count", "sum"):  # ds.sum is NaN where nothing lies; ds.count is 0
        if name in grids:
            grids[name] = np.nan_to_num(grids[name])
    return grids


def merge(grids: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Grids of parts of the same view as one: counts and sums add, maxima take the larger."""
    merged = dict(grids[0])
    for more in grids[1:]:
        merged["count"] = merged["count"] + more["count"]
        if "sum" in merged:
            merged["sum"] = merged["sum"] + more["sum"]
        if "max" in merged:
            merged["max"] = np.fmax(merged["max"], more["max"])
    return merged


def finish(grids: dict[str, np.ndarray], query: ReadingQuery) -> Aggregate:
    """The value and count images of a view."""
    count = grids["count"].astype(np.float32)
    if query.how == "count":
        value = count.copy()
    elif query.how == "mean":
        value = (grids["sum"] / np.where(count > 0, count, 1)).astype(np.float32)
    else:
        value = grids["max"].astype(np.float32)
    value[count == 0] = np.nan
    return Aggregate(value, count, query.box, int(count.sum()))


def spread(found: Aggregate, px: int) -> Aggregate:
    """``found`` with each pixel within ``px`` (a square) of drawn ones given their largest value
    and count, so that lone sensors stay visible in an image.
    """
    value, count = _spread(found.value, found.count, px)
    value[count == 0] = np.nan
    return Aggregate(value, count, found.box, found.readings)


def _spread(value: np.ndarray, count: np.ndarray, px: int) -> tuple[np.ndarray, np.ndarray]:
    """The spread grids: each stamped sensor by sensor where few pixels are drawn.

    Readings lie where their sensors are, so few pixels are drawn (one per sensor in view at
    most): each is stamped onto its square with ``np.maximum.at``, a ms or two. Where that would
    be more work than a pass over the canvas, scipy's separable maximum filter does it (~10 ms).
    """
    size = 2 * px + 1
    rows, cols = np.nonzero(count)
    if len(rows) * size * size > count.size:
        value = np.where(count > 0, value, -np.inf).astype(np.float32)
        value = maximum_filter(value, size=size, mode="constant", cval=-np.inf)
        return value, maximum_filter(count, size=size, mode="constant", cval=0)
    shift = np.arange(-px, px + 1)
    to_row = (rows[:, None, None] + shift[None, :, None]).repeat(size, axis=2).ravel()
    to_col = (cols[:, None, None] + shift[None, None, :]).repeat(size, axis=1).ravel()
    source = np.arange(len(rows)).repeat(size * size)
    height, width = count.shape
    inside = (to_row >= 0) & (to_row < height) & (to_col >= 0) & (to_col < width)
    to, source = (to_row[inside], to_col[inside]), source[inside]
    spread_value = np.full_like(value, -np.inf)
    spread_count = np.zeros_like(count)
    np.maximum.at(spread_value, to, value[rows, cols][source])
    np.maximum.at(spread_count, to, count[rows, cols][source])
    return spread_value, spread_count
