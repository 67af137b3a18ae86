"""The ETL as a GIS officer runs it: `python -m etl ...`, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pyogrio
from shapely.geometry import Point


def etl(database, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "etl", *args],
        capture_output=True,
        text=True,
        env=database.environment(),
        timeout=120,
        check=False,
    )


def test_load_then_catalog(database, tmp_path):
    path = tmp_path / "tocke.geojson"
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["Mestni trg"], "STANJE": ["aktivna"]},
        geometry=[Point(15.8702, 46.4199)],
        crs=4326,
    )
    pyogrio.write_dataframe(frame, path)

    loaded = etl(database, "load", str(path), "--layer", "wifi_hotspots", "--licence", "CC BY 4.0")
    assert loaded.returncode == 0, loaded.stderr
    assert "wifi_hotspots: 1 loaded, 0 rejected" in loaded.stdout
    assert "rows/s" in loaded.stderr  # the progress bar

    catalog = etl(database, "catalog")
    assert catalog.returncode == 0
    assert (
        "tocke.geojson" in catalog.stdout
        and "EPSG:4326" in catalog.stdout
        and "CC BY 4.0" in catalog.stdout
    )

    portal = json.loads(etl(database, "catalog", "--json").stdout)
    (dataset,) = portal["dcat:dataset"]
    assert dataset["dct:identifier"] == "wifi_hotspots" and dataset["dct:accessRights"] == "public"
    assert dataset["dct:license"] == "CC BY 4.0" and dataset["features"] == 1
    assert dataset["dct:title"] == {"sl": "Točke WiFi4EU", "en": "Wi-Fi hotspots"}


def test_a_file_without_crs_exits_2_naming_the_file_and_the_fix(database, tmp_path):
    path = tmp_path / "brez_prj.shp"
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["Vrazov trg"], "STANJE": ["aktivna"]},
        geometry=[Point(566890, 142614)],
        crs=3794,
    )
    pyogrio.write_dataframe(frame, path)
    path.with_suffix(".prj").unlink()

    result = etl(database, "load", str(path), "--layer", "wifi_hotspots")

    assert result.returncode == 2
    assert "brez_prj.shp" in result.stderr and "--crs EPSG:3794" in result.stderr
    assert "nima koordinatnega sistema" in result.stderr  # and in Slovenian
    assert database.count("wifi_hotspot") == 0


def test_an_unknown_layer_exits_2(database, tmp_path):
    result = etl(database, "load", str(tmp_path / "x.geojson"), "--layer", "parki")
    assert result.returncode == 2 and "unknown layer 'parki'" in result.stderr
