"""Sensor readings for the map: an in-memory columnar cache, and datashader's aggregation of it.

The cache holds every reading once per process, shared by all sessions, as numpy columns per
sensor kind: place (EPSG:3857, float32), value, time. It is read from PostGIS once and then
topped up from a watermark, the newest load (catalogue id) it holds: a load commits its readings
and its catalogue row together, and loads take turns (etl/readings.py locks the table), so
everything up to the watermark is in the cache and a pan never goes back to the database.

Within a kind the rows are ordered by (day, sensor, time), the sensors numbered along a Morton
curve. So the readings of whole days are one contiguous slice (no copy, whatever the window),
and a view of one district picks, per day, the runs of its sensors' rows: it never scans the
points outside it (when they are most of their span, the span is read whole and datashader
drops the rest: quicker than copying). ``aggregate`` hands those rows to datashader, a big
slice in one part per core (its kernels release the GIL), and merges the grids.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise

import datashader as ds
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from datashader.reductions import _sum_zero
from scipy.ndimage import maximum_filter
from sqlalchemy import Engine, text

from layers.registry import layer
from layers.sensor_kinds import AGGREGATES
from layers.spec import LayerSpec

log = logging.getLogger(__name__)

DAY_US = 86_400_000_000
TOP_UP_SECONDS = 30  # new readings show within a minute
CORES = os.cpu_count() or 1
CHUNK_BYTES = 64 << 20  # of CSV read from the database at a time
SPLIT_ROWS = 1_000_000  # fewer rows than this are not worth a second thread
GATHER_SHARE = 3  # rows in view are copied out only when they are under a third of their span
# shared by every session: at most one aggregation thread per core, however many pan at once
AGGREGATORS = ThreadPoolExecutor(CORES, thread_name_prefix="readings-aggregate")


@dataclass(frozen=True)
class ReadingQuery:
    """One view of one kind: a time window [start, end) in µs since 1970 (UTC), a box in
    EPSG:3857 and a canvas of width × height pixels, aggregated by ``how``."""

    kind: str
    start_us: int
    end_us: int
    box: tuple[float, float, float, float]
    width: int
    height: int
    how: str = "mean"
    spread_px: int = 0

    def __post_init__(self) -> None:
        if self.how not in AGGREGATES:
            raise ValueError(f"aggregate {self.how!r} not in {AGGREGATES}")


@dataclass(frozen=True)
class Aggregate:
    """The grid of a view: ``value`` (the aggregate; NaN where nothing was read) and ``count``,
    row 0 at the bottom (``box``'s ymin), and how many readings went into it."""

    value: np.ndarray
    count: np.ndarray
    box: tuple[float, float, float, float]
    readings: int


def canvas(query: ReadingQuery) -> ds.Canvas:
    xmin, ymin, xmax, ymax = query.box
    return ds.Canvas(query.width, query.height, x_range=(xmin, xmax), y_range=(ymin, ymax))


def reduction(how: str):
    """What datashader sums per pixel: always the count (hover shows it), and what ``how`` needs."""
    if how == "count":
        return ds.summary(count=ds.count())
    if how == "mean":
        # the sum datashader's own mean is built from: it starts at 0 where ds.sum starts at NaN
        # and tests each pixel for it, a third slower per reading. Private, so datashader's
        # version is capped in pyproject.toml and tests compare the result with sums by hand.
        return ds.summary(count=ds.count(), sum=_sum_zero("value"))
    return ds.summary(count=ds.count(), max=ds.max("value"))


def grid(frame, query: ReadingQuery) -> dict[str, np.ndarray]:
    """datashader's grids of ``frame`` (pandas or Dask, columns x, y, value) for ``query``."""
    found = canvas(query).points(frame, "x", "y", agg=reduction(query.how))
    return {name: found[name].to_numpy() for name in found.data_vars}


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
    """The value and count images of a view, spread so that lone sensors stay visible."""
    count = grids["count"].astype(np.float32)
    if query.how == "count":
        value = count.copy()
    elif query.how == "mean":
        value = (grids["sum"] / np.where(count > 0, count, 1)).astype(np.float32)
    else:
        value = grids["max"].astype(np.float32)
    readings = int(count.sum())
    if query.spread_px:
        value, count = _spread(value, count, query.spread_px)
    value[count == 0] = np.nan
    return Aggregate(value, count, query.box, readings)


def _spread(value: np.ndarray, count: np.ndarray, px: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel within ``px`` (a square) of drawn ones takes their largest value and count, so
    that lone sensors stay visible.

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


@dataclass(frozen=True)
class KindColumns:
    """The readings of one kind, ordered by (day, sensor rank, time), with where each
    (day, rank) cell starts: rows of cell c are ``cells[c]:cells[c + 1]``, c = day * ranks + rank."""

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
        return len(self.sensor_x)

    @property
    def nbytes(self) -> int:
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
    (no copy), else the row numbers of the runs of the sensors in view."""
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


def _cell_rows(columns: KindColumns, days: range, run_first, run_last) -> slice | np.ndarray:
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


def aggregate_columns(columns: KindColumns | None, query: ReadingQuery) -> Aggregate:
    """datashader's aggregate of a view over the cached columns of its kind."""
    frames = [
        pd.DataFrame(
            {"x": columns.x[rows], "y": columns.y[rows], "value": columns.value[rows]}, copy=False
        )
        for rows in _parts(rows_of(columns, query) if columns else [])
    ]
    if not frames:
        frames = [pd.DataFrame({"x": [], "y": [], "value": []}, dtype=np.float32)]
    return finish(merge(list(AGGREGATORS.map(lambda frame: grid(frame, query), frames))), query)


def _parts(pieces: list[slice | np.ndarray]) -> list[slice | np.ndarray]:
    """The rows to hand to datashader: a slice of many rows in one part per core, and the rows
    picked one by one in one part (a call costs a few ms however few its rows)."""
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


@dataclass(frozen=True)
class Snapshot:
    """What the cache holds at one moment; replaced whole, never changed, so readers need no lock."""

    kinds: dict[str, KindColumns]
    watermark: int  # the newest readings load held
    sensors_load: int  # the newest load of the sensor layer the places come from
    version: int = 0

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.kinds.values())


class ReadingCache:
    """The process's readings, shared by every session, topped up from the database."""

    def __init__(self, engine: Engine, spec: LayerSpec) -> None:
        self._engine, self.spec = engine, spec
        self._lock = threading.Lock()  # one top-up at a time; readers take the snapshot as is
        self.snapshot = Snapshot({}, 0, 0)
        self._sensors = pd.DataFrame()
        self.stopped = threading.Event()  # set to end the background top-up

    def aggregate(self, query: ReadingQuery) -> Aggregate:
        return aggregate_columns(self.snapshot.kinds.get(query.kind), query)

    def top_up(self) -> bool:
        """Read the readings loaded since the watermark; True when there were any."""
        with self._lock:
            readings_load, sensors_load = newest_loads(self._engine, self.spec)
            old = self.snapshot
            if readings_load == old.watermark and sensors_load == old.sensors_load:
                return False
            started = time.perf_counter()
            if sensors_load != old.sensors_load:  # new places: read everything again
                self._sensors = sensor_places(self._engine, self.spec)
                old = Snapshot({}, 0, sensors_load, old.version)
            new = readings_since(self._engine, self.spec, old.watermark, readings_load)
            kinds = dict(old.kinds)
            for kind, places in self._sensors.groupby("kind"):
                kinds[kind] = _extend(kinds.get(kind), places, new)
            self.snapshot = Snapshot(kinds, readings_load, sensors_load, old.version + 1)
            log.info(
                "readings cache: %d new readings in %.2f s; %d MB held",
                len(new),
                time.perf_counter() - started,
                self.snapshot.nbytes >> 20,
            )
            return True


def newest_loads(engine: Engine, spec: LayerSpec) -> tuple[int, int]:
    """The newest catalogue ids of the readings' loads and of their places' loads."""
    query = text(
        "SELECT coalesce(max(id) FILTER (WHERE layer = :readings), 0),"
        " coalesce(max(id) FILTER (WHERE layer = :places), 0) FROM dataset_load"
    )
    with engine.connect() as conn:
        row = conn.execute(query, {"readings": spec.id, "places": spec.dense.places}).one()
    return int(row[0]), int(row[1])


def sensor_places(engine: Engine, spec: LayerSpec) -> pd.DataFrame:
    """Every place's number, kind, position in EPSG:3857 and rank within its kind."""
    places = layer(spec.dense.places)
    geom = f'"{places.geometry_column}"'
    with engine.connect() as conn:
        found = pd.read_sql(
            text(
                f'SELECT "{places.id_column}" AS id, "{spec.dense.kind_column}" AS kind,'  # noqa: S608 (registry names)
                f" ST_X(ST_Transform({geom}, 3857)) AS x, ST_Y(ST_Transform({geom}, 3857)) AS y"
                f' FROM "{places.load_table}"'
            ),
            conn,
        )
    found["rank"] = 0
    for _, rows in found.groupby("kind"):
        found.loc[rows.index, "rank"] = morton_ranks(rows["x"].to_numpy(), rows["y"].to_numpy())
    return found.sort_values(["kind", "rank"]).reset_index(drop=True)


def readings_since(engine: Engine, spec: LayerSpec, after: int, upto: int) -> pd.DataFrame:
    """Readings of loads (after, upto], through COPY as CSV parsed by pyarrow (the fastest way
    to move millions of rows out of PostgreSQL here), a chunk at a time so that the text of all
    of them is never held at once."""
    dense = spec.dense
    chunks, buffer = [], io.BytesIO()
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        query = (
            f'COPY (SELECT "{dense.place_column}",'  # noqa: S608 (registry names; ids are int)
            f' (extract(epoch FROM "{dense.time_column}") * 1e6)::bigint, "{dense.value_column}"'
            f' FROM "{spec.load_table}" WHERE load_id > {int(after)} AND load_id <= {int(upto)})'
            " TO STDOUT WITH (FORMAT csv)"
        )
        with cursor.copy(query) as copy:
            for block in copy:  # a row a block
                buffer.write(block)
                if buffer.tell() >= CHUNK_BYTES:
                    chunks.append(_parse_readings(buffer))
                    buffer = io.BytesIO()
    chunks.append(_parse_readings(buffer))
    # pyarrow keeps freed memory for reuse; a server that reads this once a minute gives it back
    pa.default_memory_pool().release_unused()
    return pd.concat(chunks, ignore_index=True)


def _parse_readings(buffer: io.BytesIO) -> pd.DataFrame:
    if not buffer.tell():
        return pd.DataFrame(
            {"sensor_id": np.zeros(0, np.int64), "t": np.zeros(0, np.int64), "value": []}
        )
    buffer.seek(0)
    table = pacsv.read_csv(
        buffer, read_options=pacsv.ReadOptions(column_names=["sensor_id", "t", "value"])
    )
    return table.to_pandas()


def _extend(columns: KindColumns | None, places: pd.DataFrame, new: pd.DataFrame) -> KindColumns:
    """A kind's columns with ``new`` readings merged in; days before the new ones stay as they
    are, the rest is ordered again."""
    index = pd.Series(places["rank"].to_numpy(), index=places["id"].to_numpy())
    mine = new[new["sensor_id"].isin(index.index)]
    rank = index.reindex(mine["sensor_id"].to_numpy()).to_numpy(np.int16)
    t = mine["t"].to_numpy(np.int64)
    value = mine["value"].to_numpy(np.float32)
    ordered = places.sort_values("rank")
    sensor_x, sensor_y = ordered["x"].to_numpy(np.float32), ordered["y"].to_numpy(np.float32)
    if columns is None or not len(columns.t):
        return build_columns(rank, t, value, sensor_x, sensor_y)
    if not len(t):
        return columns
    # rows from the first day the new readings touch onwards are ordered again with them
    first = max(int(t.min() // DAY_US) - columns.first_day, 0)
    keep = int(columns.cells[first * columns.ranks])
    rebuilt = build_columns(
        np.concatenate([columns.rank[keep:], rank]),
        np.concatenate([columns.t[keep:], t]),
        np.concatenate([columns.value[keep:], value]),
        sensor_x,
        sensor_y,
    )
    if keep == 0:
        return rebuilt
    return replace(
        rebuilt,
        x=np.concatenate([columns.x[:keep], rebuilt.x]),
        y=np.concatenate([columns.y[:keep], rebuilt.y]),
        value=np.concatenate([columns.value[:keep], rebuilt.value]),
        t=np.concatenate([columns.t[:keep], rebuilt.t]),
        rank=np.concatenate([columns.rank[:keep], rebuilt.rank]),
        cells=np.concatenate([columns.cells[: first * columns.ranks], rebuilt.cells + keep]),
        first_day=columns.first_day,
        days=first + rebuilt.days,
    )


# one per database and layer, for the process: keyed by the engine and the spec themselves
CACHES: dict[tuple[Engine, LayerSpec], ReadingCache] = {}
CACHES_LOCK = threading.Lock()


def reading_cache(engine: Engine, spec: LayerSpec) -> ReadingCache:
    """The process's cache of ``spec``'s readings, filled now and topped up every
    ``TOP_UP_SECONDS`` by a background thread until ``stop_reading_caches``."""
    with CACHES_LOCK:
        if (engine, spec) in CACHES:
            return CACHES[engine, spec]
        cache_ = ReadingCache(engine, spec)
        cache_.top_up()  # if the database is away, this raises and the next call tries again
        CACHES[engine, spec] = cache_

    def keep_fresh() -> None:
        while not cache_.stopped.wait(TOP_UP_SECONDS):
            try:
                cache_.top_up()
            except Exception:  # the database may be away; the next round tries again
                log.warning("readings cache: top-up failed", exc_info=True)

    threading.Thread(target=keep_fresh, name="readings-top-up", daemon=True).start()
    return cache_


def stop_reading_caches() -> None:
    """Stop topping up and forget every cache (before its database goes away, as in tests)."""
    with CACHES_LOCK:
        for cache_ in CACHES.values():
            cache_.stopped.set()
        CACHES.clear()
