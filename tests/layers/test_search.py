"""The search: names found by PostgreSQL, typo- and diacritic-blind, and only the role's own."""

from __future__ import annotations

import itertools

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import LoadError
from layers.search import find, place_of


def labels(found) -> list[str]:
    return [f.label for f in found]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("krcevina", "Krčevina pri Vurbergu"),  # the real GURS settlement, no diacritics typed
        ("KRČEVINA", "Krčevina pri Vurbergu"),
        ("spodnji velov", "Spodnji Velovlek"),  # as one types
        ("ptuj", "Ptuj"),  # the settlement before everything named after it
    ],
)
def test_a_settlement_is_found_by_its_name_however_it_is_typed(sample_database, typed, first):
    found = find(sample_database.reader, typed, "public")
    assert found and found[0].label == first
    assert found[0].layer == "settlements"


def test_a_street_is_found_without_its_diacritics_and_with_a_typo(sample_database):
    with sample_database.reader.connect() as conn:
        street = conn.scalar(
            text(
                "SELECT name FROM road_segment WHERE name ~ '[čšž].* ulica$' ORDER BY name LIMIT 1"
            )
        )
    plain = street.translate(str.maketrans("čšžČŠŽ", "cszCSZ")).lower()
    typo = plain[:2] + plain[3:]  # one letter left out
    for typed, role in itertools.product((plain, typo, plain.split()[0]), ("planner", "public")):
        found = find(sample_database.reader, typed, role)
        streets = [f for f in found if f.layer == "streets"]
        assert streets and streets[0].label == street, (typed, role)
    # a street of many segments is one answer, outlined whole
    place = place_of(sample_database.reader, streets[0].entry, "planner")
    assert place.feature_id is None and place.shape.geom_type in ("LineString", "MultiLineString")


def test_an_address_is_found_by_staff_and_never_by_the_public(sample_database):
    with sample_database.reader.connect() as conn:
        address = conn.scalar(text("SELECT address FROM building WHERE address ~ ' 5$' LIMIT 1"))
    found = find(sample_database.reader, address.lower(), "planner")
    assert found[0].label == address and found[0].layer == "buildings"
    place = place_of(sample_database.reader, found[0].entry, "planner")
    assert place.feature_id is not None and place.shape.geom_type.endswith("Polygon")
    assert not [
        f for f in find(sample_database.reader, address, "public") if f.layer == "buildings"
    ]
    # nor by an entry's number, taken from a staff member's answer
    assert place_of(sample_database.reader, found[0].entry, "public") is None


def test_codes_and_details_are_searched_too(sample_database):
    natura = find(sample_database.reader, "SI3000", "public")
    assert natura and all(f.layer == "natura2000" and f.detail.startswith("SI3000") for f in natura)
    sensors = find(sample_database.reader, "pm10", "planner")
    assert sensors and all(f.layer == "sensors" for f in sensors)
    public = find(sample_database.reader, "pm10", "public")
    assert not [f for f in public if f.layer == "sensors"], "sensors are for staff"


def test_a_single_letter_finds_nothing(sample_database):
    assert find(sample_database.reader, "p", "planner") == []


def hotspots(path, names):
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": names, "STANJE": ["aktivna"] * len(names)},
        geometry=[Point(566000 + 50 * i, 142000) for i in range(len(names))],
        crs=3794,
    )
    pyogrio.write_dataframe(frame, path)
    return path


def test_a_load_rewrites_its_layers_names_and_a_failed_one_keeps_them(database, tmp_path):
    options = LoadOptions(progress=False, rejects_dir=None)
    load_file(
        database.writer, hotspots(tmp_path / "a.gpkg", ["Vrazov trg"]), "wifi_hotspots", options
    )
    assert labels(find(database.reader, "vrazov", "public")) == ["Vrazov trg"]
    load_file(
        database.writer, hotspots(tmp_path / "b.gpkg", ["Mestni trg"]), "wifi_hotspots", options
    )
    assert find(database.reader, "vrazov", "public") == []
    assert labels(find(database.reader, "mestni", "public")) == ["Mestni trg"]
    broken = tmp_path / "c.gpkg"
    hotspots(broken, ["Novi trg"])
    broken.write_bytes(broken.read_bytes()[:2000])  # cut short: GDAL cannot read it
    with pytest.raises(LoadError):
        load_file(database.writer, broken, "wifi_hotspots", options)
    assert labels(find(database.reader, "mestni", "public")) == ["Mestni trg"]
