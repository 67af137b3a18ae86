"""ETL round trips through every format and CRS, and refusals that leave the database as it was."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import ConfigurationError, LoadError

# Three hotspots in Ptuj's old town, in EPSG:3794, with the letters cp1250 must carry.
HOTSPOTS_3794 = gpd.GeoDataFrame(
    {
        "LOKACIJA": ["Čučkova ulica", "Šolski trg", "Žnidaričevo nabrežje"],
        "STANJE": ["aktivna", "aktivna", "v vzdrževanju"],
    },
    geometry=[Point(566890.0, 142614.0), Point(567020.5, 142701.25), Point(566700.0, 142350.0)],
    crs=3794,
)

# (file name, GDAL driver, EPSG, encoding, drop the .cpg, tolerance in metres after the round trip)
FORMATS = {
    "shapefile-d48gk-cp1250": ("tocke.shp", "ESRI Shapefile", 3912, "cp1250", True, 0.01),
    "shapefile-d96tm-utf8": ("tocke.shp", "ESRI Shapefile", 3794, "UTF-8", False, 0.001),
    "geopackage-d96tm": ("tocke.gpkg", "GPKG", 3794, None, False, 0.001),
    "geopackage-laea": ("tocke.gpkg", "GPKG", 3035, None, False, 0.01),
    "geojson-wgs84": ("tocke.geojson", "GeoJSON", 4326, None, False, 0.01),
    "geojson-webmercator": ("tocke.geojson", "GeoJSON", 3857, None, False, 0.01),
}


def write(frame: gpd.GeoDataFrame, path, driver="GeoJSON", encoding=None, **options):
    pyogrio.write_dataframe(
        frame, path, driver=driver, **({"encoding": encoding} if encoding else {}), **options
    )
    return path


def hotspot_rows(database):
    with database.writer.connect() as conn:
        return conn.execute(
            text(
                "SELECT location_name, status, ST_X(geom), ST_Y(geom), ST_SRID(geom)"
                " FROM wifi_hotspot ORDER BY location_name"
            )
        ).all()


@pytest.mark.parametrize("kind", FORMATS)
def test_each_format_and_crs_lands_in_d96tm_with_its_letters(database, tmp_path, kind):
    name, driver, epsg, encoding, drop_cpg, tolerance = FORMATS[kind]
    path = write(HOTSPOTS_3794.to_crs(epsg), tmp_path / name, driver, encoding)
    if drop_cpg:
        path.with_suffix(".cpg").unlink()

    report = load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))

    assert (report.loaded, report.rejected) == (3, 0)
    rows = hotspot_rows(database)
    expected = HOTSPOTS_3794.sort_values("LOKACIJA")
    assert [r[0] for r in rows] == expected["LOKACIJA"].tolist()
    for row, point in zip(rows, expected.geometry, strict=True):
        assert row[4] == 3794
        assert abs(row[2] - point.x) < tolerance and abs(row[3] - point.y) < tolerance
    with database.writer.connect() as conn:
        catalogued = conn.execute(
            text("SELECT source_crs, features_loaded, sha256 FROM dataset_load")
        ).one()
    assert catalogued[0] == f"EPSG:{epsg}" and catalogued[1] == 3 and len(catalogued[2]) == 64


def test_the_central_meridian_lands_on_the_false_easting(database, tmp_path):
    # D96/TM: central meridian 15° E, false easting 500 000 m; ETRS89 and WGS 84 agree to cm here.
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["Meridian"], "STANJE": ["aktivna"]}, geometry=[Point(15.0, 46.2)], crs=4326
    )
    load_file(
        database.writer,
        write(frame, tmp_path / "m.geojson"),
        "wifi_hotspots",
        LoadOptions(progress=False),
    )
    assert abs(hotspot_rows(database)[0][2] - 500_000.0) < 0.01


def test_the_real_ptuj_boundary_has_its_official_area(database):
    from data.profiles import load_profile

    boundary = next(d for d in load_profile("ptuj").real if d.layer == "municipality")
    load_file(database.writer, boundary.path, "municipality", LoadOptions(progress=False))
    with database.writer.connect() as conn:
        name, area = conn.execute(text("SELECT name, ST_Area(geom) / 1e6 FROM municipality")).one()
    assert name == "Ptuj" and area == pytest.approx(66.60, abs=0.01)  # GURS: POV_KM2 66.6


def test_a_file_without_crs_is_refused_and_the_layer_kept(database, tmp_path):
    load_file(
        database.writer,
        write(HOTSPOTS_3794, tmp_path / "good.gpkg", "GPKG"),
        "wifi_hotspots",
        LoadOptions(progress=False),
    )
    path = write(HOTSPOTS_3794.iloc[:1], tmp_path / "bad.shp", "ESRI Shapefile", "UTF-8")
    path.with_suffix(".prj").unlink()

    with pytest.raises(LoadError, match=r"bad\.shp.*wifi_hotspots.*no coordinate system.*--crs"):
        load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))

    assert database.count("wifi_hotspot") == 3
    report = load_file(
        database.writer, path, "wifi_hotspots", LoadOptions(crs="EPSG:3794", progress=False)
    )
    assert report.loaded == 1 and database.count("wifi_hotspot") == 1


def test_a_missing_required_field_is_named(database, tmp_path):
    path = write(HOTSPOTS_3794.drop(columns="LOKACIJA"), tmp_path / "no_name.geojson")
    with pytest.raises(
        LoadError, match=r"no_name\.geojson.*required fields missing: location_name"
    ):
        load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))


def test_an_unreadable_file_is_refused(database, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_bytes(b"\x00\x01 this is not GeoJSON")
    with pytest.raises(LoadError, match=r"broken\.geojson.*cannot be read"):
        load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))


def test_an_unknown_layer_lists_the_known_ones(database, tmp_path):
    with pytest.raises(ConfigurationError, match=r"unknown layer 'parks'.*wifi_hotspots"):
        load_file(database.writer, tmp_path / "x.geojson", "parks", LoadOptions(progress=False))


def test_a_wrongly_declared_crs_is_refused_with_that_suspicion(database, tmp_path):
    # D96/TM metres declared as WGS 84 degrees: the points land nowhere near Slovenia.
    wrong = HOTSPOTS_3794.set_crs(4326, allow_override=True)
    path = write(wrong, tmp_path / "swapped.geojson")
    with pytest.raises(LoadError, match=r"outside Slovenia.*CRS is probably wrong"):
        load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))


def test_bad_rows_are_rejected_with_reasons_and_the_rest_loaded(database, tmp_path):
    roads = gpd.GeoDataFrame(
        {
            "IME": ["Ormoška cesta", "Potrčeva cesta", None, "Rogozniška cesta"],
            "KATEGORIJA": ["regionalna cesta", "mestna cesta", "mestna cesta", "mestna cesta"],
            "STANJE": ["2", "sedem", "3", "9"],
            "PREGLED": ["2025/04/01", "2024-05-02", "2024-05-02", "1. 6. 2023"],
        },
        geometry=[LineString([(566900, 142600), (567100, 142700)])] * 4,
        crs=3794,
    )
    report = load_file(
        database.writer,
        write(roads, tmp_path / "ceste.geojson"),
        "roads",
        LoadOptions(progress=False, rejects_dir=tmp_path / "rejects"),
    )
    assert (report.loaded, report.rejected) == (1, 3)
    rejects = json.loads(report.rejects_file.read_text())["features"]
    reasons = {f["properties"]["IME"]: f["properties"]["reject_reason"] for f in rejects}
    assert reasons["Potrčeva cesta"].startswith("condition:")
    assert "required value missing" in reasons[None]
    assert "not one of" in reasons["Rogozniška cesta"]
    summary = json.loads((tmp_path / "rejects" / "ceste.roads.summary.json").read_text())
    assert (summary["loaded"], summary["rejected"]) == (1, 3)
    assert summary["reasons"] == {"condition": 2, "name": 1}
    with database.writer.connect() as conn:
        assert conn.execute(text("SELECT name, last_survey::text FROM road_segment")).one() == (
            "Ormoška cesta",
            "2025-04-01",
        )


def test_text_is_trimmed_blank_text_is_missing_and_numbers_in_text_fields_become_text(
    database, tmp_path
):
    roads = gpd.GeoDataFrame(
        {
            "IME": ["  Ormoška cesta ", "Potrčeva cesta"],
            "KATEGORIJA": ["regionalna cesta", "mestna cesta"],
            "STANJE": [2, 3],
            "VOZISCE": ["   ", "asfalt"],
        },
        geometry=[LineString([(566900, 142600), (567100, 142700)])] * 2,
        crs=3794,
    )
    surfaces_as_codes = roads.assign(IME=["Ormoška cesta", "Rogozniška cesta"], VOZISCE=[7, 12])
    path = write(roads, tmp_path / "ceste.geojson")
    load_file(database.writer, path, "roads", LoadOptions(progress=False, rejects_dir=None))
    with database.writer.connect() as conn:
        rows = conn.execute(text("SELECT name, surface FROM road_segment ORDER BY id")).all()
    assert rows == [("Ormoška cesta", None), ("Potrčeva cesta", "asfalt")]
    path = write(surfaces_as_codes, tmp_path / "ceste-kode.geojson")
    load_file(database.writer, path, "roads", LoadOptions(progress=False, rejects_dir=None))
    with database.writer.connect() as conn:
        rows = conn.execute(text("SELECT name, surface FROM road_segment ORDER BY id")).all()
    assert rows == [("Ormoška cesta", "7"), ("Rogozniška cesta", "12")]


def test_a_layer_drawn_from_another_is_loaded_through_it_and_searched_after_it(database, tmp_path):
    streets = gpd.GeoDataFrame(
        {"IME": ["Vičava"], "KATEGORIJA": ["mestna cesta"], "STANJE": [2]},
        geometry=[LineString([(566900, 142600), (567100, 142700)])],
        crs=3794,
    )
    path = write(streets, tmp_path / "ulice.geojson")
    with pytest.raises(LoadError, match=r"ulice\.geojson.*streets.*load the file into roads"):
        load_file(database.writer, path, "streets", LoadOptions(progress=False))
    with database.writer.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM road_segment")) == 0
    load_file(database.writer, path, "roads", LoadOptions(progress=False, rejects_dir=None))
    with database.writer.connect() as conn:
        searched = conn.execute(text("SELECT layer, label FROM search_entry")).all()
    assert searched == [("streets", "Vičava")]


def test_a_self_crossing_polygon_is_repaired_and_counted(database, tmp_path):
    bowtie = Polygon([(566000, 142000), (566100, 142100), (566100, 142000), (566000, 142100)])
    frame = gpd.GeoDataFrame(
        {"IME": ["Gramoznica"], "VRSTA": ["gramoznica"], "STANJE": ["neaktivno"]},
        geometry=[bowtie],
        crs=3794,
    )
    report = load_file(
        database.writer,
        write(frame, tmp_path / "bowtie.geojson"),
        "degraded_land",
        LoadOptions(progress=False),
    )
    assert (report.loaded, report.repaired) == (1, 1)
    with database.writer.connect() as conn:
        valid, kind, area = conn.execute(
            text("SELECT ST_IsValid(geom), GeometryType(geom), ST_Area(geom) FROM degraded_land")
        ).one()
    assert valid and kind == "MULTIPOLYGON" and area == pytest.approx(5000, rel=1e-6)


def test_a_value_the_database_refuses_rolls_back_the_whole_load(database, tmp_path):
    mains = gpd.GeoDataFrame(
        {"MATERIAL": ["PE-HD", "PE-HD"], "PREMER": [110, 100]},
        geometry=[LineString([(566000, 142000), (566100, 142050)])] * 2,
        crs=3794,
    )
    load_file(
        database.writer,
        write(mains, tmp_path / "good.gpkg", "GPKG"),
        "water_mains",
        LoadOptions(progress=False),
    )
    mains["PREMER"] = [150, -5]  # the schema's CHECK refuses a negative diameter
    with pytest.raises(LoadError, match="database refused the rows"):
        load_file(
            database.writer,
            write(mains, tmp_path / "bad.gpkg", "GPKG"),
            "water_mains",
            LoadOptions(progress=False),
        )
    with database.writer.connect() as conn:
        assert sorted(conn.scalars(text("SELECT diameter_mm FROM water_main"))) == [100, 110]
        assert conn.scalar(text("SELECT count(*) FROM dataset_load")) == 1


def test_the_same_file_twice_is_skipped_unless_forced(database, tmp_path):
    path = write(HOTSPOTS_3794, tmp_path / "tocke.geojson")
    load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))
    assert load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False)).skipped
    assert not load_file(
        database.writer, path, "wifi_hotspots", LoadOptions(force=True, progress=False)
    ).skipped
    assert database.count("dataset_load") == 2


def test_a_geopackage_with_several_layers_needs_a_choice(database, tmp_path):
    path = tmp_path / "komunala.gpkg"
    write(HOTSPOTS_3794, path, "GPKG", layer="tocke")
    write(HOTSPOTS_3794.iloc[:1], path, "GPKG", layer="rezerva", append=False)
    with pytest.raises(LoadError, match=r"holds 2 layers: .*--source-layer"):
        load_file(database.writer, path, "wifi_hotspots", LoadOptions(progress=False))
    report = load_file(
        database.writer, path, "wifi_hotspots", LoadOptions(source_layer="rezerva", progress=False)
    )
    assert report.loaded == 1


def test_z_values_are_dropped_and_single_parts_unified(database, tmp_path):
    line = LineString([(566000, 142000, 230.0), (566100, 142050, 231.0)])
    frame = gpd.GeoDataFrame({"MATERIAL": ["PE-HD"], "PREMER": [110]}, geometry=[line], crs=3794)
    load_file(
        database.writer,
        write(frame, tmp_path / "z.gpkg", "GPKG"),
        "water_mains",
        LoadOptions(progress=False),
    )
    with database.writer.connect() as conn:
        kind, dims = conn.execute(
            text("SELECT GeometryType(geom), ST_NDims(geom) FROM water_main")
        ).one()
    assert (kind, dims) == ("MULTILINESTRING", 2)
    assert shapely.__version__  # shapely is what repaired it; keep the import honest


def test_a_file_whose_every_row_is_refused_keeps_them_and_the_layer(database, tmp_path):
    load_file(
        database.writer,
        write(HOTSPOTS_3794, tmp_path / "good.gpkg", "GPKG"),
        "wifi_hotspots",
        LoadOptions(progress=False),
    )
    nameless = HOTSPOTS_3794.assign(LOKACIJA=None)
    path = write(nameless, tmp_path / "brez_imen.geojson")
    with pytest.raises(
        LoadError, match=r"no feature could be loaded \(3 rejected.*rejects\.geojson"
    ):
        load_file(
            database.writer,
            path,
            "wifi_hotspots",
            LoadOptions(progress=False, rejects_dir=tmp_path / "rejects"),
        )
    kept = json.loads(
        (tmp_path / "rejects" / "brez_imen.wifi_hotspots.rejects.geojson").read_text()
    )
    assert len(kept["features"]) == 3
    assert database.count("wifi_hotspot") == 3
