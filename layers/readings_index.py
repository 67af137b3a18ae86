"""The cached readings of one kind, ordered so that a view finds its rows without scanning.

Within a kind the rows are ordered by (day, sensor, time), the sensors numbered along a Morton
curve, and each sensor's day (a cell) is kept summed: how many readings, their sum and their
largest. Readings lie where their sensors are, so a window's whole days are drawn from the sums
of the cells in view (7 × 2,000 for a week of 2,000 sensors, however many readings), exactly as
from the readings themselves; only the part-days at the window's ends are read reading by
reading. A view of one district picks the runs of its sensors' rows and cells: it never scans
the points outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layers.aggregation import ReadingQuery, Sums

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class KindColumns:
    """The readings of one kind, ordered by (day, sensor rank, time), with where each
    (day, rank) cell starts: rows of cell c are ``cells[c]:cells[c + 1]``, c = day * ranks + rank;
    and each cell's sum and largest reading (NaN: none). A reading lies at its sensor
    (``sensor_x[rank]``, ``sensor_y[rank]``).
    """

    value: np.ndarray
    t: np.ndarray  # µs since 1970, UTC
    rank: np.ndarray
    cells: np.ndarray
    cell_sum: np.ndarray  # float64, so that a window's sum is as exact as its readings'
    cell_max: np.ndarray
    first_day: int
    days: int
    sensor_x: np.ndarray  # by rank
    sensor_y: np.ndarray

    @property
    def ranks(self) -> int:
        """How many sensors the kind has: ranks run from 0 to one less."""
        return len(self.sensor_x)

    @property
    def nbytes(self) -> int:
        """The bytes the reading columns and the cell index take (the sensors' places aside)."""
        arrays = (self.value, self.t, self.rank, self.cells)
        return sum(a.nbytes for a in (*arrays, self.cell_sum, self.cell_max))


def build_columns(
    rank: np.ndarray,
    t: np.ndarray,
    value: np.ndarray,
    sensor_x: np.ndarray,
    sensor_y: np.ndarray,
    first_day: int | None = None,
) -> KindColumns:
    """Order one kind's readings and index their (day, rank) cells, from ``first_day`` (days
    since 1970; none: the first reading's).
    """
    day = t // DAY_US
    if first_day is None:
        first_day = int(day.min()) if len(day) else 0
    days = int(day.max()) - first_day + 1 if len(day) else 0
    cell = (day - first_day) * len(sensor_x) + rank
    order = np.argsort(cell * DAY_US + (t - day * DAY_US), kind="stable")
    counts = np.bincount(cell, minlength=days * len(sensor_x))
    cells = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ordered = value[order]
    cell_max = np.full(len(counts), np.nan, np.float32)
    filled = counts > 0
    if filled.any():
        cell_max[filled] = np.maximum.reduceat(ordered, cells[:-1][filled])
    return KindColumns(
        value=ordered,
        t=t[order],
        rank=rank[order],
        cells=cells,
        cell_sum=np.bincount(cell, weights=value, minlength=len(counts)),
        cell_max=cell_max,
        first_day=first_day,
        days=days,
        sensor_x=sensor_x,
        sensor_y=sensor_y,
    )


def morton_ranks(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each sensor's position along a Morton (Z-order) curve: near sensors, near numbers."""
    if not len(x):
        return np.zeros(0, np.int64)

    def scaled(v: np.ndarray) -> np.ndarray:
        span = max(float(v.max() - v.min()), 1e-9)
        return ((v - v.min()) / span * 65535).astype(np.uint64)

    code = np.zeros(len(x), np.uint64)
    sx, sy = scaled(x), scaled(y)
    for bit in range(16):
        code |= ((sx >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit)
        code |= ((sy >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + 1)
    return np.argsort(np.argsort(code, kind="stable"), kind="stable")


@dataclass(frozen=True)
class _Span:
    """The days a view's window touches (``start:end``, indices into a kind's days), those it
    holds whole (``whole_first:whole_end``), and the ranks of the sensors in its box, as runs
    of consecutive ranks (first and last of each).
    """

    start: int
    end: int
    whole_first: int
    whole_end: int
    run_first: np.ndarray
    run_last: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        """The ranks of the sensors in view."""
        return np.concatenate(
            [np.arange(a, b + 1) for a, b in zip(self.run_first, self.run_last, strict=True)]
        )


def _span(columns: KindColumns, query: ReadingQuery) -> _Span | None:
    """Which days and sensors a view needs; None when it needs none."""
    if not columns.days:
        return None
    start_day = max(query.start_us // DAY_US - columns.first_day, 0)
    end_day = min(-(-query.end_us // DAY_US) - columns.first_day, columns.days)  # exclusive
    if start_day >= end_day:
        return None
    xmin, ymin, xmax, ymax = query.box
    inside = np.flatnonzero(
        (columns.sensor_x >= xmin)
        & (columns.sensor_x <= xmax)
        & (columns.sensor_y >= ymin)
        & (columns.sensor_y <= ymax)
    )
    if not len(inside):
        return None
    breaks = np.flatnonzero(np.diff(inside) > 1)
    return _Span(
        start_day,
        end_day,
        max(-(-query.start_us // DAY_US) - columns.first_day, start_day),
        min(query.end_us // DAY_US - columns.first_day, end_day),
        inside[np.concatenate([[0], breaks + 1])],
        inside[np.concatenate([breaks, [len(inside) - 1]])],
    )


def rows_of(columns: KindColumns, query: ReadingQuery) -> list[np.ndarray]:
    """The readings a view needs one by one: those of its sensors on the window's part-days
    (two at most), in the window. Its whole days are summed per sensor (``days_of``).
    """
    span = _span(columns, query)
    if span is None:
        return []
    pieces = []
    for day in range(span.start, span.end):
        if not span.whole_first <= day < span.whole_end:
            rows = _day_rows(columns, day, span.run_first, span.run_last)
            t = columns.t[rows]
            pieces.append(rows[(t >= query.start_us) & (t < query.end_us)])
    return pieces


def days_of(columns: KindColumns, query: ReadingQuery) -> Sums:
    """The sums a view needs of its sensors' days wholly in the window: one row a sensor, from
    the counts, sums and largest readings of its cells.
    """
    span = _span(columns, query)
    if span is None or span.whole_first >= span.whole_end:
        return Sums.joined([])
    ranks = span.inside
    cell = np.arange(span.whole_first, span.whole_end)[:, None] * columns.ranks + ranks[None, :]
    count = (columns.cells[cell + 1] - columns.cells[cell]).sum(axis=0)
    had = count > 0
    return Sums(
        columns.sensor_x[ranks][had],
        columns.sensor_y[ranks][had],
        count[had],
        columns.cell_sum[cell].sum(axis=0)[had],
        np.fmax.reduce(columns.cell_max[cell], axis=0)[had],
    )


def part_days_of(columns: KindColumns, query: ReadingQuery) -> Sums:
    """The sums a view needs of its window's part-days: one row a sensor a day, from the
    readings themselves (``rows_of``), which come sensor by sensor.
    """
    pieces = [rows for rows in rows_of(columns, query) if len(rows)]
    if not pieces:
        return Sums.joined([])
    rows = np.concatenate(pieces)
    rank = columns.rank[rows]
    starts = np.flatnonzero(np.diff(rank, prepend=-1))
    value = columns.value[rows]
    return Sums(
        columns.sensor_x[rank[starts]],
        columns.sensor_y[rank[starts]],
        np.diff(starts, append=len(rows)),
        np.add.reduceat(value.astype(np.float64), starts),
        np.maximum.reduceat(value, starts),
    )


def _day_rows(
    columns: KindColumns, day: int, run_first: np.ndarray, run_last: np.ndarray
) -> np.ndarray:
    """The rows of the runs of sensors in view on ``day``."""
    starts = columns.cells[day * columns.ranks + run_first]
    stops = columns.cells[day * columns.ranks + run_last + 1]
    lengths = stops - starts
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(int(lengths.sum())) + offsets


def series_of(
    columns: KindColumns | None, rank: int, start_us: int, end_us: int
) -> tuple[np.ndarray, np.ndarray]:
    """The times and values of one sensor's readings in [start_us, end_us), in time order: its
    cell of each day, read without a scan.
    """
    if columns is None or not columns.days:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    first = max(start_us // DAY_US - columns.first_day, 0)
    end = min(-(-end_us // DAY_US) - columns.first_day, columns.days)
    cells = np.arange(first, max(end, first), dtype=np.int64) * columns.ranks + rank
    starts, stops = columns.cells[cells], columns.cells[cells + 1]
    lengths = stops - starts
    rows = np.arange(int(lengths.sum())) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    t = columns.t[rows]
    kept = (t >= start_us) & (t < end_us)
    return t[kept], columns.value[rows][kept]


def column_sums(columns: KindColumns | None, query: ReadingQuery) -> Sums:
    """What a view needs of the cached columns of its kind, summed at its sensors: their whole
    days from the cells' sums, their part-days from their readings.
    """
    if columns is None:
        return Sums.joined([])
    return Sums.joined([days_of(columns, query), part_days_of(columns, query)])
