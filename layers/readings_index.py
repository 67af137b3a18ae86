"""The cached readings of one kind, ordered so that a view finds its rows without scanning.

Within a kind the rows are ordered by (day, sensor, time), the sensors numbered along a Morton
curve. So the readings of whole days are one contiguous slice (no copy, whatever the window),
and a view of one district picks, per day, the runs of its sensors' rows: it never scans the
points outside it (when they are most of their span, the span is read whole and datashader
drops the rest: quicker than copying).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from layers.aggregation import AGGREGATORS, CORES, Aggregate, ReadingQuery, finish, grid, merge

DAY_US = 86_400_000_000
SPLIT_ROWS = 1_000_000  # fewer rows than this are not worth a second thread
GATHER_SHARE = 3  # rows in view are copied out only when they are under a third of their span


@dataclass(frozen=True)
class KindColumns:
    """The readings of one kind, ordered by (day, sensor rank, time), with where each
    (day, rank) cell starts: rows of cell c are ``cells[c]:cells[c + 1]``, c = day * ranks + rank.
    """

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    t: np.ndarray  # µs since 1970, UTC
    rank: np.ndarray
    cells: np.ndarray
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
        return sum(a.nbytes for a in (self.x, self.y, self.value, self.t, self.rank, self.cells))


def build_columns(
    rank: np.ndarray, t: np.ndarray, value: np.ndarray, sensor_x: np.ndarray, sensor_y: np.ndarray
) -> KindColumns:
    """Order one kind's readings and index their (day, rank) cells."""
    day = t // DAY_US
    first_day = int(day.min()) if len(day) else 0
    days = int(day.max()) - first_day + 1 if len(day) else 0
    cell = (day - first_day) * len(sensor_x) + rank
    order = np.argsort(cell * DAY_US + (t - day * DAY_US), kind="stable")
    counts = np.bincount(cell, minlength=days * len(sensor_x))
    cells = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return KindColumns(
        x=sensor_x[rank[order]],
        y=sensor_y[rank[order]],
        value=value[order],
        t=t[order],
        rank=rank[order],
        cells=cells,
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


def rows_of(columns: KindColumns, query: ReadingQuery) -> list[slice | np.ndarray]:
    """The rows a view needs, as few pieces as possible: a slice where they are contiguous
    (no copy), else the row numbers of the runs of the sensors in view.
    """
    if not columns.days:
        return []
    start_day = max(query.start_us // DAY_US - columns.first_day, 0)
    end_day = min(-(-query.end_us // DAY_US) - columns.first_day, columns.days)  # exclusive
    if start_day >= end_day:
        return []
    xmin, ymin, xmax, ymax = query.box
    inside = np.flatnonzero(
        (columns.sensor_x >= xmin)
        & (columns.sensor_x <= xmax)
        & (columns.sensor_y >= ymin)
        & (columns.sensor_y <= ymax)
    )
    if not len(inside):
        return []
    breaks = np.flatnonzero(np.diff(inside) > 1)
    run_first = inside[np.concatenate([[0], breaks + 1])]
    run_last = inside[np.concatenate([breaks, [len(inside) - 1]])]
    # days [whole_first, whole_end) lie wholly in the window; the others (two at most) in part
    whole_first = max(-(-query.start_us // DAY_US) - columns.first_day, start_day)
    whole_end = min(query.end_us // DAY_US - columns.first_day, end_day)
    pieces: list[slice | np.ndarray] = []
    if whole_first < whole_end:
        pieces.append(_cell_rows(columns, range(whole_first, whole_end), run_first, run_last))
    for day in range(start_day, end_day):
        if not whole_first <= day < whole_end:
            rows = _cell_rows(columns, range(day, day + 1), run_first, run_last)
            rows = _numbers(rows)
            t = columns.t[rows]
            pieces.append(rows[(t >= query.start_us) & (t < query.end_us)])
    return pieces


def _cell_rows(
    columns: KindColumns, days: range, run_first: np.ndarray, run_last: np.ndarray
) -> slice | np.ndarray:
    """The rows of the runs of sensors in view on consecutive ``days``."""
    days = np.asarray(days, np.int64)[:, None]
    starts = columns.cells[days * columns.ranks + run_first].ravel()
    stops = columns.cells[days * columns.ranks + run_last + 1].ravel()
    # runs that touch (one day's last sensor, the next day's first) join into one
    touching = starts[1:] == stops[:-1]
    starts = starts[np.concatenate([[True], ~touching])]
    stops = stops[np.concatenate([~touching, [True]])]
    lengths = stops - starts
    if lengths.sum() * GATHER_SHARE > stops[-1] - starts[0]:
        # most of the span is wanted: datashader skips the rows of the sensors out of view
        # quicker than their neighbours can be copied out
        return slice(int(starts[0]), int(stops[-1]))
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


def aggregate_columns(columns: KindColumns | None, query: ReadingQuery) -> Aggregate:
    """The aggregate datashader makes of a view over the cached columns of its kind."""
    return finish(column_grids(columns, query), query)


def column_grids(columns: KindColumns | None, query: ReadingQuery) -> dict[str, np.ndarray]:
    """The grids datashader makes of a view over the cached columns of its kind (``grid``)."""
    frames = [
        pd.DataFrame(
            {"x": columns.x[rows], "y": columns.y[rows], "value": columns.value[rows]}, copy=False
        )
        for rows in _parts(rows_of(columns, query) if columns else [])
    ]
    if not frames:
        frames = [pd.DataFrame({"x": [], "y": [], "value": []}, dtype=np.float32)]
    return merge(list(AGGREGATORS.map(lambda frame: grid(frame, query), frames)))


def _parts(pieces: list[slice | np.ndarray]) -> list[slice | np.ndarray]:
    """The rows to hand to datashader: a slice of many rows in one part per core, and the rows
    picked one by one in one part (a call costs a few ms however few its rows).
    """
    slices = [rows for rows in pieces if isinstance(rows, slice) and _size(rows)]
    picked = [rows for rows in pieces if not isinstance(rows, slice) and len(rows)]
    parts = [part for rows in slices for part in _split(rows)]
    return [*parts, np.concatenate(picked)] if picked else parts


def _size(rows: slice | np.ndarray) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


def _numbers(rows: slice | np.ndarray) -> np.ndarray:
    return np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows


def _split(rows: slice | np.ndarray) -> list[slice | np.ndarray]:
    """The rows in one part per core when there are many, else as they are."""
    if _size(rows) < SPLIT_ROWS:
        return [rows]
    bounds = np.linspace(0, _size(rows), CORES + 1).astype(np.int64)
    if isinstance(rows, slice):
        return [slice(rows.start + a, rows.start + b) for a, b in pairwise(bounds)]
    return [rows[a:b] for a, b in pairwise(bounds)]
