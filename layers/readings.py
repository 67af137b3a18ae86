"""The readings of a dense layer for the map: an in-memory columnar cache, topped up from PostGIS.

The cache holds every reading once per process, shared by all sessions, as numpy columns per
kind (``layers.readings_index``): place (EPSG:3857, float32), value, time. It is read from
PostGIS once and then topped up from a watermark, the newest load (catalogue id) it holds. A
load, or a batch of the live feed (``etl.listen``), commits its readings, which carry its id,
together with its record, and writers of readings take turns (``etl.readings`` locks the
table), so everything up to the watermark is in the cache and a pan never goes back to the
database. Each commit of readings is announced (``NOTIFY``), and the cache tops up at once.
The tables and columns come from the layer's ``Dense`` declaration.

With an archive of the readings set (``GIS_READINGS_ARCHIVE``, ``layers.readings_dask``), the
cache starts from the archive's newest load instead of the first, and each view and history adds
what the archive holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from sqlalchemy import Engine, text

from layers.aggregation import Aggregate, ReadingQuery, Sums, binned
from layers.catalog import NEW_READINGS, newest_ids
from layers.db import copied_rows
from layers.readings_index import (
    DAY_US,
    KindColumns,
    build_columns,
    column_sums,
    morton_ranks,
    series_of,
)
from layers.registry import layer
from layers.settings import read_settings
from layers.spec import LayerSpec

if TYPE_CHECKING:
    from layers.readings_dask import Held, ReadingArchive

log = logging.getLogger(__name__)

TOP_UP_SECONDS = 30  # the longest between two looks, whatever is announced
WAIT_SECONDS = 2  # how long a wait for news lasts before the stop is looked at again
CHUNK_BYTES = 64 << 20  # of CSV read from the database at a time


@dataclass(frozen=True)
class Snapshot:
    """What the cache holds at one moment; replaced whole, never changed, so readers need no lock."""

    kinds: dict[str, KindColumns]
    watermark: int  # the newest readings load held
    sensors_load: int  # the newest load of the sensor layer the places come from
    version: int = 0
    archived: Held | None = None  # what the archive held when this was read (none: no archive)
    # every place's id, label, kind, position and rank within its kind (``sensor_places``)
    places: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)

    @property
    def nbytes(self) -> int:
        """The bytes the columns of every kind take."""
        return sum(c.nbytes for c in self.kinds.values())


class ReadingCache:
    """The process's readings, shared by every session, topped up from the database."""

    def __init__(
        self, engine: Engine, spec: LayerSpec, archive: ReadingArchive | None = None
    ) -> None:
        self._engine, self.spec, self.archive = engine, spec, archive
        self._lock = threading.Lock()  # one top-up at a time; readers take the snapshot as is
        self.snapshot = Snapshot({}, 0, 0)
        self._sensors = pd.DataFrame()
        self.stopped = threading.Event()  # set to end the background top-up
        self.due = time.monotonic() + TOP_UP_SECONDS  # the next look, if nothing is announced

    def aggregate(self, query: ReadingQuery) -> Aggregate:
        """The view's aggregate over the readings the cache holds now (its current snapshot),
        and those of the archive it started from.
        """
        snapshot = self.snapshot
        sums = [column_sums(snapshot.kinds.get(query.kind), query)]
        if self.archive and snapshot.archived:
            sums.append(self.archive.sums(query, snapshot.archived))
        return binned(Sums.joined(sums), query)

    def first_us(self) -> int | None:
        """When the oldest reading held was taken (µs since 1970, UTC); none: no readings."""
        snapshot = self.snapshot
        firsts = [int(c.t.min()) for c in snapshot.kinds.values() if len(c.t)]
        if snapshot.archived and snapshot.archived.readings:
            firsts.append(snapshot.archived.first_us)
        return min(firsts, default=None)

    def places_of(self, kind: str) -> pd.DataFrame:
        """The places of ``kind``'s sensors (id, label, rank), in the order of their labels."""
        places = self.snapshot.places
        if places.empty:
            return places
        return places[places["kind"] == kind].sort_values("label")

    def series(
        self, kind: str, place: int, start: dt.datetime, end: dt.datetime
    ) -> tuple[np.ndarray, np.ndarray]:
        """The readings at ``place`` in [start, end): times (µs since 1970, UTC) and values."""
        snapshot = self.snapshot  # one snapshot: its places' ranks are its columns' ranks
        places = snapshot.places
        found = (
            places[(places["id"] == place) & (places["kind"] == kind)] if len(places) else places
        )
        if found.empty:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        start_us, end_us = int(start.timestamp() * 1e6), int(end.timestamp() * 1e6)
        t, value = series_of(snapshot.kinds.get(kind), int(found["rank"].iloc[0]), start_us, end_us)
        if not (self.archive and snapshot.archived):
            return t, value
        # a load after the export may hold older readings: the two are put in order together
        old_t, old_value = self.archive.series(kind, place, start_us, end_us, snapshot.archived)
        t, value = np.concatenate([old_t, t]), np.concatenate([old_value, value])
        order = np.argsort(t, kind="stable")
        return t[order], value[order]

    def top_up(self) -> bool:
        """Read the readings loaded since the watermark; True when there were any."""
        with self._lock:
            self.due = time.monotonic() + TOP_UP_SECONDS
            readings_load, sensors_load = newest_loads(self._engine, self.spec)
            archived = self.archive.held() if self.archive else None
            old = self.snapshot
            if (readings_load, sensors_load, archived) == (
                old.watermark,
                old.sensors_load,
                old.archived,
            ):
                return False
            started = time.perf_counter()
            if sensors_load != old.sensors_load:  # new places: read everything again
                self._sensors = sensor_places(self._engine, self.spec)
            if sensors_load != old.sensors_load or archived != old.archived:
                # read from the archive's newest load on (from the first, without an archive)
                floor = archived.readings_load if archived else 0
                old = Snapshot({}, floor, sensors_load, old.version, archived)
            new = readings_since(self._engine, self.spec, old.watermark, readings_load)
            kinds = dict(old.kinds)
            for kind, places in self._sensors.groupby("kind"):
                kinds[kind] = _extend(kinds.get(kind), places, new)
            self.snapshot = Snapshot(
                kinds, readings_load, sensors_load, old.version + 1, archived, self._sensors
            )
            log.info(
                "readings cache: %d new readings in %.2f s; %d MB held",
                len(new),
                time.perf_counter() - started,
                self.snapshot.nbytes >> 20,
            )
            return True

    def keep_fresh(self) -> None:
        """Top up whenever readings of the layer are announced, and every ``TOP_UP_SECONDS``
        in any case, until ``stopped`` is set.
        """
        while not self.stopped.is_set():
            try:
                with _listening(self._engine) as conn:
                    self.top_up()  # what was committed while nobody listened
                    while not self.stopped.is_set():
                        if _news(conn, self.spec.id) or time.monotonic() >= self.due:
                            self.top_up()
            except Exception:  # the database may be away; the next round tries again
                log.warning("readings cache: top-up failed", exc_info=True)
                self.stopped.wait(WAIT_SECONDS)


def newest_loads(engine: Engine, spec: LayerSpec) -> tuple[int, int]:
    """The newest catalogue ids of the readings' loads and of their places' loads."""
    return newest_ids(engine, spec.id, spec.dense.places)


def sensor_places(engine: Engine, spec: LayerSpec) -> pd.DataFrame:
    """Every place's number, label, kind, position in EPSG:3857 and rank within its kind."""
    places = layer(spec.dense.places)
    geom = f'"{places.geometry_column}"'
    with engine.connect() as conn:
        found = pd.read_sql(
            text(
                f'SELECT "{places.id_column}" AS id, "{places.label_field}" AS label,'  # noqa: S608 (registry names)
                f' "{spec.dense.kind_column}" AS kind,'
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
    """Readings of loads (after, upto]: sensor, time (µs since 1970, UTC) and value."""
    dense = spec.dense
    table = copied_rows(
        engine,
        f'SELECT "{dense.place_column}",'  # noqa: S608 (registry names; ids are int)
        f' (extract(epoch FROM "{dense.time_column}") * 1e6)::bigint, "{dense.value_column}"'
        f' FROM "{spec.load_table}" WHERE load_id > {int(after)} AND load_id <= {int(upto)}',
        {"sensor_id": pa.int64(), "t": pa.int64(), "value": pa.float64()},
        CHUNK_BYTES,
    )
    rows = table.to_pandas()
    del table
    # pyarrow keeps freed memory for reuse; a server that reads this once a minute gives it back
    pa.default_memory_pool().release_unused()
    return rows


def _extend(columns: KindColumns | None, places: pd.DataFrame, new: pd.DataFrame) -> KindColumns:
    """A kind's columns with ``new`` readings merged in; days before the new ones stay as they
    are, the rest is ordered again.
    """
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
    # (a day or more after the last held, the days between are held empty)
    first = min(max(int(t.min() // DAY_US) - columns.first_day, 0), columns.days)
    keep = int(columns.cells[first * columns.ranks])
    rebuilt = build_columns(
        np.concatenate([columns.rank[keep:], rank]),
        np.concatenate([columns.t[keep:], t]),
        np.concatenate([columns.value[keep:], value]),
        sensor_x,
        sensor_y,
        columns.first_day + first if first else None,
    )
    if keep == 0:
        return rebuilt
    kept_cells = first * columns.ranks
    return replace(
        rebuilt,
        value=np.concatenate([columns.value[:keep], rebuilt.value]),
        t=np.concatenate([columns.t[:keep], rebuilt.t]),
        rank=np.concatenate([columns.rank[:keep], rebuilt.rank]),
        cells=np.concatenate([columns.cells[:kept_cells], rebuilt.cells + keep]),
        cell_sum=np.concatenate([columns.cell_sum[:kept_cells], rebuilt.cell_sum]),
        cell_max=np.concatenate([columns.cell_max[:kept_cells], rebuilt.cell_max]),
        first_day=columns.first_day,
        days=first + rebuilt.days,
    )


# one per database and layer, for the process: keyed by the engine and the spec themselves
CACHES: dict[tuple[Engine, LayerSpec], ReadingCache] = {}
CACHES_LOCK = threading.Lock()


def reading_cache(engine: Engine, spec: LayerSpec) -> ReadingCache:
    """The process's cache of ``spec``'s readings, filled now and topped up by a background
    thread until ``stop_reading_caches``: at once when readings are committed (the ETL and the
    live feed announce them, ``NEW_READINGS``), and every ``TOP_UP_SECONDS`` in any case.
    """
    with CACHES_LOCK:
        if (engine, spec) in CACHES:
            return CACHES[engine, spec]
        cache_ = ReadingCache(engine, spec, _archive(spec))
        cache_.top_up()  # if the database is away, this raises and the next call tries again
        CACHES[engine, spec] = cache_
    threading.Thread(target=cache_.keep_fresh, name="readings-top-up", daemon=True).start()
    return cache_


def _archive(spec: LayerSpec) -> ReadingArchive | None:
    """The archive of ``spec``'s readings the settings name, aggregated on their Dask cluster."""
    settings = read_settings()
    if not settings.readings_archive:
        return None
    # Dask only when an archive is set: a server without one never imports it
    from layers.readings_dask import ReadingArchive, cluster

    return ReadingArchive(settings.readings_archive / spec.id, cluster(settings.dask_scheduler))


def _listening(engine: Engine) -> psycopg.Connection:
    """A connection of its own (not the pool's) that hears the announcements of new readings."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(url, autocommit=True, application_name="readings-top-up")
    conn.execute(f"LISTEN {NEW_READINGS}")
    return conn


def _news(conn: psycopg.Connection, layer: str) -> bool:
    """Whether readings of ``layer`` were announced within ``WAIT_SECONDS``."""
    return any(n.payload == layer for n in conn.notifies(timeout=WAIT_SECONDS, stop_after=1))


def stop_reading_caches() -> None:
    """Stop topping up and forget every cache (before its database goes away, as in tests)."""
    with CACHES_LOCK:
        for cache_ in CACHES.values():
            cache_.stopped.set()
        CACHES.clear()
