"""One view of a dense layer: the readings summed where they were taken, binned on datashader's
grid of the view, as the drawn pixels only.

Readings lie where their sensors are, so a view first sums them per sensor (``Sums``: a few
thousand rows whatever the readings), then puts each sensor on the pixel datashader's points
would put it on, by the canvas's own axes: exactly what datashader gives over every reading
(``datashaded``, the tests' reference and the benchmarks' baseline), without the canvas-wide
grids that cost some 25 ms a view however few sensors it holds. A view drawn as an image is
spread so that lone sensors stay visible. A colour map is not a stage here: the browser colours
the pixels, so changing it costs no aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import datashader as ds
import numpy as np
from datashader.reductions import _sum_zero
from scipy.ndimage import maximum_filter

from layers.sensor_kinds import AGGREGATES

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd


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
class Sums:
    """Readings summed at places: each row a place (x, y in EPSG:3857) with how many readings
    were taken there, their sum and the largest. A place may come in several rows (its days, the
    cache's and the archive's): binning adds them.
    """

    x: np.ndarray
    y: np.ndarray
    count: np.ndarray
    sum: np.ndarray  # float64, so that a window's sum is as exact as its readings'
    max: np.ndarray

    @classmethod
    def of_readings(cls, x: np.ndarray, y: np.ndarray, value: np.ndarray) -> Sums:
        """Readings one by one, each a row of its own."""
        return cls(x, y, np.ones(len(value), np.int64), value.astype(np.float64), value)

    @classmethod
    def joined(cls, parts: list[Sums]) -> Sums:
        """The rows of every part."""
        if not parts:
            return cls.of_readings(*(np.zeros(0, np.float32),) * 3)
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


@dataclass(frozen=True)
class Aggregate:
    """The drawn pixels of a view: their flat indices into its canvas (row by row, row 0 at the
    bottom: ``box``'s ymin), ascending, with each one's aggregate and count; the canvas's height
    and width, and how many readings went into it.
    """

    pixels: np.ndarray
    value: np.ndarray
    count: np.ndarray
    shape: tuple[int, int]
    box: tuple[float, float, float, float]
    readings: int

    def grids(self) -> tuple[np.ndarray, np.ndarray]:
        """The value (NaN where nothing is drawn) and the count of every pixel of the canvas."""
        value = np.full(self.shape, np.nan, np.float32)
        count = np.zeros(self.shape, np.float32)
        value.flat[self.pixels], count.flat[self.pixels] = self.value, self.count
        return value, count


def canvas(query: ReadingQuery) -> ds.Canvas:
    """The datashader canvas of a view: its box, and its width and height in pixels."""
    xmin, ymin, xmax, ymax = query.box
    return ds.Canvas(query.width, query.height, x_range=(xmin, xmax), y_range=(ymin, ymax))


def binned(sums: Sums, query: ReadingQuery) -> Aggregate:
    """The drawn pixels of a view from ``sums``: each row on the pixel datashader's points put
    it on (the canvas's axes' scale and translate, truncated; the box's far edges in its last
    pixels; rows outside the box dropped), and the rows of each pixel added.
    """
    xmin, ymin, xmax, ymax = query.box
    axes = canvas(query)
    x, y = sums.x.astype(np.float64), sums.y.astype(np.float64)  # as datashader's kernel does
    inside = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
    sx, tx = axes.x_axis.compute_scale_and_translate((xmin, xmax), query.width)
    sy, ty = axes.y_axis.compute_scale_and_translate((ymin, ymax), query.height)
    col = np.minimum((x[inside] * sx + tx).astype(np.int64), query.width - 1)
    row = np.minimum((y[inside] * sy + ty).astype(np.int64), query.height - 1)
    pixel = row * query.width + col
    order = np.argsort(pixel, kind="stable")
    pixel, rows = pixel[order], inside[order]
    starts = np.flatnonzero(np.diff(pixel, prepend=-1))
    return _drawn(
        query,
        pixel[starts],
        np.add.reduceat(sums.count[rows], starts),
        np.add.reduceat(sums.sum[rows], starts),
        np.fmax.reduceat(sums.max[rows], starts),
    )


def datashaded(frame: pd.DataFrame | dd.DataFrame, query: ReadingQuery) -> Aggregate:
    """What datashader's points give over every reading of ``frame`` (x, y, value; pandas or
    Dask), as drawn pixels: what ``binned`` must give, and the baseline it is measured against.
    """
    if query.how == "count":
        reduction = ds.summary(count=ds.count())
    elif query.how == "mean":
        # the sum datashader's own mean is built from: it starts at 0 where ds.sum starts at NaN
        # and tests each pixel for it, a third slower per reading. Private, so datashader's
        # version is capped in pyproject.toml.
        reduction = ds.summary(count=ds.count(), sum=_sum_zero("value"))
    else:
        reduction = ds.summary(count=ds.count(), max=ds.max("value"))
    found = canvas(query).points(frame, "x", "y", agg=reduction)
    pixels = np.flatnonzero(found["count"].to_numpy())
    drawn = {name: found[name].to_numpy().ravel()[pixels] for name in found.data_vars}
    return _drawn(query, pixels, drawn["count"], drawn.get("sum"), drawn.get("max"))


def _drawn(
    query: ReadingQuery,
    pixels: np.ndarray,
    count: np.ndarray,
    total: np.ndarray | None,
    largest: np.ndarray | None,
) -> Aggregate:
    """The aggregate of a view's drawn ``pixels`` from each one's count of readings, their sum
    and their largest (of the last two, what ``query.how`` needs).
    """
    if query.how == "count":
        value = count
    elif query.how == "mean":
        value = total / count
    else:
        value = largest
    return Aggregate(
        pixels,
        value.astype(np.float32),
        count.astype(np.float32),
        (query.height, query.width),
        query.box,
        int(count.sum()),
    )


def spread(found: Aggregate, px: int) -> tuple[np.ndarray, np.ndarray]:
    """The value and count grids of ``found`` with each pixel within ``px`` (a square) of drawn
    ones given their largest value and count, so that lone sensors stay visible in an image.

    Few pixels are drawn (one per sensor in view at most): each is stamped onto its square with
    ``np.maximum.at``, a ms or two. Where that would be more work than a pass over the canvas,
    scipy's separable maximum filter does it (~10 ms).
    """
    size = 2 * px + 1
    height, width = found.shape
    if len(found.pixels) * size * size > height * width:
        value, count = found.grids()
        value = np.where(count > 0, value, -np.inf).astype(np.float32)
        value = maximum_filter(value, size=size, mode="constant", cval=-np.inf)
        count = maximum_filter(count, size=size, mode="constant", cval=0)
    else:
        rows, cols = np.divmod(found.pixels, width)
        shift = np.arange(-px, px + 1)
        to_row = (rows[:, None, None] + shift[None, :, None]).repeat(size, axis=2).ravel()
        to_col = (cols[:, None, None] + shift[None, None, :]).repeat(size, axis=1).ravel()
        source = np.arange(len(rows)).repeat(size * size)
        inside = (to_row >= 0) & (to_row < height) & (to_col >= 0) & (to_col < width)
        to, source = (to_row[inside], to_col[inside]), source[inside]
        value = np.full(found.shape, -np.inf, np.float32)
        count = np.zeros(found.shape, np.float32)
        np.maximum.at(value, to, found.value[source])
        np.maximum.at(count, to, found.count[source])
    value[count == 0] = np.nan
    return value, count
