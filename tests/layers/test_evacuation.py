"""Evacuation on the hand-made road network of tests/network_fixture.py (its drawing and
distances there), where every route, place and cut-off is known."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from etl.schema import migrate
from layers.exposure import exposure_report
from tests.network_fixture import BUILDINGS


def test_the_network_is_cut_at_every_crossing_and_touch(network):
    with network.reader.connect() as conn:
        edges = conn.execute(text("SELECT count(*), sum(length_m) FROM road_edge")).one()
        junctions = conn.scalar(text("SELECT count(*) FROM road_vertex"))
    assert edges[0] == 9  # the ring in five, each straight road in two
    assert edges[1] == pytest.approx(2000 + 500 + 500)
    assert junctions == 6


def test_water_over_the_driving_limit_closes_the_roads_it_touches(network):
    report = exposure_report(network.reader, "Q100", "civil_protection")
    closed = report.evacuation.closed
    assert sorted(closed["name"]) == ["Navpična", "Vodoravna"]
    assert closed.length.sum() == pytest.approx(200 + 400)  # N1 and V2; the 0.2 m leaves V1 open


def test_each_evacuee_goes_to_the_nearest_dry_shelter_with_room(network):
    """Most severe first, nearest first: Globoka 3 (2.0 m) to the school, 605 m from its
    pick-up 95 m south (its own road is closed); Srednja 2 (1.0 m) to the fire station, 280 m
    from N2, 100 m west through water; Plitva 1 finds the fire station full (13 places left for 25) and goes to
    the school (975 m); Plitva 8 finds no room anywhere."""
    report = exposure_report(network.reader, "Q100", "civil_protection")
    rows = report.addresses.set_index("address")
    assert rows.loc["Globoka 3", ["shelter", "access"]].tolist() == ["Suha šola", "shelter"]
    assert rows.loc["Globoka 3", "route_km"] == pytest.approx(0.605)
    assert rows.loc["Globoka 3", "water_m"] == pytest.approx(95)
    assert rows.loc["Srednja 2", "shelter"] == "Gasilski dom"
    assert rows.loc["Srednja 2", "route_km"] == pytest.approx(0.280)
    assert rows.loc["Srednja 2", "water_m"] == pytest.approx(100)
    assert rows.loc["Plitva 1", ["shelter", "water_m"]].tolist() == ["Suha šola", 0]
    assert rows.loc["Plitva 1", "route_km"] == pytest.approx(0.975)
    assert rows.loc["Plitva 8", "access"] == "no_room"
    assert rows.loc["Plitva 8", "route_km"] == pytest.approx(0.340)  # to the nearest, full
    shelters = report.evacuation.shelters.set_index("name")
    assert shelters.loc["Suha šola", ["evacuees", "left"]].tolist() == [55, 5]
    assert shelters.loc["Gasilski dom", ["evacuees", "left"]].tolist() == [137, 13]
    assert shelters.loc["Mokri dom", "state"] == "flooded"
    assert report.evacuation.unplaced == 40


def test_by_day_the_institutions_people_go_to_shelters_with_their_places_anew(network):
    """By day the school (300 pupils, 2.0 m) and the kindergarten (60, 0.2 m) of the flood
    fixture are evacuated, the shelters empty again: the kindergarten goes to the fire station
    (290 m: the junction J by V1, then N2); the school finds no shelter that takes it whole
    (the fire station 150, the school by P 60). By night they hold no one."""
    evacuation = exposure_report(network.reader, "Q100", "civil_protection").evacuation
    cared = evacuation.cared.set_index("name")
    assert cared.loc["Vrtec Plitvi", ["day", "shelter_day", "access_day"]].tolist() == [
        60, "Gasilski dom", "shelter",
    ]  # fmt: skip
    assert cared.loc["Vrtec Plitvi", "route_km_day"] == pytest.approx(0.29)
    assert cared.loc["OŠ Globoka", ["day", "access_day"]].tolist() == [300, "no_room"]
    assert cared["night"].tolist() == [0, 0] and cared["access_night"].isna().all()
    assert evacuation.unplaced_day == 300
    shelters = evacuation.shelters.set_index("name")
    assert shelters.loc["Gasilski dom", ["evacuees_day", "left_day"]].tolist() == [60, 90]
    assert shelters.loc["Gasilski dom", ["evacuees", "left"]].tolist() == [137, 13]  # by night


def test_by_night_the_people_in_care_are_placed_with_the_residents(network):
    """A retirement home of 20 on V1 in the 0.2 m cell: by night its residents are placed
    beside those at home, most severe class first, nearest first. Nearer to the junction J
    than Plitva 1 and 8, it finds the fire station full (13 places left) and takes the school
    by P (30 left); Plitva 1 then finds no room either."""
    with network.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO critical_site (name, kind, capacity, geom) VALUES"
                " ('Dom Plitvi', 'dom starejših', 20, ST_SetSRID(ST_Point(566030, 142170), 3794))"
            )
        )
    report = exposure_report(network.reader, "Q100", "civil_protection")
    cared = report.evacuation.cared.set_index("name")
    assert cared.loc["Dom Plitvi", ["day", "night", "shelter_night"]].tolist() == [
        20, 20, "Suha šola",
    ]  # fmt: skip
    assert report.people() == (300 + 60 + 20, 30 + 137 + 25 + 40 + 20)
    rows = report.addresses.set_index("address")
    assert rows.loc["Plitva 1", "access"] == "no_room"
    assert report.evacuation.unplaced == 25 + 40
    shelters = report.evacuation.shelters.set_index("name")
    assert shelters.loc["Suha šola", ["evacuees", "left"]].tolist() == [30 + 20, 10]


def test_routes_follow_open_roads_only(network):
    evacuation = exposure_report(network.reader, "Q100", "civil_protection").evacuation
    routes = evacuation.routes.set_index("name")
    assert routes["evacuees"].to_dict() == {"Gasilski dom": 137, "Suha šola": 55}
    closed = shapely.union_all(evacuation.closed.geometry.to_numpy())
    for route in routes.geometry:
        assert route.intersection(closed).length == pytest.approx(0)
    # Globoka 3 and Plitva 1 reach the school by A and B, and by V1, E and A
    assert routes.loc["Suha šola", "geometry"].length == pytest.approx(100 + 600 + 100 + 200)


def test_buildings_and_places_no_open_road_joins_to_a_shelter_are_cut_off(network):
    evacuation = exposure_report(network.reader, "Q100", "civil_protection").evacuation
    assert evacuation.cut_off_buildings == 3  # Globoka 3, Srednja 2 and the dry Suha 5
    assert evacuation.cut_off_residents == 30 + 137 + 7
    assert evacuation.cut_off_dry == 1
    assert evacuation.cut_off_places == ["Otok"]


def test_water_at_the_driving_limit_closes_a_road(network):
    """Q10: 0.3 m north-east closes V2 as 1.0 m did; 0.7 m south-west closes N1."""
    evacuation = exposure_report(network.reader, "Q10", "civil_protection").evacuation
    assert sorted(evacuation.closed["name"]) == ["Navpična", "Vodoravna"]
    assert evacuation.cut_off_buildings == 3


def test_with_no_dry_shelter_everyone_is_a_boats_work(network):
    with network.writer.begin() as conn:
        conn.execute(text("DELETE FROM shelter WHERE name <> 'Mokri dom'"))
    report = exposure_report(network.reader, "Q100", "civil_protection")
    assert set(report.addresses["access"]) == {"no_route"}
    assert report.evacuation.routes.empty
    assert report.evacuation.cut_off_buildings == len(BUILDINGS)


def test_a_roads_load_rebuilds_the_network_and_says_so(network, tmp_path):
    path = tmp_path / "ceste.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name":'
        ' "urn:ogc:def:crs:EPSG::3794"}}, "features": [{"type": "Feature", "properties":'
        ' {"IME": "Nova", "KATEGORIJA": "javna pot", "STANJE": 2}, "geometry": {"type":'
        ' "LineString", "coordinates": [[565950, 141950], [566450, 142450]]}}]}',
        encoding="utf-8",
    )
    report = load_file(
        network.writer, path, "roads", LoadOptions(progress=False, licence="CC0", provider="x")
    )
    assert any("1 odsekov · edges" in note for note in report.notes)
    with network.reader.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM road_edge")) == 1


def test_the_plan_is_made_only_for_those_who_read_the_addresses(network):
    assert exposure_report(network.reader, "Q100", "planner").evacuation is None


def test_a_dry_shelter_on_a_closed_road_takes_no_one(network):
    with network.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO shelter (name, kind, capacity, geom)"
                " VALUES ('Otok', 'kulturni dom', 900, ST_Point(566150, 142060, 3794))"
            )
        )  # in the dry cell, nearest to V2, which the water closes
    shelters = exposure_report(network.reader, "Q100", "civil_protection").evacuation.shelters
    states = shelters.set_index("name")["state"].to_dict()
    assert states == {
        "Gasilski dom": "open", "Mokri dom": "flooded", "Otok": "cut_off", "Suha šola": "open",
    }  # fmt: skip
    assert shelters.set_index("name")["evacuees"].isna().to_dict()["Otok"]


def test_a_zone_loaded_without_the_driving_depth_as_an_edge_closes_its_roads(network):
    """A zone of 0–0.5 m (as floods loaded before the limit was an edge) may be deeper than
    0.3 m: the road through it is closed, erring towards caution."""
    with network.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO flood_zone (scenario, return_period, hazard_class, depth_from_m,"
                " depth_to_m, geom) VALUES ('Q50', 50, 'majhna', 0, 0.5,"
                " ST_Multi(ST_MakeEnvelope(566000, 142100, 566100, 142200, 3794)))"
            )
        )
    closed = exposure_report(network.reader, "Q50", "civil_protection").evacuation.closed
    # all four that cross the north-west cell: V1 and N2 too, which its 0.2 m of Q100 leaves open
    assert sorted(closed["name"]) == ["Navpična", "Navpična", "Vodoravna", "Vodoravna"]
    assert closed.length.sum() == pytest.approx(200 + 300 + 100 + 400)


def test_occupants_not_known_take_no_place_and_spoil_no_count(network):
    with network.writer.begin() as conn:
        conn.execute(text("UPDATE building SET occupants = NULL WHERE address = 'Plitva 1'"))
    shelters = exposure_report(network.reader, "Q100", "civil_protection").evacuation.shelters
    by_name = shelters.set_index("name")
    assert by_name.loc["Suha šola", ["evacuees", "left"]].tolist() == [30, 30]
    assert by_name.loc["Gasilski dom", "evacuees"] == 137


def test_roads_loaded_before_their_graph_get_one_when_the_schema_is_migrated(network):
    with network.writer.begin() as conn:
        conn.execute(text("DELETE FROM road_edge"))
        conn.execute(text("DELETE FROM road_vertex"))
    report = exposure_report(network.reader, "Q100", "civil_protection")
    assert set(report.addresses["access"]) == {"no_route"}  # no graph: no road leads anywhere
    migrate(network.writer)
    with network.reader.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM road_edge")) == 9
