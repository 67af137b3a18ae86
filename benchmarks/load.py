"""Benchmark: loading a million building polygons, ours against two baselines.

    python benchmarks/load.py [--rows 1000000]      (make bench)

The baselines are what a GIS engineer would reach for: GeoDataFrame.to_postgis, and GDAL's
ogr2ogr (Debian's gdal-bin) with COPY and -makevalid. All run as separate processes on the same
GeoPackage into the same database, alternated over ``--rounds`` rounds, the fastest of each
kept; each is timed end to end (reading the file included) and its peak resident memory taken
from the kernel. Ours validates, reprojects, repairs, records the load and then rewrites the
layer's search entries (each building's address), which the baselines do not do: the load's
own time, to its commit, is given beside the whole command's from its catalogue row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from scratch import scratch_schema
from sqlalchemy import make_url, text

from layers.db import get_engine

BASELINE = """
import sys, geopandas as gpd
from sqlalchemy import create_engine
frame = gpd.read_file(sys.argv[1], engine="pyogrio").to_crs(3794)
frame.to_postgis("building_baseline", create_engine(sys.argv[2]), if_exists="replace", index=False)
"""


def ogr2ogr_command(path: Path, url: str) -> list[str]:
    """ogr2ogr loading ``path`` into table building_ogr2ogr of the URL's schema, as an engineer
    would: COPY, the geometry made valid and multi, reprojected to D96/TM."""
    parsed = make_url(url)
    schema = parsed.query["options"].removeprefix("-csearch_path=").split(",")[0]
    connection = (
        f"PG:host={parsed.host} port={parsed.port} dbname={parsed.database}"
        f" user={parsed.username} password={parsed.password} active_schema={schema}"
    )
    return [
        *("ogr2ogr", "-f", "PostgreSQL", connection, str(path), "stavbe"),
        *("-nln", "building_ogr2ogr", "-nlt", "PROMOTE_TO_MULTI", "-t_srs", "EPSG:3794"),
        *("-makevalid", "-lco", "GEOMETRY_NAME=geom", "-overwrite"),
        *("--config", "PG_USE_COPY", "YES"),
    ]


def write_buildings(path: Path, rows: int) -> None:
    """``rows`` small rectangles on a grid across Ptuj's surroundings, in D96/TM, with attributes."""
    rng = np.random.default_rng(1)
    side = int(np.ceil(np.sqrt(rows)))
    x = 540_000 + (np.arange(rows) % side) * 30.0
    y = 120_000 + (np.arange(rows) // side) * 30.0
    frame = gpd.GeoDataFrame(
        {
            "NASLOV": [f"Potrčeva cesta {i}" for i in range(rows)],
            "NAMEMBNOST": rng.choice(["enostanovanjska", "večstanovanjska", "poslovna"], rows),
            "POVRSINA": rng.uniform(50, 900, rows).round(1),
            "LETO_IZGR": rng.integers(1800, 2025, rows),
            "ST_PREB": rng.integers(0, 12, rows),
            "EN_RAZRED": rng.choice(["A1", "B2", "C", "D", "E"], rows),
        },
        geometry=shapely.box(x, y, x + rng.uniform(8, 20, rows), y + rng.uniform(8, 20, rows)),
        crs=3794,
    )
    pyogrio.write_dataframe(frame, path, layer="stavbe", use_arrow=True)


def run_measured(command: list[str], environment: dict) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{command[:3]} failed with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternated")
    parser.add_argument("--write", type=Path, help="only write the test file there")
    args = parser.parse_args()
    if args.write:
        write_buildings(args.write, args.rows)
        return
    with scratch_schema("load") as in_schema:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "stavbe.gpkg"
            started = time.perf_counter()
            # written by a child, so this process stays small and its children's peaks are their own
            subprocess.run(
                [sys.executable, __file__, "--write", str(path), "--rows", str(args.rows)],
                check=True,
            )
            print(
                f"{args.rows:,} polygons written to a GeoPackage ({path.stat().st_size / 2**20:.0f} MiB)"
                f" in {time.perf_counter() - started:.1f} s"
            )
            environment = {**os.environ, "DATABASE_URL": in_schema}
            os.sync()  # the file's pages written out first, so no run pays for the writing
            commands = {
                "ours": [
                    *(sys.executable, "-m", "etl", "load", str(path)),
                    *("--layer", "buildings", "--force"),
                ],
                "to_postgis": [sys.executable, "-c", BASELINE, str(path), in_schema],
                "ogr2ogr": ogr2ogr_command(path, in_schema),
            }
            if not shutil.which("ogr2ogr"):
                raise SystemExit("ogr2ogr is missing: scripts/system-packages.sh gdal installs it")
            runs = {name: [] for name in commands}
            for _ in range(args.rounds):  # alternated, so all meet the same machine
                for name, command in commands.items():
                    runs[name].append(run_measured(command, environment))
            print(
                "all runs (s): "
                + "; ".join(
                    f"{name} " + ", ".join(f"{t:.1f}" for t, _ in times)
                    for name, times in runs.items()
                )
            )
        report(in_schema, {name: min(times) for name, times in runs.items()})


def report(in_schema: str, best: dict[str, tuple[float, float]]) -> None:
    """The table of the fastest run of each (noise on a shared machine only ever adds time)."""
    with get_engine(in_schema, "bench").connect() as conn:
        rows = {
            name: conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 (ours)
            for name, table in (
                ("ours", "building"),
                ("to_postgis", "building_baseline"),
                ("ogr2ogr", "building_ogr2ogr"),
            )
        }
        # the fastest load's own time, to its commit, before the search entries are rewritten
        committed = conn.scalar(text("SELECT min(duration_s) FROM dataset_load"))
    print(f"{'':<34}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'peak MiB':>10}")
    names = {
        "ours": "ours (checked, COPY, search)",
        "to_postgis": "GeoDataFrame.to_postgis",
        "ogr2ogr": "ogr2ogr (COPY, -makevalid)",
    }
    for name, (seconds, memory) in best.items():
        print(
            f"{names[name]:<34}{rows[name]:>10,}{seconds:>10.1f}"
            f"{rows[name] / seconds:>10,.0f}{memory:>10,.0f}"
        )
    print(f"{'ours, load to its commit':<34}{rows['ours']:>10,}{committed:>10.1f}")
    ours_seconds, ours_memory = best["ours"]
    for name in ("to_postgis", "ogr2ogr"):
        seconds, memory = best[name]
        print(
            f"against {name}: {seconds / ours_seconds:.1f}x as fast whole,"
            f" {seconds / committed:.1f}x to commit; memory {ours_memory / memory:.2f} of its"
        )


if __name__ == "__main__":
    main()
