"""Past one machine: a dense layer's readings archived as Parquet and aggregated on Dask.

``python -m etl export-readings FOLDER`` writes every reading of a dense layer as a new version
of its archive, ``FOLDER/<layer>/<version>``, partitioned by kind and month (hive style:
``kind=pm10/month=2026-11``):

- ``readings/``: each reading, its place (EPSG:3857, float32), value, time and sensor, ordered by
  day and sensor, so that a window's first and last days and one sensor's history read few row
  groups;
- ``days/``: each sensor's day summed: how many readings, their sum and their largest. A year of
  100 M readings from 2,000 sensors is some 730,000 of them;
- ``FOLDER/<layer>/archive.json``, written last: the version in use, the newest load it holds,
  and the span of its readings. So a server never reads an export half written; the version
  before is kept for the views under way, and removed by the next export.

With ``GIS_READINGS_ARCHIVE`` (the FOLDER) and ``GIS_DASK_SCHEDULER`` (``tcp://host:8786``) set,
the server's cache (``layers.readings``) holds only the readings loaded after the archive's, and
a view's aggregate adds the archive's, computed on that cluster: the window's whole days from the
day sums, its first and last part-days from the readings. Counts, sums and maxima add exactly, so
the map shows what one cache of every reading would.

When to use it: the cache holds about 14 bytes a reading, so 10 million take some 140 MB; past a
few hundred million, archive the older readings, and export again now and then (the cache then
forgets what the archive holds).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from dask.distributed import Client, LocalCluster
from sqlalchemy import Engine

from layers.aggregation import ReadingQuery, Sums
from layers.readings import newest_loads, readings_since, sensor_places
from layers.readings_index import DAY_US
from layers.spec import LayerSpec

HELD_FILE = "archive.json"
ROWS_PER_GROUP = 128 * 1024  # a row group holds about half a day of 2,000 sensors' readings
SUMS = ("x", "y", "count", "sum", "max")  # a sensor's day summed, as ``Sums`` holds it


@dataclass(frozen=True)
class Held:
    """What an archive holds: every reading of the loads up to ``readings_load``, taken in
    [first_us, end_us) (µs since 1970, UTC).
    """

    readings_load: int
    first_us: int
    end_us: int
    readings: int
    version: str = ""  # the folder of its files, beside the record


def write_archive(chunks: Iterable[pd.DataFrame], folder: Path, readings_load: int) -> int:
    """Write readings (kind, sensor, x, y, value, t) as a new version of the archive in
    ``folder``; returns how many. No two chunks may share a month (each replaces its months).
    """
    folder.mkdir(parents=True, exist_ok=True)
    before = _held_in(folder).version
    version = f"{readings_load}-{time.time_ns()}"
    first, end, count = None, None, 0
    for chunk in chunks:
        if not len(chunk):
            continue
        t = chunk["t"].to_numpy(np.int64)
        day = (t // DAY_US).astype(np.int32)
        month = _months(day)
        order = np.lexsort((chunk["t"], chunk["sensor"], day, chunk["kind"]))
        readings = chunk.iloc[order].assign(day=day[order], month=month[order])
        kept = readings[["x", "y", "value", "t", "sensor", "kind", "month"]]
        _write(kept, folder / version / "readings")
        _write(_days(readings), folder / version / "days")
        first = min(first, int(t.min())) if first is not None else int(t.min())
        end = max(end, int(t.max()) + 1) if end is not None else int(t.max()) + 1
        count += len(chunk)
    held = Held(readings_load, first or 0, end or 0, count, version)
    written = folder / f".{HELD_FILE}.new"
    written.write_text(json.dumps(asdict(held)))
    os.replace(written, folder / HELD_FILE)
    for old in folder.iterdir():
        if old.is_dir() and old.name not in (version, before):
            shutil.rmtree(old)
    return count


def _held_in(folder: Path) -> Held:
    """What the archive in ``folder`` holds (nothing, before the first export)."""
    path = folder / HELD_FILE
    return Held(**json.loads(path.read_text())) if path.exists() else Held(0, 0, 0, 0)


def _months(day: np.ndarray) -> np.ndarray:
    """The month partition (``2026-11``) of each day number."""
    days, where = np.unique(day, return_inverse=True)
    names = pd.to_datetime(days.astype(np.int64), unit="D").strftime("%Y-%m").to_numpy()
    return names[where]


def _days(readings: pd.DataFrame) -> pd.DataFrame:
    """Each sensor's day: its place, and the count, sum and largest of its readings."""
    summed = readings.assign(sum=readings["value"].astype(np.float64)).groupby(
        ["kind", "month", "day", "sensor"], sort=True, observed=True
    )
    return summed.agg(
        x=("x", "first"),
        y=("y", "first"),
        count=("value", "size"),
        sum=("sum", "sum"),
        max=("value", "max"),
    ).reset_index()


def _write(frame: pd.DataFrame, folder: Path) -> None:
    pads.write_dataset(
        # without pandas' own record of its types: the kind, a category here, is a partition
        pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(),
        folder,
        format="parquet",
        partitioning=["kind", "month"],
        partitioning_flavor="hive",
        existing_data_behavior="delete_matching",
        max_rows_per_group=ROWS_PER_GROUP,
        min_rows_per_group=ROWS_PER_GROUP,
    )


def export_readings(engine: Engine, spec: LayerSpec, folder: Path) -> int:
    """Write every reading of ``spec`` as its archive under ``folder/<layer>``; returns how many."""
    places = sensor_places(engine, spec).set_index("id")
    readings_load, _ = newest_loads(engine, spec)
    rows = readings_since(engine, spec, 0, readings_load)
    rows = rows[rows["sensor_id"].isin(places.index)]
    located = places.reindex(rows["sensor_id"].to_numpy())
    frame = pd.DataFrame(
        {
            "kind": pd.Categorical(located["kind"].to_numpy()),
            "sensor": rows["sensor_id"].to_numpy("int64"),
            "x": located["x"].to_numpy("float32"),
            "y": located["y"].to_numpy("float32"),
            "value": rows["value"].to_numpy("float32"),
            "t": rows["t"].to_numpy("int64"),
        }
    )
    return write_archive([frame], folder / spec.id, readings_load)


class ReadingArchive:
    """One dense layer's archive, aggregated by a Dask cluster."""

    def __init__(self, folder: Path, client: Client) -> None:
        self.folder, self.client = folder, client

    def held(self) -> Held:
        """What the archive holds now (nothing, before the first export)."""
        return _held_in(self.folder)

    def sums(self, query: ReadingQuery, held: Held) -> Sums:
        """The archived readings in ``query``'s window, summed at their places.

        The cluster reads the day sums of the window's whole days and the readings of its
        part-days (two at most): few rows whatever the window, so they are binned here; a
        datashader pass on the cluster itself costs some 200 ms more a view.
        """
        start, end = max(query.start_us, held.first_us), min(query.end_us, held.end_us)
        if start >= end:
            return Sums.joined([])
        first_day, end_day = -(-start // DAY_US), end // DAY_US  # the whole days
        if first_day >= end_day:
            spans, days = [(start, end)], []
        else:
            ends = [(start, first_day * DAY_US), (end_day * DAY_US, end)]
            spans = [(a, b) for a, b in ends if a < b]
            days = [self.days_frame(held, query.kind, first_day, end_day)]
        readings = [self.readings_frame(held, query.kind, a, b) for a, b in spans]
        with self.client.as_current():
            found = dask.compute(*readings, *days)
        parts = [
            Sums.of_readings(*(f[c].to_numpy() for c in ("x", "y", "value")))
            for f in found[: len(readings)]
        ]
        parts += [Sums(*(f[c].to_numpy() for c in SUMS)) for f in found[len(readings) :]]
        return Sums.joined(parts)

    def days_frame(self, held: Held, kind: str, first_day: int, end_day: int) -> dd.DataFrame:
        """The sums of each sensor's days [first_day, end_day) (days since 1970, UTC)."""
        return dd.read_parquet(
            self.folder / held.version / "days",
            columns=list(SUMS),
            filters=[
                *_month_span(first_day * DAY_US, end_day * DAY_US),
                ("kind", "==", kind),
                ("day", ">=", first_day),
                ("day", "<", end_day),
            ],
        )

    def readings_frame(self, held: Held, kind: str, start_us: int, end_us: int) -> dd.DataFrame:
        """The archived readings taken in [start_us, end_us): place and value."""
        frame = dd.read_parquet(
            self.folder / held.version / "readings",
            columns=["x", "y", "value", "t"],
            filters=_readings_filters(kind, start_us, end_us),
        )
        return frame[(frame["t"] >= start_us) & (frame["t"] < end_us)][["x", "y", "value"]]

    def series(
        self, kind: str, sensor: int, start_us: int, end_us: int, held: Held
    ) -> tuple[np.ndarray, np.ndarray]:
        """The archived readings of ``sensor`` in [start_us, end_us): times and values, in order.
        Read here, not on the cluster: one sensor's rows are few.
        """
        start, end = max(start_us, held.first_us), min(end_us, held.end_us)
        if start >= end:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        wanted = pq.filters_to_expression(
            [*_readings_filters(kind, start, end), ("sensor", "==", sensor)]
        )
        found = pads.dataset(self.folder / held.version / "readings", partitioning="hive").to_table(
            columns=["t", "value"], filter=wanted
        )
        t, value = found.column("t").to_numpy(), found.column("value").to_numpy()
        order = np.argsort(t, kind="stable")
        return t[order], value[order].astype(np.float32)


def _month(moment_us: int) -> str:
    """The month partition (``2026-11``) of a moment in µs since 1970, UTC."""
    return pd.Timestamp(moment_us, unit="us").strftime("%Y-%m")


def _month_span(start_us: int, end_us: int) -> list[tuple[str, str, str]]:
    """The filters that read only the month partitions [start_us, end_us) touches."""
    return [("month", ">=", _month(start_us)), ("month", "<=", _month(end_us - 1))]


def _readings_filters(kind: str, start_us: int, end_us: int) -> list[tuple]:
    """The filters that read ``kind``'s readings taken in [start_us, end_us), in their months."""
    return [
        *_month_span(start_us, end_us),
        ("kind", "==", kind),
        ("t", ">=", start_us),
        ("t", "<", end_us),
    ]


@functools.cache
def cluster(address: str | None) -> Client:
    """The process's client of the cluster at ``address``, shared by every session."""
    return dask_client(address)


def dask_client(address: str | None) -> Client:
    """A client of the cluster at ``address`` (the setting ``GIS_DASK_SCHEDULER``), else of a
    local one of two workers.
    """
    if address:
        return Client(address)
    return Client(
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    )
