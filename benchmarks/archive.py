"""Benchmark: the sensor readings past one machine, archived as Parquet and aggregated on Dask.

    python benchmarks/archive.py [--readings 100000000]      (make bench)

``--readings`` PM10 readings over the year before now, from 2,000 sensors across Ptuj, are
written as an archive (``layers.readings_dask.write_archive``, a month at a time), and a local
Dask cluster of two worker processes, one thread each, aggregates it. Printed, for a view of
the whole municipality at 1200×800 and windows of a day, a week, a month and the year (median
of 5 pans, after one to warm the workers):

- a pan: the archive's aggregate: the cluster reads the sensors' sums of the window's whole days
  and the readings of its part-days, and they are binned in the server's process;
- the baseline, measured in the same run: every reading of the window aggregated by datashader
  on the same cluster, as the archive was before it kept day sums;
- the drawn pixels of both compared: the same counts, the same means to float32's precision.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sensors import HEIGHT, MUNICIPALITY, SENSORS, TO_MERCATOR, WIDTH, box_3857, median_ms

from layers.aggregation import Aggregate, ReadingQuery, binned, datashaded
from layers.readings_dask import Held, ReadingArchive, dask_client, write_archive
from layers.readings_index import DAY_US

WINDOWS = {"day": 1, "week": 7, "month": 30, "year": 365}
PANS = 5


def sensor_places(seed: int = 5) -> pd.DataFrame:
    """``SENSORS`` places over the municipality: id, x and y (EPSG:3857)."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = MUNICIPALITY
    x, y = TO_MERCATOR(rng.uniform(xmin, xmax, SENSORS), rng.uniform(ymin, ymax, SENSORS))
    return pd.DataFrame({"id": np.arange(1, SENSORS + 1), "x": x, "y": y})


def write_year(folder: Path, places: pd.DataFrame, readings: int, end_us: int, load: int) -> None:
    """``readings`` PM10 readings at ``places`` spread at random over the year before
    ``end_us``, written as an archive holding the loads up to ``load``.
    """
    rng = np.random.default_rng(9)
    start_us = end_us - 365 * DAY_US
    firsts = pd.date_range(pd.Timestamp(start_us, unit="us"), pd.Timestamp(end_us, unit="us"),
                           freq="MS").as_unit("us").asi8  # fmt: skip
    edges = np.unique(np.concatenate([[start_us], firsts, [end_us]]))

    def months():
        for first, last in itertools.pairwise(edges):
            count = round(readings * float(last - first) / (end_us - start_us))
            at = rng.integers(0, len(places), count)
            yield pd.DataFrame(
                {
                    "kind": pd.Categorical(["pm10"]).take(np.zeros(count, np.int64)),
                    "sensor": places["id"].to_numpy()[at],
                    "x": places["x"].to_numpy(np.float32)[at],
                    "y": places["y"].to_numpy(np.float32)[at],
                    "value": rng.gamma(4, 6, count).astype(np.float32),
                    "t": rng.integers(first, last, count),
                }
            )

    write_archive(months(), folder, load)


def view(held: Held, days: int) -> ReadingQuery:
    """The whole municipality over the ``days`` before the archive's newest reading."""
    box = box_3857(MUNICIPALITY)
    return ReadingQuery("pm10", held.end_us - days * DAY_US, held.end_us, box, WIDTH, HEIGHT)


def scan(archive: ReadingArchive, query: ReadingQuery) -> Aggregate:
    """The baseline: every archived reading of the window aggregated by datashader on the
    cluster."""
    frame = archive.readings_frame(archive.held(), query.kind, query.start_us, query.end_us)
    with archive.client.as_current():
        return datashaded(frame, query)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=100_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, dask_client(None) as client:
        started = time.perf_counter()
        end_us = pd.Timestamp.now(tz="UTC").floor("min").value // 1000
        write_year(Path(folder), sensor_places(), args.readings, end_us, 1)
        archive = ReadingArchive(Path(folder), client)
        held = archive.held()
        print(
            f"{held.readings:,} readings of a year archived in {time.perf_counter() - started:.0f} s"
            f" ({sum(f.stat().st_size for f in Path(folder).rglob('*.parquet')) / 2**30:.2f} GiB);"
            f" a local cluster of {len(client.scheduler_info()['workers'])} workers, one thread each"
        )
        print(f"\n{'window':<8}{'readings':>14}{'pan':>10}{'every reading':>16}{'ratio':>8}")
        for name, days in WINDOWS.items():
            query = view(held, days)
            found = binned(archive.sums(query, held), query)
            every = scan(archive, query)
            np.testing.assert_array_equal(found.pixels, every.pixels)
            np.testing.assert_array_equal(found.count, every.count)
            np.testing.assert_allclose(found.value, every.value, rtol=1e-5)
            pan = median_ms(lambda q=query: binned(archive.sums(q, held), q), PANS)
            scanned = median_ms(lambda q=query: scan(archive, q), PANS)
            print(
                f"{name:<8}{found.readings:>14,}{pan:>8.0f} ms{scanned:>13.0f} ms{scanned / pan:>7.1f}×"
            )
        print("\ntarget: a pan ≤ 1.5 s over 100 M readings on two local workers")


if __name__ == "__main__":
    main()
