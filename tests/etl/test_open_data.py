"""The open layers' downloads: a GeoPackage each and one of all, read back by GDAL's own ogrinfo."""

from __future__ import annotations

import re
import shutil
import subprocess

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.open_data import (
    ALL_LAYERS_FILE,
    download_name,
    open_layers,
    stale_downloads,
    write_downloads,
)
from layers.queries import read_columns
from layers.registry import LAYERS
from tests.etl.test_cli import etl

FIELD_LINE = re.compile(r"^(\w+): (?:String|Integer|Integer64|Real|Date|DateTime)\b", re.M)


def ogrinfo(path, layer: str) -> str:
    """What GDAL's command-line tool says of one layer of a file (Debian's gdal-bin)."""
    return subprocess.run(
        ["ogrinfo", "-so", "-ro", str(path), layer],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_each_open_layer_downloads_with_what_the_public_sees_and_no_more(sample_database, tmp_path):
    written = write_downloads(sample_database.writer, tmp_path)
    opened = open_layers()
    assert {p.name for p in written} == {download_name(s) for s in opened} | {ALL_LAYERS_FILE}
    staff = [s for s in LAYERS.values() if "public" not in s.roles]
    assert staff and not any((tmp_path / download_name(s)).exists() for s in staff)
    with sample_database.writer.connect() as conn:
        for spec in opened:
            count = conn.scalar(text(f'SELECT count(*) FROM "{spec.read_table}"'))  # noqa: S608
            for path in (tmp_path / download_name(spec), tmp_path / ALL_LAYERS_FILE):
                said = ogrinfo(path, spec.id)
                assert f"Feature Count: {count}\n" in said, (spec.id, said)
                assert FIELD_LINE.findall(said) == read_columns(spec)[1:]  # the fid is the id
                assert "LICENCE=" in said and 'EPSG",3794' in said


def hotspots_file(tmp_path, names: list[str]):
    path = tmp_path / "tocke.geojson"
    gpd.GeoDataFrame(
        {"LOKACIJA": names, "STANJE": ["aktivna"] * len(names)},
        geometry=[Point(15.8702, 46.4199)] * len(names),
        crs=4326,
    ).to_file(path, driver="GeoJSON")
    return path


def test_every_load_rewrites_the_downloads_with_only_the_open_layers(database, tmp_path):
    folder = tmp_path / "odprto"
    options = LoadOptions(progress=False, force=True, open_data_dir=folder)
    load_file(database.writer, hotspots_file(tmp_path, ["Mestni trg"]), "wifi_hotspots", options)
    assert "Feature Count: 1\n" in ogrinfo(folder / "wifi_hotspots.gpkg", "wifi_hotspots")
    shutil.copy(folder / "wifi_hotspots.gpkg", folder / "degraded_land.gpkg")  # once open, say
    load_file(database.writer, hotspots_file(tmp_path, ["A", "B"]), "wifi_hotspots", options)
    assert "Feature Count: 2\n" in ogrinfo(folder / ALL_LAYERS_FILE, "wifi_hotspots")
    assert not (folder / "degraded_land.gpkg").exists()  # a staff layer's file is deleted
    assert sorted(p.name for p in folder.glob("*.gpkg")) == [ALL_LAYERS_FILE, "wifi_hotspots.gpkg"]
    assert not list(folder.glob(".new-*"))  # nothing half-written left behind


def test_a_download_the_registry_no_longer_matches_is_stale(database, tmp_path):
    folder = tmp_path / "odprto"
    options = LoadOptions(progress=False, open_data_dir=folder)
    load_file(database.writer, hotspots_file(tmp_path, ["Mestni trg"]), "wifi_hotspots", options)
    assert stale_downloads(folder) == set()
    extra = gpd.read_file(folder / "wifi_hotspots.gpkg").assign(owner="Telekom")
    extra.to_file(folder / "wifi_hotspots.gpkg", layer="wifi_hotspots")  # a field since removed
    shutil.copy(folder / "wifi_hotspots.gpkg", folder / "buildings.gpkg")  # a layer not open
    assert stale_downloads(folder) == {"wifi_hotspots.gpkg", "buildings.gpkg"}


def test_the_command_line_writes_the_downloads_where_the_settings_say(database, tmp_path):
    run = etl(
        database, "load", str(hotspots_file(tmp_path, ["Mestni trg"])), "--layer", "wifi_hotspots"
    )
    assert run.returncode == 0, run.stderr
    assert (database.open_data_dir / "wifi_hotspots.gpkg").exists()
