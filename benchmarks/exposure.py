"""Benchmark: the flood exposure report in PostGIS against the same answer from a geopandas overlay.

    python benchmarks/exposure.py [--buildings 100000] [--runs 5]      (make bench)

A schema of its own gets the Ptuj sample (real boundary, sample roads, mains and floods) and
enough extra buildings scattered over the municipality to make ``--buildings``. Ours is the
report the dashboard computes (one statement, indexes, and the list of exposed addresses and
their evacuation over the road network that civil protection is given, timed apart by the
planner's report without them; the full report is also timed over the sample alone, before the
extra buildings). The whole municipality's report adds up the hits each load keeps
(``layers.exposure_store``): what keeping them adds to a load is timed, and so is the same report
computed afresh, as for a drawn area (the municipality's own outline drawn). The baseline is
geopandas with every layer already in memory (reading them is timed apart), clipping the zones
to the municipality and overlaying each layer, as a desktop analyst would. The answers must
agree; the medians are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scratch import scratch_schema
from sqlalchemy import text

from data.profiles import load_profile
from etl.load import LoadOptions, load_file
from etl.profile import load_profile_data
from layers.db import get_engine
from layers.exposure import address_list, exposure_report
from layers.exposure_store import keep_hits
from layers.registry import HAZARD_CLASSES

SCENARIO = "Q100"
RANK = {c: i for i, c in enumerate(HAZARD_CLASSES, 1)}


def extra_buildings(engine, count: int, folder: Path) -> Path:
    """``count`` houses at random inside the municipality, as a file for the ETL."""
    rng = np.random.default_rng(7)
    boundary = municipality(engine)
    xmin, ymin, xmax, ymax = boundary.bounds
    x = rng.uniform(xmin, xmax, count * 4)  # the boundary fills about half its box
    y = rng.uniform(ymin, ymax, count * 4)
    inside = shapely.contains_xy(boundary, x, y)
    x, y = x[inside][:count], y[inside][:count]
    size = rng.uniform(8, 15, len(x))
    frame = gpd.GeoDataFrame(
        {
            "NASLOV": [f"Nova ulica {i}" for i in range(len(x))],
            "NAMEMBNOST": rng.choice(["enostanovanjska", "večstanovanjska", "poslovna"], len(x)),
            "ST_PREB": rng.integers(0, 6, len(x)),
        },
        geometry=shapely.box(x, y, x + size, y + size),
        crs=3794,
    )
    path = folder / "extra.gpkg"
    pyogrio.write_dataframe(frame, path, layer="stavbe")
    return path


def municipality(engine) -> shapely.Geometry:
    with engine.connect() as conn:
        return shapely.from_wkb(
            bytes(conn.scalar(text("SELECT ST_AsBinary(ST_Union(geom)) FROM municipality")))
        )


def keeping(engine) -> None:
    """Keep the hits, as a load does at its end, and roll back."""
    with engine.connect() as conn, conn.begin() as transaction:
        keep_hits(conn)
        transaction.rollback()


def same_sections(one: dict, other: dict) -> bool:
    """Whether two reports' sections agree, figures to a millionth (sums of lengths and areas
    differ in their last digits with the order they are added in).
    """
    flat = [
        (key, value, row_other[key])
        for name in one
        for row, row_other in zip(one[name] or [], other[name] or [], strict=True)
        for key, value in row.items()
    ]
    return one.keys() == other.keys() and all(
        np.isclose(a, b, rtol=1e-9) if isinstance(a, float) else a == b for _, a, b in flat
    )


def read_layers(engine) -> dict[str, gpd.GeoDataFrame]:
    queries = {
        "municipality": "SELECT geom FROM municipality",
        "zones": f"SELECT hazard_class, geom FROM flood_zone WHERE scenario = '{SCENARIO}'",  # noqa: S608
        "buildings": "SELECT id, use_class, occupants, geom FROM building",
        "roads": "SELECT category, geom FROM road_segment",
        "mains": "SELECT geom FROM water_main",
        "hotspots": "SELECT location_name, geom FROM wifi_hotspot",
        "sites": "SELECT name, geom FROM critical_site",
    }
    with engine.connect() as conn:
        return {k: gpd.read_postgis(text(q), conn, geom_col="geom") for k, q in queries.items()}


def geopandas_report(layers: dict[str, gpd.GeoDataFrame]) -> dict:
    """The report's figures by geopandas overlays of the in-memory layers."""
    zones = gpd.overlay(layers["zones"], layers["municipality"], how="intersection")
    zones["rank"] = zones["hazard_class"].map(RANK)
    hits = layers["buildings"].sjoin(zones[["rank", "geometry"]], predicate="intersects")
    worst = hits.groupby("id").agg(
        rank=("rank", "min"), use=("use_class", "first"), people=("occupants", "first")
    )
    buildings = worst.groupby("rank").agg(buildings=("use", "size"), residents=("people", "sum"))
    lengths = {}
    for name in ("roads", "mains"):
        pieces = gpd.overlay(
            layers[name],
            zones[["hazard_class", "geometry"]],
            how="intersection",
            keep_geom_type=True,
        )
        lengths[name] = pieces.length.groupby(pieces["hazard_class"]).sum() / 1000
    points = {
        name: layers[name]
        .sjoin(zones[["rank", "geometry"]], predicate="intersects")
        .index.nunique()
        for name in ("hotspots", "sites")
    }
    return {
        "buildings": int(buildings["buildings"].sum()),
        "residents": int(buildings["residents"].sum()),
        "road_km": float(lengths["roads"].sum()),
        "mains_km": float(lengths["mains"].sum()),
        **points,
    }


def timed(function, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with scratch_schema("exposure") as url:
        engine = get_engine(url, "bench")
        load_profile_data(engine, load_profile("ptuj"), progress=False)
        exposure_report(engine, SCENARIO, "civil_protection")  # warm the cache, as a live server is
        sample_s, sample = timed(
            lambda: exposure_report(engine, SCENARIO, "civil_protection"), args.runs
        )
        routed = sample.addresses["access"].value_counts()
        print(
            f"{'the full report, sample (routed)':<34}{sample_s * 1000:>9.0f} ms  ({len(sample.addresses):,}"
            f" addresses: {routed.get('shelter', 0):,} to a shelter, {routed.get('no_room', 0):,} with no"
            f" room; {sample.evacuation.cut_off_buildings:,} buildings cut off; median of {args.runs})"
        )
        with engine.connect() as conn:
            have = conn.scalar(text("SELECT count(*) FROM building"))
        with tempfile.TemporaryDirectory() as folder:
            extra = extra_buildings(engine, args.buildings - have, Path(folder))
            load_file(engine, extra, "buildings", LoadOptions(mode="append", progress=False))
        with engine.connect() as conn:
            counts = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM building), (SELECT sum(ST_Length(geom)) / 1000 FROM road_segment),"
                    " (SELECT sum(ST_Length(geom)) / 1000 FROM water_main), (SELECT count(*) FROM flood_zone WHERE scenario = :s)"
                ),
                {"s": SCENARIO},
            ).one()
        print(
            f"{SCENARIO} over {counts[0]:,} buildings, {counts[1]:.0f} km of road, {counts[2]:.0f} km of mains, "
            f"{counts[3]} zone pieces; median of {args.runs} runs"
        )
        exposure_report(engine, SCENARIO, "civil_protection")  # warm the cache, as a live server is
        ours_s, ours = timed(
            lambda: exposure_report(engine, SCENARIO, "civil_protection"), args.runs
        )
        list_s, _ = timed(lambda: address_list(engine, SCENARIO, "civil_protection"), args.runs)
        # the same report for a planner, who is given no address list: what geopandas answers
        without_s, _ = timed(lambda: exposure_report(engine, SCENARIO, "planner"), args.runs)
        outline = municipality(engine)
        afresh_s, afresh = timed(
            lambda: exposure_report(engine, SCENARIO, "planner", outline), args.runs
        )
        keep_s, _ = timed(lambda: keeping(engine), args.runs)
        read_started = time.perf_counter()
        layers = read_layers(engine)
        read_s = time.perf_counter() - read_started
        theirs_s, theirs = timed(lambda: geopandas_report(layers), args.runs)
        mine = {
            "buildings": int(ours.total("buildings", "buildings")),
            "residents": int(ours.total("buildings", "residents")),
            "road_km": ours.total("roads", "km"),
            "mains_km": ours.total("water_mains", "km"),
            "hotspots": len(ours.rows("wifi_hotspots")),
            "sites": len(ours.rows("critical_sites")),
        }
        table = pd.DataFrame({"PostGIS report": mine, "geopandas overlay": theirs})
        print(table.to_string(float_format=lambda v: f"{v:,.3f}"))
        agree = all(np.isclose(mine[k], theirs[k], rtol=1e-6) for k in mine)
        print(f"{'PostGIS report (ours)':<34}{without_s * 1000:>9.0f} ms")
        print(
            f"{'  with the addresses and evacuation':<34}{ours_s * 1000:>9.0f} ms"
            f"  ({len(ours.addresses):,} addresses, each routed, as civil protection is given them)"
        )
        print(
            f"{'  the address list alone':<34}{list_s * 1000:>9.0f} ms"
            "  (with the water depth at each building)"
        )
        print(
            f"{'  its hits computed afresh':<34}{afresh_s * 1000:>9.0f} ms"
            "  (as for a drawn area: the municipality's outline drawn)"
        )
        print(
            f"{'  keeping its hits, in each load':<34}{keep_s * 1000:>9.0f} ms"
            "  (every scenario, every section)"
        )
        if not same_sections(afresh.sections, ours.sections):
            raise SystemExit("the kept hits and the hits computed afresh differ")
        if len(ours.addresses) != mine["buildings"]:
            raise SystemExit("the address list and the report's buildings differ")
        print(
            f"{'geopandas overlay, data in memory':<34}{theirs_s * 1000:>9.0f} ms  (+ {read_s * 1000:.0f} ms to read the layers)"
        )
        print(
            f"speed-up of the report: {theirs_s / without_s:.1f}x (in memory), {(theirs_s + read_s) / without_s:.1f}x (with reading); answers agree: {agree}"
        )
        if not agree:
            raise SystemExit("the two answers differ")


if __name__ == "__main__":
    main()
