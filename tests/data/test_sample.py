"""The Ptuj sample respects the brief's facts, is plausible, and is the same every time."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from sqlalchemy import text

from data.profiles import load_profile
from data.sample.generate import build_layers
from layers.exposure import exposure_report
from layers.network import EDGES_SQL
from layers.registry import LAYERS

PTUJ = load_profile("ptuj")
HOTSPOT_PLACES = {
    "Tržnica",
    "Mestni park",
    "Minoritski trg",
    "Lackova ulica",
    "Vrazov trg",
    "Mestni trg",
    "Murkova ulica",
    "Slovenski trg",
    "Prešernova ulica",
    "Slomškova ulica",
    "Grad Ptuj, spodnje dvorišče",
    "Grad Ptuj, zgornje dvorišče",
    "Parkirišče pod gradom",
}


def sum_in(database, sql: str) -> float:
    with database.reader.connect() as conn:
        return conn.scalar(text(sql))


def test_residents_add_up_per_district_and_in_all(sample_database):
    with sample_database.reader.connect() as conn:
        by_code = dict(
            conn.execute(text("SELECT code, residents FROM district_with_residents")).all()
        )
    expected = {int(k): v for k, v in PTUJ.sample["district_residents"].items()}
    assert by_code == expected
    assert sum(by_code.values()) == 23_509
    urban = sum(v for k, v in by_code.items() if k in PTUJ.sample["urban_districts"])
    assert urban / 23_509 == pytest.approx(0.78, abs=0.005)


def test_lengths_and_areas_match_the_strategy(sample_database):
    roads_km = sum_in(sample_database, "SELECT sum(ST_Length(geom)) / 1000 FROM road_segment")
    mains_km = sum_in(sample_database, "SELECT sum(ST_Length(geom)) / 1000 FROM water_main")
    natura_ha = sum_in(sample_database, "SELECT ST_Area(ST_Union(geom)) / 1e4 FROM natura2000_site")
    municipality_ha = sum_in(sample_database, "SELECT ST_Area(geom) / 1e4 FROM municipality")
    assert roads_km == pytest.approx(257.3, rel=0.01)
    assert mains_km == pytest.approx(230.648, rel=0.01)
    assert natura_ha == pytest.approx(1422, rel=0.01)
    assert natura_ha / municipality_ha == pytest.approx(0.2133, abs=0.003)


def test_natura_has_the_four_sites_of_two_directives(sample_database):
    with sample_database.reader.connect() as conn:
        sites = sorted(conn.execute(text("SELECT name, site_type FROM natura2000_site")).all())
    assert sites == [("Drava", "SAC"), ("Drava", "SPA"), ("Podvinci", "SAC"), ("Velovlek", "SAC")]


def test_the_thirteen_hotspots_are_in_the_old_town(sample_database):
    with sample_database.reader.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT h.location_name, d.name FROM wifi_hotspot h"
                " JOIN district d ON ST_Contains(d.geom, h.geom)"
            )
        ).all()
    assert {name for name, _ in rows} == HOTSPOT_PLACES
    assert {district for _, district in rows} == {"Četrt Center"}


def test_buildings_stand_beside_streets_not_on_them_nor_in_water(sample_database):
    on_road = sum_in(
        sample_database,
        "SELECT count(*) FROM building b JOIN road_segment r ON ST_DWithin(b.geom, r.geom, 2.5)",
    )
    in_water = sum_in(
        sample_database,
        "SELECT count(*) FROM building b JOIN water_body w ON ST_Intersects(b.geom, w.geom)",
    )
    near_street = sum_in(
        sample_database,
        "SELECT avg((SELECT min(ST_Distance(b.geom, r.geom)) FROM road_segment r"
        " WHERE ST_DWithin(b.geom, r.geom, 200))) FROM building b",
    )
    assert (on_road, in_water) == (0, 0)
    assert near_street < 25


def test_mains_run_under_the_streets(sample_database):
    share_near_road = sum_in(
        sample_database,
        "SELECT avg(CASE WHEN EXISTS (SELECT FROM road_segment r"
        " WHERE ST_DWithin(m.geom, r.geom, 5)) THEN 1.0 ELSE 0 END) FROM water_main m",
    )
    assert share_near_road > 0.99


def test_the_castle_and_the_drava_are_where_they_are(sample_database):
    # Ptuj castle stands on its hill above the old town, north of the Drava.
    with sample_database.reader.connect() as conn:
        castle = conn.execute(
            text(
                "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM building"
                " WHERE address = 'Ptujski grad'"
            )
        ).one()
        drava_south_of_castle = conn.scalar(
            text(
                "SELECT ST_Intersects(geom, ST_MakeLine(ST_Point(:x, :y, 3794), ST_Point(:x, :y - 1500, 3794)))"
                " FROM water_body WHERE name = 'Drava'"
            ),
            {"x": castle[0], "y": castle[1]},
        )
    assert castle == pytest.approx((566757, 142868), abs=30)
    assert drava_south_of_castle


def test_every_file_loads_whole_and_the_sample_is_marked_synthetic(sample_database):
    with sample_database.reader.connect() as conn:
        marks = dict(conn.execute(text("SELECT layer, synthetic FROM dataset_load")).all())
        rejected = conn.scalar(text("SELECT sum(features_rejected) FROM dataset_load"))
    assert rejected == 0
    # every layer of the registry has its sample or real file, or is drawn from one that has
    assert set(marks) == {spec.loaded_as for spec in LAYERS.values()}
    real = {dataset.layer for dataset in PTUJ.real}
    assert {
        layer: synthetic for layer, synthetic in marks.items() if layer in real
    } == dict.fromkeys(real, False)
    assert {marks[layer] for layer in set(marks) - real} == {True}


def test_buildings_come_as_a_d48_shapefile_in_cp1250_without_cpg(ptuj_sample):
    path = ptuj_sample / "stavbe.shp"
    assert not path.with_suffix(".cpg").exists()
    assert pyogrio.read_info(path)["crs"] == "EPSG:3912"
    raw = path.with_suffix(".dbf").read_bytes()
    assert "č".encode("cp1250") in raw and "č".encode() not in raw
    addresses = pyogrio.read_dataframe(path, encoding="cp1250")["NASLOV"]
    assert addresses.str.contains("č").any() and addresses.str.contains("ž|š").any()


def test_the_generator_is_deterministic(ptuj_sample):
    again, _ = build_layers(PTUJ)
    manifest = {e["layer"]: e for e in json.loads((ptuj_sample / "manifest.json").read_text())}
    for layer_id, frame in again.items():
        written = pyogrio.read_dataframe(
            ptuj_sample / manifest[layer_id]["path"],
            encoding="cp1250" if layer_id == "buildings" else None,
        )
        assert len(written) == len(frame) == manifest[layer_id]["features"], layer_id
        original = written.to_crs(frame.crs).geometry  # D48/GK and back moves points by cm
        same = shapely.equals_exact(
            shapely.normalize(original.to_numpy()),
            shapely.normalize(frame.geometry.to_numpy()),
            tolerance=0.5,
        )
        assert same.all(), layer_id


def read_depth(folder, scenario: str) -> np.ndarray:
    with rasterio.open(folder / f"poplave_{scenario}.tif") as source:
        return source.read(1, masked=True).filled(0)


def test_the_floods_make_physical_sense(ptuj_sample):
    """Rarer floods are higher and wider; water is deepest by the channel."""
    q10, q100, q500 = (read_depth(ptuj_sample, s) for s in ("Q10", "Q100", "Q500"))
    wet10, wet100, wet500 = q10 > 0, q100 > 0, q500 > 0
    assert wet10.sum() < wet100.sum() < wet500.sum()
    assert not (wet10 & ~wet100).any() and not (wet100 & ~wet500).any()
    assert (q100[wet10] > q10[wet10]).all()
    with rasterio.open(ptuj_sample / "poplave_Q100.tif") as source:
        rows, cols = np.nonzero(wet100)
        xs, ys = rasterio.transform.xy(source.transform, rows, cols)
    drava = shapely.LineString(
        next(w["line"] for w in PTUJ.sample["water"] if w["name"] == "Drava")
    )
    near = shapely.distance(drava, shapely.points(xs, ys)) < 150
    assert q100[wet100][near].mean() > 2 * q100[wet100][~near].mean()
    with rasterio.open(ptuj_sample / "dem.tif") as dem:
        ground = dem.read(1)
    assert ground[wet100].mean() < ground[~wet100].mean() - 5  # floods lie in low ground


def test_each_class_of_the_design_flood_reaches_buildings_and_roads(sample_database):
    q100 = exposure_report(sample_database.reader, "Q100", "civil_protection")
    assert q100.classes() == ["velika", "srednja", "majhna"]
    for hazard_class in q100.classes():
        assert q100.total("buildings", "buildings", hazard_class) > 20, hazard_class
        assert q100.total("roads", "km", hazard_class) > 1, hazard_class
    q500 = exposure_report(sample_database.reader, "Q500", "civil_protection")
    assert q500.classes() == ["preostala"]
    q10 = exposure_report(sample_database.reader, "Q10", "civil_protection")
    residents = [r.total("buildings", "residents") for r in (q10, q100, q500)]
    assert residents == sorted(residents) and residents[0] < residents[2]
    assert residents[2] < PTUJ.residents / 3  # the town on its terrace stays dry


def test_the_critical_sites_include_the_hospital_and_nine_fire_brigades(sample_database):
    with sample_database.reader.connect() as conn:
        kinds = dict(
            conn.execute(text("SELECT kind, count(*) FROM critical_site GROUP BY kind")).all()
        )
        hospital = conn.scalar(text("SELECT name FROM critical_site WHERE kind = 'bolnišnica'"))
    assert kinds["gasilski dom"] == 9
    assert hospital.startswith("Splošna bolnišnica")
    assert {"šola", "vrtec", "zdravstveni dom", "dom starejših", "črpališče"} <= set(kinds)


def network_parts(database) -> list[int]:
    """The junctions in each connected part of the road network, largest first."""
    with database.reader.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT count(*) FROM pgr_connectedComponents(:edges)"
                    " GROUP BY component ORDER BY 1 DESC"
                ),
                {"edges": EDGES_SQL},
            )
        )


def test_the_roads_are_one_network_every_shelter_stands_by(sample_database):
    assert len(network_parts(sample_database)) == 1  # every place is reached by road
    with sample_database.reader.connect() as conn:
        shelters = conn.execute(
            text(
                "SELECT count(*), max((SELECT min(ST_Distance(s.geom, e.geom)) FROM road_edge e"
                " WHERE ST_DWithin(s.geom, e.geom, 500))) FROM shelter s"
            )
        ).one()
    assert shelters[0] == len(PTUJ.sample["shelters"])
    assert shelters[1] < 100  # each at a building beside a road


def test_the_design_flood_closes_roads_and_leaves_shelters_dry_and_reached(sample_database):
    evacuation = exposure_report(sample_database.reader, "Q100", "civil_protection").evacuation
    states = evacuation.shelters.set_index("name")["state"]
    assert states["OŠ Breg, telovadnica"] == "flooded"  # on the right bank, as the profile says
    assert (states == "open").sum() >= 5
    assert 0 < evacuation.closed.length.sum() / 1000 < PTUJ.sample["roads_km"] / 2
    assert not evacuation.routes.empty
