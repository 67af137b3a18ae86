"""The exported files, read back by GDAL's own tools and by Python's csv as a spreadsheet would:
the features, their fields and their places as the database holds them."""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest

from dashboards.exports import exported
from layers.registry import layer
from layers.selection import Scope, features

BUILDINGS = layer("buildings")


@pytest.fixture(scope="module")
def some_buildings(sample_database):
    frame = features(sample_database.reader, Scope(BUILDINGS), "planner")
    chosen = frame[frame["floor_area_m2"].notna()].iloc[:40]
    return chosen.reset_index(drop=True)


def ogrinfo(path, *arguments: str) -> str:
    done = subprocess.run(["ogrinfo", *arguments, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_geopackage_is_in_d96tm_with_every_field(some_buildings, tmp_path):
    path = tmp_path / "stavbe.gpkg"
    path.write_bytes(exported(some_buildings, BUILDINGS, "gpkg"))
    said = ogrinfo(path, "-so", "-al")
    assert f"Feature Count: {len(some_buildings)}" in said
    assert 'ID["EPSG",3794]' in said
    for field in BUILDINGS.fields:
        assert f"\n{field.name}: " in said


def test_the_geojson_is_in_wgs84_where_the_buildings_are(some_buildings, tmp_path):
    path = tmp_path / "stavbe.geojson"
    path.write_bytes(exported(some_buildings, BUILDINGS, "geojson"))
    assert f"Feature Count: {len(some_buildings)}" in ogrinfo(path, "-so", "-al")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in document  # RFC 7946: WGS 84 longitude, latitude, said by no member
    lon, lat = document["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 15.7 < lon < 16.0 and 46.3 < lat < 46.5  # Ptuj
    first = document["features"][0]["properties"]
    assert first["address"] == some_buildings["address"][0]


@pytest.mark.parametrize(("convention", "delimiter", "mark"), [("sl", ";", ","), ("en", ",", ".")])
def test_the_csv_opens_in_columns_in_its_convention(some_buildings, convention, delimiter, mark):
    data = exported(some_buildings, BUILDINGS, f"csv_{convention}")
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after a byte-order mark
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))
    assert len(rows) == len(some_buildings)
    first, expected = rows[0], some_buildings.iloc[0]
    assert first["address"] == expected["address"]
    area = float(first["floor_area_m2"].replace(mark, "."))
    assert area == pytest.approx(expected["floor_area_m2"])
    east = float(first["e_d96tm"].replace(mark, "."))
    assert expected.geometry.bounds[0] <= east <= expected.geometry.bounds[2]
