"""Past one machine: the same readings pipeline on Dask, over partitioned Parquet.

``python -m etl export-readings FOLDER`` writes every reading with its place (EPSG:3857) as
Parquet partitioned by kind and month. ``dask_aggregate`` reads only the partitions a view
needs and hands the Dask dataframe to the same datashader reduction and finishing as the
in-memory cache (``layers.readings``), so both give the same grid. Workers come from the
scheduler at ``GIS_DASK_SCHEDULER`` (``tcp://host:8786``) or, without it, from a local cluster.

When to use it: the in-memory cache serves the map while a process holds the readings
comfortably (about 22 bytes a reading: 10 million take some 220 MB); past a few hundred million
readings, or to aggregate years at once for a report, run it on a Dask cluster instead.
"""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
from dask.distributed import Client, LocalCluster
from sqlalchemy import Engine

from layers.aggregation import Aggregate, ReadingQuery, finish, grid, merge
from layers.readings import newest_loads, readings_since, sensor_places
from layers.spec import LayerSpec


def export_readings(engine: Engine, spec: LayerSpec, folder: Path) -> int:
    """Write every reading of ``spec`` as Parquet under ``folder/kind=…/month=…``; returns how many."""
    places = sensor_places(engine, spec).set_index("id")
    readings_load, _ = newest_loads(engine, spec)
    rows = readings_since(engine, spec, 0, readings_load)
    rows = rows[rows["sensor_id"].isin(places.index)]
    located = places.reindex(rows["sensor_id"].to_numpy())
    frame = pd.DataFrame(
        {
            "x": located["x"].to_numpy("float32"),
            "y": located["y"].to_numpy("float32"),
            "value": rows["value"].to_numpy("float32"),
            "t": rows["t"].to_numpy("int64"),
            "kind": located["kind"].to_numpy(),
            "month": pd.to_datetime(rows["t"].to_numpy(), unit="us").strftime("%Y-%m"),
        }
    )
    pads.write_dataset(
        pa.Table.from_pandas(frame, preserve_index=False),
        folder,
        format="parquet",
        partitioning=["kind", "month"],
        partitioning_flavor="hive",
        existing_data_behavior="delete_matching",
    )
    return len(frame)


def month(moment_us: int) -> str:
    """The month partition (``2026-11``) of a moment in µs since 1970, UTC."""
    return pd.Timestamp(moment_us, unit="us").strftime("%Y-%m")


def dask_aggregate(folder: Path, query: ReadingQuery) -> Aggregate:
    """The view's aggregate computed by Dask over the exported Parquet."""
    months = [month(query.start_us), month(max(query.end_us - 1, query.start_us))]
    frame = dd.read_parquet(
        folder,
        columns=["x", "y", "value", "t"],
        # the kind's partitions of the months the window touches, and no others
        filters=[
            ("kind", "==", query.kind),
            ("month", ">=", months[0]),
            ("month", "<=", months[1]),
        ],
    )
    frame = frame[(frame["t"] >= query.start_us) & (frame["t"] < query.end_us)]
    return finish(merge([grid(frame, query)]), query)


def dask_client(address: str | None) -> Client:
    """A client of the cluster at ``address`` (the setting ``GIS_DASK_SCHEDULER``), else of a
    local one.
    """
    if address:
        return Client(address)
    return Client(
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    )
