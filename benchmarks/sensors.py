"""Benchmark: dense sensor readings on the map, at a 1200x800 canvas on this machine.

    python benchmarks/sensors.py [--readings 10000000]      (make bench)

In a schema of its own: 2,000 sensors across Ptuj and ``--readings`` readings of one kind over
30 days are loaded through the ETL, then read into the cache as the dashboards do. Printed, each
against a baseline measured in the same run:

- a pan or zoom over the whole municipality (aggregate and finish), median of repeated runs;
- datashader's aggregation against a minimal single-core numba kernel on the same arrays;
- the same view the naive way: the points queried from PostGIS, then aggregated;
- a view of one district against the whole municipality;
- ingest rate against ``pandas.DataFrame.to_sql`` on the same million rows;
- resident memory of a process like the server's with the readings cached, and per extra
  session's view (measured in a child process, so the loading above does not count).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import datashader as ds
import geopandas as gpd
import numba
import numpy as np
import pandas as pd
from pyproj import Transformer
from scratch import scratch_schema
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.aggregation import ReadingQuery, datashaded
from layers.db import get_engine
from layers.readings import ReadingCache
from layers.readings_index import days_of, rows_of
from layers.registry import layer

SENSORS = 2_000
DAYS = 30
WIDTH, HEIGHT = 1200, 800
TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True).transform
# Ptuj's extent in D96/TM, and the old town (Četrt Center) within it
MUNICIPALITY = (558_000, 136_000, 575_000, 149_000)
CENTRE = (566_200, 141_900, 567_700, 143_100)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(s for s in status if s.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def median_ms(run, repeat: int = 15) -> float:
    run()  # compiled and warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


@numba.njit(cache=True)
def numba_mean(x, y, value, xmin, ymin, xmax, ymax, width, height):  # pragma: no cover
    """The minimal kernel: one pass, count and sum per pixel, then the mean.

    Pixels are found as datashader finds them (scale and shift, the box's edges inclusive), so
    both put every reading in the same pixel and their grids can be compared cell by cell.
    """
    count = np.zeros((height, width), np.uint32)
    total = np.zeros((height, width), np.float64)
    sx, sy = width / (xmax - xmin), height / (ymax - ymin)
    tx, ty = -xmin * sx, -ymin * sy
    for i in range(len(x)):
        if xmin <= x[i] <= xmax and ymin <= y[i] <= ymax:
            col = min(int(x[i] * sx + tx), width - 1)
            row = min(int(y[i] * sy + ty), height - 1)
            count[row, col] += 1
            total[row, col] += value[i]
    return total / np.maximum(count, 1), count


def write_files(
    folder: Path, readings: int, end: pd.Timestamp, days: int = DAYS
) -> tuple[Path, Path]:
    """``SENSORS`` PM10 sensors over the municipality and ``readings`` of theirs spread evenly
    over the ``days`` before ``end``; and a million of them as CSV, for the ingest."""
    rng = np.random.default_rng(3)
    xmin, ymin, xmax, ymax = MUNICIPALITY
    sensors = gpd.GeoDataFrame(
        {
            "ID": [f"B-{i:04d}" for i in range(SENSORS)],
            "VRSTA": "pm10",
            "ENOTA": "µg/m³",
            "STANJE": "deluje",
        },
        geometry=gpd.points_from_xy(
            rng.uniform(xmin, xmax, SENSORS), rng.uniform(ymin, ymax, SENSORS)
        ),
        crs=3794,
    )
    sensors.to_file(folder / "senzorji.gpkg")
    per_sensor = readings // SENSORS
    step = pd.Timedelta(days=days) / per_sensor
    times = pd.DatetimeIndex(end - pd.Timedelta(days=days) + step * np.arange(per_sensor))
    frame = pd.DataFrame(
        {
            "sensor": pd.Categorical(np.repeat(sensors["ID"].to_numpy(), per_sensor)),
            "observed_at": np.tile(times.to_numpy(), SENSORS),
            "value": rng.gamma(4, 6, per_sensor * SENSORS).astype("float32"),
        }
    )
    frame.to_parquet(folder / "meritve.parquet", row_group_size=1_000_000)
    frame.head(1_000_000).assign(sensor=lambda f: f["sensor"].astype(str)).to_csv(
        folder / "milijon.csv", index=False
    )
    return folder / "senzorji.gpkg", folder / "meritve.parquet"


def box_3857(box) -> tuple[float, float, float, float]:
    x0, y0 = TO_MERCATOR(box[0], box[1])
    x1, y1 = TO_MERCATOR(box[2], box[3])
    return x0, y0, x1, y1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--server-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server_memory:  # the child: its URL comes in the environment, not on the command line
        server_memory(get_engine(os.environ["SENSORS_BENCH_URL"], "bench"))
        return
    with scratch_schema("sensors") as url:
        run(get_engine(url, "bench"), args.readings)
        subprocess.run(
            [sys.executable, __file__, "--server-memory"],
            env={**os.environ, "SENSORS_BENCH_URL": url},
            check=True,
        )


def run(engine, readings: int) -> None:
    end = pd.Timestamp.now(tz="UTC").floor("h")
    with tempfile.TemporaryDirectory() as folder:
        sensors, parquet = write_files(Path(folder), readings, end)
        load_file(engine, sensors, "sensors", LoadOptions(progress=False))
        ingest(engine, Path(folder) / "milijon.csv")
        started = time.perf_counter()
        report = load_file(
            engine, parquet, "sensor_readings", LoadOptions(progress=False, force=True)
        )
        print(
            f"loaded {report.loaded:,} readings in {time.perf_counter() - started:.1f} s (ETL, Parquet)"
        )
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # done now rather than by autovacuum on the other core in the middle of the timings
        conn.execute(text("VACUUM (ANALYZE) sensor_reading"))
    print(f"vacuumed in {time.perf_counter() - started:.1f} s")

    cache = ReadingCache(engine, layer("sensor_readings"))
    cache.top_up()
    columns = cache.snapshot.kinds["pm10"]
    # the window holds every reading, so the kernel and datashader see the same arrays
    start_us, end_us = int(columns.t.min()), int(columns.t.max()) + 1
    whole = ReadingQuery("pm10", start_us, end_us, box_3857(MUNICIPALITY), WIDTH, HEIGHT, "mean")
    district = ReadingQuery("pm10", start_us, end_us, box_3857(CENTRE), WIDTH, HEIGHT, "mean")
    in_view = cache.aggregate(whole).readings
    pan = median_ms(lambda: cache.aggregate(whole))
    print(
        f"\n{'pan/zoom, whole municipality':<44}{pan:>9.1f} ms  ({in_view:,} readings; target ≤ 150 ms)"
    )

    # the same aggregation: datashader on the cache's arrays, against the minimal kernel
    # every reading at its sensor, as datashader and the kernel take them
    x, y = columns.sensor_x[columns.rank], columns.sensor_y[columns.rank]
    frame = pd.DataFrame({"x": x, "y": y, "value": columns.value}, copy=False)
    shader = median_ms(lambda: datashaded(frame, whole))
    xmin, ymin, xmax, ymax = whole.box
    kernel = median_ms(
        lambda: numba_mean(x, y, columns.value, xmin, ymin, xmax, ymax, WIDTH, HEIGHT)
    )
    mean_ours, _ = cache.aggregate(whole).grids()
    mean_nb, count_nb = numba_mean(x, y, columns.value, xmin, ymin, xmax, ymax, WIDTH, HEIGHT)
    mean_nb = np.where(count_nb > 0, mean_nb, np.nan)
    drawn = (count_nb > 0) | ~np.isnan(mean_ours)
    same = np.isclose(mean_nb, mean_ours, rtol=1e-4, equal_nan=True)[drawn]
    print(f"{'aggregation, minimal numba kernel (1 core)':<44}{kernel:>9.1f} ms")
    print(
        f"{'aggregation, datashader (1 core)':<44}{shader:>9.1f} ms  {shader / kernel:.2f}x the kernel"
        f" (target ≤ 1.25)\n{'':<44}the map's mean is the kernel's in {same.sum():,} of {same.size:,} drawn pixels"
    )

    zoomed = median_ms(lambda: cache.aggregate(district))
    picked = sum(len(rows) for rows in rows_of(columns, district))
    print(
        f"{'pan/zoom, one district (old town)':<44}{zoomed:>9.1f} ms  whole/district {pan / zoomed:.1f}x"
        f" (target ≥ 3; {picked:,} readings and {len(days_of(columns, district).x):,} sensors' whole days"
        f" read of {len(columns.t):,} readings)"
    )

    naive = naive_view(engine, whole)
    print(
        f"{'naive: query PostGIS per view, then aggregate':<44}{naive * 1000:>9.0f} ms  ours {naive * 1000 / pan:.0f}x faster (target ≥ 50)"
    )


def naive_view(engine, query: ReadingQuery) -> float:
    """The view the naive way: points of the kind, window and box from PostGIS, then datashader."""
    started = time.perf_counter()
    with engine.connect() as conn:
        points = pd.read_sql(
            text(
                "SELECT ST_X(ST_Transform(geom, 3857)) AS x, ST_Y(ST_Transform(geom, 3857)) AS y, value"
                " FROM sensor_reading_located WHERE kind = :kind"
                " AND observed_at >= to_timestamp(:s / 1e6) AND observed_at < to_timestamp(:e / 1e6)"
                " AND geom && ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), 3794)"
            ),
            conn,
            params={
                "kind": query.kind,
                "s": query.start_us,
                "e": query.end_us,
                **dict(zip(("x0", "y0", "x1", "y1"), query.box, strict=True)),
            },
        )
    xmin, ymin, xmax, ymax = query.box
    ds.Canvas(query.width, query.height, (xmin, xmax), (ymin, ymax)).points(
        points, "x", "y", ds.mean("value")
    )
    return time.perf_counter() - started


def ingest(engine, csv: Path) -> None:
    """Ours (checks, COPY) against pandas' to_sql on the same million rows."""
    started = time.perf_counter()
    report = load_file(engine, csv, "sensor_readings", LoadOptions(progress=False))
    ours = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE sensor_reading"))
        conn.execute(text("DELETE FROM dataset_load WHERE layer = 'sensor_readings'"))
    started = time.perf_counter()
    frame = pd.read_csv(csv)
    frame.to_sql("reading_baseline", engine, if_exists="replace", index=False, chunksize=50_000)
    baseline = time.perf_counter() - started
    rows = report.loaded
    print(
        f"ingest of {rows:,} rows: ours {ours:.1f} s ({rows / ours:,.0f} rows/s), to_sql {baseline:.1f} s"
        f" ({rows / baseline:,.0f} rows/s): {baseline / ours:.1f}x (target ≥ 5)"
    )


def server_memory(engine, warm: int = 3, sessions: int = 10) -> None:
    """In a fresh process, as the server does: fill the cache, then draw the view of several
    sessions; resident memory before, after and per session (after ``warm`` sessions, so the
    allocator's first growth is not counted as theirs)."""
    from bokeh.plotting import figure

    from dashboards.dense import DenseLayer
    from layers.queries import Viewport
    from layers.registry import layer

    before = rss_mib()
    cache = ReadingCache(engine, layer("sensor_readings"))
    started = time.perf_counter()
    cache.top_up()
    print(
        f"\nserver-like process: cache filled from PostGIS in {time.perf_counter() - started:.1f} s,"
        f" {cache.snapshot.nbytes / 2**20:.0f} MiB of columns; resident memory {before:.0f} MiB before,"
        f" {rss_mib():.0f} MiB after (+{rss_mib() - before:.0f} MiB)"
    )
    layers = []

    def open_session() -> None:
        dense = DenseLayer(figure(), layer("sensor_readings"), cache, redraw=lambda: None)
        dense.window.value = "Obdobje · Range"
        dense.show(Viewport(*box_3857(MUNICIPALITY), WIDTH))
        layers.append(dense)

    for _ in range(warm):
        open_session()
    before = rss_mib()
    for _ in range(sessions):
        open_session()
    print(
        f"per extra session (its view's grids and models): +{(rss_mib() - before) / sessions:.1f} MiB"
        f" (over {sessions} sessions after {warm}; process {rss_mib():.0f} MiB)"
    )


if __name__ == "__main__":
    main()
