"""Write a profile's sample data as the files a municipality receives, plus a manifest.

Each layer comes in the format and CRS it typically arrives in: buildings as a D48/GK shapefile
with cp1250 attributes and no .cpg, roads as a D96/TM shapefile, the utility's mains as a
GeoPackage, hotspots and degraded land as GeoJSON in WGS 84.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from pyproj import Transformer

from data.profiles import Profile
from data.sample.buildings import build_buildings, landmarks
from data.sample.geography import read_geography
from data.sample.network import build_mains, build_roads, road_attributes
from data.sample.sites import build_degraded, build_hotspots, build_natura
from layers.registry import STORAGE_SRID

log = logging.getLogger(__name__)

SAMPLE_LICENCE = "CC0 1.0 (sintetični vzorec / synthetic sample)"
SAMPLE_PROVIDER = "vzorčni generator / sample generator"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class OutputFile:
    """How one layer is written: file name, GDAL driver, CRS, encoding, layer name."""

    layer: str
    file: str
    driver: str
    crs: int
    encoding: str | None = None
    source_layer: str | None = None
    drop_cpg: bool = False  # as Slovenian authorities' shapefiles come: cp1250 with no .cpg


OUTPUTS = (
    OutputFile("water_bodies", "vodotoki.gpkg", "GPKG", 3794, source_layer="vodotoki"),
    OutputFile("natura2000", "natura2000.gpkg", "GPKG", 3794, source_layer="natura2000"),
    OutputFile("degraded_land", "degradirana_obmocja.geojson", "GeoJSON", 4326),
    OutputFile("water_mains", "vodovod.gpkg", "GPKG", 3794, source_layer="vodovod"),
    OutputFile("roads", "ceste.shp", "ESRI Shapefile", 3794, encoding="UTF-8"),
    OutputFile("buildings", "stavbe.shp", "ESRI Shapefile", 3912, encoding="cp1250", drop_cpg=True),
    OutputFile("wifi_hotspots", "wifi_tocke.geojson", "GeoJSON", 4326),
)


def build_layers(profile: Profile) -> dict[str, gpd.GeoDataFrame]:
    """Every sample layer as a GeoDataFrame in source column names, in EPSG:3794 or 4326."""
    sample = profile.sample
    rng = np.random.default_rng(sample["seed"])
    geo = read_geography(profile)
    to_3794 = Transformer.from_crs(4326, STORAGE_SRID, always_xy=True).transform
    fixed = landmarks(sample, to_3794)
    # no street runs through a landmark
    segments = [
        s
        for s in build_roads(sample, geo, rng)
        if all(s.line.distance(f["geometry"]) > 5 for f in fixed)
    ]
    mains, main_records = build_mains(segments, sample, geo, rng)

    def frame(records: list[dict], crs: int = STORAGE_SRID) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(records, geometry="geometry", crs=crs)

    return {
        "water_bodies": geo.water.rename(columns={"name": "IME", "kind": "VRSTA"}),
        "natura2000": frame(build_natura(sample, geo, segments, rng)),
        "degraded_land": frame(build_degraded(sample, geo, rng)),
        "water_mains": gpd.GeoDataFrame(main_records, geometry=mains, crs=STORAGE_SRID),
        "roads": gpd.GeoDataFrame(
            road_attributes(segments, rng), geometry=[s.line for s in segments], crs=STORAGE_SRID
        ),
        "buildings": frame(build_buildings(segments, fixed, sample, geo, rng)),
        "wifi_hotspots": frame(build_hotspots(sample, rng), crs=4326),
    }


def write_sample(profile: Profile, out_dir: Path | None = None) -> Path:
    """Build the sample and write its files and ``manifest.json`` to ``out_dir``.

    Returns the manifest's path. Files are written to a temporary folder first and moved in
    whole, so an interrupted run never leaves half a sample.
    """
    out_dir = out_dir or profile.generated_dir
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # GeoPackages stamp the time of writing; a fixed one keeps the files identical run to run.
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00Z"})
    layers = build_layers(profile)
    manifest = []
    for output in OUTPUTS:
        target = staging / output.file
        frame = layers[output.layer].to_crs(output.crs)
        write_options = {"layer": output.source_layer} if output.source_layer else {}
        if output.encoding:
            write_options["encoding"] = output.encoding
        pyogrio.write_dataframe(frame, target, driver=output.driver, **write_options)
        if output.drop_cpg:
            target.with_suffix(".cpg").unlink(missing_ok=True)
        options = {
            "source_layer": output.source_layer,
            "licence": SAMPLE_LICENCE,
            "provider": SAMPLE_PROVIDER,
            "synthetic": True,
        }
        manifest.append(
            {"layer": output.layer, "path": output.file, "features": len(frame), "options": options}
        )
        log.info("wrote %s: %d features", output.file, len(frame))
    (staging / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir / MANIFEST
