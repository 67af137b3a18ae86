"""Benchmark: loading a million building polygons, ours against GeoDataFrame.to_postgis.

    python benchmarks/load.py [--rows 1000000]      (make bench)

Both run as separate processes on the same GeoPackage into the same database, alternated over
``--rounds`` rounds, the fastest of each kept; each is timed end to end (reading the file
included) and its peak resident memory taken from the kernel. Ours validates, reprojects, repairs and records the load; the baseline only reads
and writes.
"""

from __future__ import annotations

import argparse
import os
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
from sqlalchemy import text

from layers.db import get_engine

BASELINE = """
import sys, geopandas as gpd
from sqlalchemy import create_engine
frame = gpd.read_file(sys.argv[1], engine="pyogrio").to_crs(3794)
frame.to_postgis("building_baseline", create_engine(sys.argv[2]), if_exists="replace", index=False)
"""


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
            ours_command = [sys.executable, "-m", "etl", "load", str(path)]
            ours_command += ["--layer", "buildings", "--force"]
            baseline_command = [sys.executable, "-c", BASELINE, str(path), in_schema]
            runs = {"ours": [], "baseline": []}
            for _ in range(args.rounds):  # alternated, so both meet the same machine
                runs["ours"].append(run_measured(ours_command, environment))
                runs["baseline"].append(run_measured(baseline_command, environment))
            # the fastest of each: noise on a shared machine only ever adds time
            ours, baseline = min(runs["ours"]), min(runs["baseline"])
            print(
                "all runs (s): ours "
                + ", ".join(f"{t:.1f}" for t, _ in runs["ours"])
                + "; to_postgis "
                + ", ".join(f"{t:.1f}" for t, _ in runs["baseline"])
            )
        with get_engine(in_schema, "bench").connect() as conn:
            loaded = conn.scalar(text("SELECT count(*) FROM building"))
            copied = conn.scalar(text("SELECT count(*) FROM building_baseline"))
        print(f"{'':<26}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'peak MiB':>10}")
        for name, (seconds, memory), rows in (
            ("ours (checked, COPY)", ours, loaded),
            ("GeoDataFrame.to_postgis", baseline, copied),
        ):
            print(f"{name:<26}{rows:>10,}{seconds:>10.1f}{rows / seconds:>10,.0f}{memory:>10,.0f}")
        print(
            f"speed-up: {baseline[0] / ours[0]:.1f}x; memory: {ours[1] / baseline[1]:.2f} of the baseline's"
        )


if __name__ == "__main__":
    main()
