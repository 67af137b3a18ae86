"""Benchmark: exporting 100,000 buildings to each format, against GDAL's ogr2ogr in the same run.

    python benchmarks/exports.py [--copies 8] [--runs 3]      (make bench)

A schema of its own holds the Ptuj sample's buildings ``--copies`` times over, shifted side by
side (about 100,000). Ours is what the table's export button runs: the features read through
``layers.selection.features`` and written by ``dashboards.exports.exported``, to memory. The
baseline is ``ogr2ogr`` reading the same table from PostGIS into a file of the same format (for
CSV, its WKT-free default). Medians of ``--runs``; the ratio is baseline / ours.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from scratch import scratch_schema
from sqlalchemy import make_url, text

from dashboards.exports import FORMATS, exported
from layers.db import get_engine
from layers.registry import layer
from layers.selection import Scope, features

OGR_DRIVERS = {"gpkg": "GPKG", "geojson": "GeoJSON", "csv_sl": "CSV", "csv_en": "CSV"}
OGR_OPTIONS = {"geojson": ["-t_srs", "EPSG:4326", "-lco", "RFC7946=YES"]}


def fill(engine, copies: int) -> int:
    """The sample's buildings ``copies`` times, 15 km apart, in the benchmark's schema."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO building (address, use_class, floor_area_m2, year_built, occupants,"
                " energy_class, geom) SELECT address, use_class, floor_area_m2, year_built,"
                " occupants, energy_class, ST_Translate(geom, (k % 4) * 15000, (k / 4) * 15000)"
                " FROM public.building, generate_series(0, :copies - 1) AS k"
            ),
            {"copies": copies},
        )
        conn.execute(text("ANALYZE building"))
        return conn.scalar(text("SELECT count(*) FROM building"))


def pg_source(url: str) -> str:
    """The database and schema as GDAL's PostgreSQL driver names them."""
    parsed = make_url(url)
    schema = parsed.query["options"].removeprefix("-csearch_path=").split(",")[0]
    return (
        f"PG:host={parsed.host} port={parsed.port} dbname={parsed.database}"
        f" user={parsed.username} password={parsed.password} active_schema={schema}"
    )


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ogr2ogr(source: str, file_format: str, folder: Path) -> None:
    target = folder / f"out{FORMATS[file_format].suffix}"
    target.unlink(missing_ok=True)
    subprocess.run(
        ["ogr2ogr", "-f", OGR_DRIVERS[file_format], *OGR_OPTIONS.get(file_format, []),
         str(target), source, "building"],
        check=True, capture_output=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    spec = layer("buildings")
    with scratch_schema("exports") as url, tempfile.TemporaryDirectory() as folder:
        engine = get_engine(url, "bench")
        count = fill(engine, args.copies)
        frame = features(engine, Scope(spec), "planner")
        read = median_seconds(lambda: features(engine, Scope(spec), "planner"), args.runs)
        print(f"exporting {count:,} buildings, median of {args.runs} runs")
        print(f"reading them from PostGIS: {read:.2f} s (in each of ours below)")
        print(f"{'format':<32}{'ours s':>8}{'ogr2ogr s':>11}{'ratio':>7}{'MB':>7}")
        for key, file_format in FORMATS.items():
            size = len(exported(frame, spec, key)) / 1e6
            ours = read + median_seconds(lambda k=key: exported(frame, spec, k), args.runs)
            theirs = median_seconds(
                lambda k=key: ogr2ogr(pg_source(url), k, Path(folder)), args.runs
            )
            print(
                f"{file_format.label:<32}{ours:>8.2f}{theirs:>11.2f}{theirs / ours:>7.2f}{size:>7.1f}"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
