"""Write a profile's sample data as the files a municipality receives, plus a manifest.

Each layer comes in the format and CRS it typically arrives in: buildings as a D48/GK shapefile
with cp1250 attributes and no .cpg, roads as a D96/TM shapefile, the utility's mains as a
GeoPackage, hotspots, degraded land, critical sites, shelters and cultural heritage as GeoJSON in WGS 84. Where the profile
describes its floods, an elevation model (``dem.tif``, context only: not loaded) and one
flood-depth GeoTIFF per scenario (``poplave_Q100.tif``) in EPSG:3794 are written beside them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from pyproj import Transformer

from data.profiles import Profile
from data.sample.buildings import build_buildings, landmarks
from data.sample.geography import read_geography
from data.sample.heritage import build_heritage
from data.sample.network import build_mains, build_roads, road_attributes
from data.sample.sensor_models import SampleSensor
from data.sample.sensors import (
    build_sensors,
    period,
    sensor_records,
    write_readings,
)
from data.sample.sites import (
    build_critical_sites,
    build_degraded,
    build_hotspots,
    build_natura,
    build_shelters,
)
from data.sample.terrain import NODATA, build_terrain
from layers.spec import STORAGE_SRID

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
    OutputFile("critical_sites", "objekti_posebnega_pomena.geojson", "GeoJSON", 4326),
    OutputFile("heritage", "kulturna_dediscina.geojson", "GeoJSON", 4326),
    OutputFile("shelters", "zbirna_mesta.geojson", "GeoJSON", 4326),
    OutputFile("sensors", "senzorji.geojson", "GeoJSON", 4326),
)
READINGS_FILE = "meritve.parquet"
DEM_FILE = "dem.tif"
RASTER_PROFILE = {"driver": "GTiff", "compress": "deflate", "predictor": 3, "tiled": True}


def build_layers(
    profile: Profile, readings_end: dt.datetime | None = None, readings: int | None = None
) -> tuple[dict[str, gpd.GeoDataFrame], list[SampleSensor]]:
    """Every sample layer as a GeoDataFrame in source column names, in EPSG:3794 or 4326, and
    the sensors whose readings run up to ``readings_end`` (about ``readings`` of them)."""
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

    buildings = build_buildings(segments, fixed, sample, geo, rng)

    layers = {
        "water_bodies": geo.water.rename(columns={"name": "IME", "kind": "VRSTA"}),
        "natura2000": frame(build_natura(sample, geo, segments, rng)),
        "degraded_land": frame(build_degraded(sample, geo, rng)),
        "water_mains": gpd.GeoDataFrame(main_records, geometry=mains, crs=STORAGE_SRID),
        "roads": gpd.GeoDataFrame(
            road_attributes(segments, rng), geometry=[s.line for s in segments], crs=STORAGE_SRID
        ),
        "buildings": frame(buildings),
        "wifi_hotspots": frame(build_hotspots(sample, rng), crs=4326),
    }
    if sample.get("critical_sites"):  # a profile without them writes no empty file
        layers["critical_sites"] = frame(
            build_critical_sites(sample, geo, buildings, mains, to_3794)
        )
    if sample.get("shelters"):
        layers["shelters"] = frame(build_shelters(sample, geo, buildings, to_3794))
    if sample.get("heritage"):  # its own generator: the other layers stay as they were
        heritage = build_heritage(sample, geo, np.random.default_rng(sample["seed"] + 4), to_3794)
        layers["heritage"] = frame(heritage)
    sensors = []
    if "sensors" in sample:
        config = sample["sensors"]
        end = readings_end or _now()
        start, scale = period(config, readings or config["readings"], end)
        rng_sensors = np.random.default_rng(
            sample["seed"] + 2
        )  # the other layers stay as they were
        sensors = build_sensors(
            config, geo, segments, buildings, mains, rng_sensors, (end - start).days, scale
        )
        layers["sensors"] = frame(sensor_records(sensors))
    return layers, sensors


def _now() -> dt.datetime:
    """The end of the sample's readings: this hour, so the sample looks live when made."""
    return dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)


def write_sensor_readings(
    profile: Profile,
    sensors: list[SampleSensor],
    folder: Path,
    end: dt.datetime,
    target: int | None,
) -> list[dict]:
    """The readings file and its manifest entry (none for a profile without sensors)."""
    if not sensors:
        return []
    config = profile.sample["sensors"]
    start, _ = period(config, target or config["readings"], end)
    count = write_readings(sensors, start, end, profile.sample["seed"] + 3, folder / READINGS_FILE)
    return [
        {
            "layer": "sensor_readings",
            "path": READINGS_FILE,
            "features": count,
            "options": sample_options(),
        }
    ]


def write_rasters(profile: Profile, folder: Path) -> list[dict]:
    """The elevation model and a depth GeoTIFF per flood scenario; their manifest entries."""
    if "flood" not in profile.sample:
        return []
    rng = np.random.default_rng(profile.sample["seed"] + 1)
    grid, ground, depths = build_terrain(profile.sample, read_geography(profile), rng)
    meta = {
        **RASTER_PROFILE,
        "height": grid.shape[0],
        "width": grid.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": f"EPSG:{STORAGE_SRID}",
        "transform": grid.transform,
    }
    with rasterio.open(folder / DEM_FILE, "w", **meta) as dem:
        dem.write(ground, 1)
        dem.update_tags(1, unit="m", description="nadmorska višina / elevation")
    entries = []
    for scenario, depth in depths.items():
        name = f"poplave_{scenario}.tif"
        with rasterio.open(folder / name, "w", nodata=NODATA, **meta) as out:
            out.write(depth, 1)
            out.update_tags(1, unit="m", description=f"globina vode / water depth, {scenario}")
        entries.append(
            {
                "layer": "flood_hazard",
                "path": name,
                "features": int((depth > 0).sum()),  # flooded cells
                "options": {**sample_options(), "scenario": scenario},
            }
        )
        log.info("wrote %s: %d flooded cells", name, entries[-1]["features"])
    return entries


def sample_options(source_layer: str | None = None) -> dict:
    return {
        "source_layer": source_layer,
        "licence": SAMPLE_LICENCE,
        "provider": SAMPLE_PROVIDER,
        "synthetic": True,
    }


def write_sample(
    profile: Profile, out_dir: Path | None = None, readings: int | None = None
) -> Path:
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
    end = _now()
    layers, sensors = build_layers(profile, end, readings)
    manifest = []
    for output in (o for o in OUTPUTS if o.layer in layers):
        target = staging / output.file
        frame = layers[output.layer].to_crs(output.crs)
        write_options = {"layer": output.source_layer} if output.source_layer else {}
        if output.encoding:
            write_options["encoding"] = output.encoding
        pyogrio.write_dataframe(frame, target, driver=output.driver, **write_options)
        if output.drop_cpg:
            target.with_suffix(".cpg").unlink(missing_ok=True)
        manifest.append(
            {
                "layer": output.layer,
                "path": output.file,
                "features": len(frame),
                "options": sample_options(output.source_layer),
            }
        )
        log.info("wrote %s: %d features", output.file, len(frame))
    manifest.extend(write_rasters(profile, staging))
    manifest.extend(write_sensor_readings(profile, sensors, staging, end, readings))
    (staging / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir / MANIFEST
