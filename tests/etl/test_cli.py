"""The ETL as a GIS officer runs it: `python -m etl ...`, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pyogrio
from shapely.geometry import Point
from sqlalchemy import text


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


def test_a_profile_load_of_what_is_missing_leaves_the_rest_alone(database, ptuj_sample):
    """An older database gains the layers it lacks; a scenario loaded by hand stays."""
    from data.profiles import load_profile
    from etl.load import LoadOptions, load_file
    from etl.profile import load_profile_data

    by_hand = LoadOptions(scenario="Q100", provider="ARSO", progress=False)
    load_file(database.writer, ptuj_sample / "poplave_Q10.tif", "flood_hazard", by_hand)
    reports = load_profile_data(
        database.writer, load_profile("ptuj"), ptuj_sample, progress=False, missing_only=True
    )
    loaded = [(r.layer, r.path.name) for r in reports]
    assert ("flood_hazard", "poplave_Q100.tif") not in loaded
    assert ("flood_hazard", "poplave_Q10.tif") in loaded and ("buildings", "stavbe.shp") in loaded
    with database.reader.connect() as conn:
        provider = conn.scalar(
            text("SELECT provider FROM dataset_load WHERE part = 'Q100' ORDER BY id DESC LIMIT 1")
        )
    assert provider == "ARSO"
    again = load_profile_data(
        database.writer, load_profile("ptuj"), ptuj_sample, progress=False, missing_only=True
    )
    assert again == []


def test_a_load_command_records_the_walls_indicators_once_a_dry_run_none(
    database, ptuj_sample, monkeypatch
):
    from etl.__main__ import main

    for name, value in database.variables().items():
        monkeypatch.setenv(name, value)
    hotspots, buildings = ptuj_sample / "wifi_tocke.geojson", ptuj_sample / "stavbe.shp"
    assert main(["load", str(hotspots), "--layer", "wifi_hotspots"]) == 0
    assert database.count("indicator_snapshot") == 0  # no indicator has all its layers yet
    assert main(["load", str(buildings), "--layer", "buildings", "--dry-run"]) == 0
    assert database.count("indicator_snapshot") == 0
    assert main(["load", str(buildings), "--layer", "buildings"]) == 0
    with database.reader.connect() as conn:
        recorded = conn.scalars(text("SELECT indicator FROM indicator_snapshot")).all()
    assert recorded == ["wifi_per_100k"]
