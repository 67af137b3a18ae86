"""Benchmark: viewport queries over 100,000 buildings, against a baseline in the same run.

    python benchmarks/viewport.py      (make bench)

The layer's own query (the viewport box transformed to EPSG:3794, tested with ``&&`` on the
GiST index, geometry simplified to the pixel) is timed against the naive one (the column
transformed to EPSG:3857 and tested with ST_Intersects, nothing simplified), at three zooms.
Each figure is the median of repeated runs; the ratio is baseline / ours.
"""

from __future__ import annotations

import os
import statistics
import time

from pyproj import Transformer
from sqlalchemy import make_url, text

from dashboards.vector import columns
from layers.db import database_urls, get_engine
from layers.queries import Viewport, fetch_features
from layers.registry import LAYERS

SCHEMA = f"bench_{os.getpid()}"
COPIES = 8  # the Ptuj sample's ~12,600 buildings, eight times over: about 100,000
RUNS = 7
CENTRE_3794 = (566941, 142604)  # Mestni trg, Ptuj
ZOOMS = {"municipality (20 km)": 20_000, "district (2 km)": 2_000, "street (300 m)": 300}


def build_table(engine, reader) -> int:
    """A copy of the buildings, shifted copies side by side, with its GiST index.

    ``reader`` has the benchmark's schema first on its search path, so the copy is created there.
    """
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    with reader.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE building AS SELECT row_number() OVER ()::int AS id, address, use_class,"
                " floor_area_m2, year_built, occupants, energy_class,"
                " ST_Translate(geom, (k % 4) * 15000, (k / 4) * 15000) AS geom"
                " FROM public.building, generate_series(0, :copies - 1) AS k"
            ),
            {"copies": COPIES},
        )
        conn.execute(text("CREATE INDEX ON building USING gist (geom)"))
        conn.execute(text("ANALYZE building"))
        return conn.scalar(text("SELECT count(*) FROM building"))


def median_seconds(action) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def naive_query(engine, viewport: Viewport) -> int:
    with engine.connect() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT id, address, use_class, floor_area_m2, year_built, occupants, energy_class,"
                    " ST_AsBinary(ST_Transform(geom, 3857)) FROM building"
                    " WHERE ST_Intersects(ST_Transform(geom, 3857),"
                    " ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857))"
                ),
                {
                    "x0": viewport.xmin,
                    "y0": viewport.ymin,
                    "x1": viewport.xmax,
                    "y1": viewport.ymax,
                },
            ).all()
        )


def main() -> None:
    url = make_url(database_urls().writer)
    engine = get_engine(url.render_as_string(hide_password=False), "bench")
    # the layer's own spec, reading the copy first: the schema leads the search path
    in_schema = url.update_query_dict({"options": f"-csearch_path={SCHEMA},public"})
    reader = get_engine(in_schema.render_as_string(hide_password=False), "bench")
    spec = LAYERS["buildings"]
    to_mercator = Transformer.from_crs(3794, 3857, always_xy=True).transform
    try:
        rows = build_table(engine, reader)
        print(f"viewport queries over {rows:,} buildings, median of {RUNS} runs, 1200 px wide")
        print(
            f"{'zoom':<22}{'features':>10}{'ours ms':>10}{'naive ms':>10}{'ratio':>8}{'to Bokeh ms':>13}"
        )
        for name, width_m in ZOOMS.items():
            x0, y0 = to_mercator(CENTRE_3794[0] - width_m / 2, CENTRE_3794[1] - width_m / 3)
            x1, y1 = to_mercator(CENTRE_3794[0] + width_m / 2, CENTRE_3794[1] + width_m / 3)
            viewport = Viewport(x0, y0, x1, y1, 1200)
            ours, frame = median_seconds(
                lambda v=viewport: fetch_features(reader, spec, v, "planner")
            )
            naive, _ = median_seconds(lambda v=viewport: naive_query(reader, v))
            convert, _ = median_seconds(lambda f=frame: columns(spec, f))
            print(
                f"{name:<22}{len(frame):>10,}{ours * 1000:>10.1f}{naive * 1000:>10.1f}"
                f"{naive / ours:>8.1f}{convert * 1000:>13.1f}"
            )
    finally:
        reader.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))


if __name__ == "__main__":
    main()
