"""Maribor from its profile alone: its districts, its smart-city sensors, the Drava's floods and a
wall of its own measures, made and loaded as `make run PROFILE=maribor` does."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
from sqlalchemy import text

from data.profiles import load_profile
from data.sample.feed import live_sensors, reading
from layers.exposure import exposure_report
from layers.indicators import available, compute
from layers.sensor_kinds import sensor_kinds

MARIBOR = load_profile("maribor")


def scalar(database, sql: str):
    with database.reader.connect() as conn:
        return conn.scalar(text(sql))


def test_maribor_works_from_its_profile_alone(maribor_database, maribor_sample):
    assert scalar(maribor_database, "SELECT name FROM municipality") == "Maribor"
    assert scalar(maribor_database, "SELECT count(*) FROM district") == 11
    residents = scalar(maribor_database, "SELECT sum(residents) FROM district_with_residents")
    assert residents == sum(MARIBOR.sample["district_residents"].values())
    gpd.read_file(maribor_sample / "wifi_tocke.geojson")  # the files are real files


def test_every_sensor_kind_reports_in_maribor(maribor_database):
    with maribor_database.reader.connect() as conn:
        reporting = set(conn.scalars(text("SELECT DISTINCT kind FROM sensor_reading_located")))
    assert reporting == set(sensor_kinds())


def test_the_overflow_chambers_stand_on_the_dravas_banks(maribor_database):
    with maribor_database.reader.connect() as conn:
        distances = conn.execute(
            text(
                "SELECT ST_Distance(s.geom, w.geom), ST_Distance(s.geom, m.geom)"
                "  FROM sensor s, water_body w, (SELECT ST_Union(geom) AS geom FROM municipality) m"
                " WHERE s.kind = 'sewer_overflow' AND w.name = 'Drava'"
            )
        ).all()
    assert len(distances) == MARIBOR.sample["sensors"]["sewer_overflows"]
    assert all(5 < to_river < 30 and to_town == 0 for to_river, to_town in distances)


def test_indoor_air_is_measured_inside_public_buildings(maribor_database):
    with maribor_database.reader.connect() as conn:
        uses = conn.execute(
            text(
                "SELECT s.kind, b.use_class FROM sensor s LEFT JOIN building b"
                " ON ST_Intersects(s.geom, b.geom) WHERE s.kind LIKE '%\\_indoor'"
            )
        ).all()
    assert len(uses) == 3 * MARIBOR.sample["sensors"]["indoor_buildings"]
    assert {use for _, use in uses} == {"javna"}


def test_the_drava_floods_maribor_more_the_rarer_the_flood(maribor_database):
    reports = [
        exposure_report(maribor_database.reader, scenario, "civil_protection")
        for scenario in ("Q10", "Q100", "Q500")
    ]
    residents = [r.total("buildings", "residents") for r in reports]
    buildings = [r.total("buildings", "buildings") for r in reports]
    assert 0 < residents[0] < residents[1] < residents[2]
    assert 0 < buildings[0] < buildings[1] < buildings[2]
    assert residents[2] < MARIBOR.residents / 4  # the town on its terraces stays dry


def test_maribors_evacuation_closes_more_roads_the_rarer_the_flood(maribor_database):
    plans = [
        exposure_report(maribor_database.reader, scenario, "civil_protection").evacuation
        for scenario in ("Q10", "Q100", "Q500")
    ]
    closed = [plan.closed.length.sum() for plan in plans]
    assert closed[0] <= closed[1] <= closed[2] and closed[2] > 0
    assert len(plans[0].shelters) == len(MARIBOR.sample["shelters"])
    assert all((plan.shelters["state"] == "open").any() for plan in plans)


def test_maribors_wall_shows_ten_measures_or_more_each_with_a_value(maribor_database):
    with maribor_database.reader.connect() as conn:
        shown = {i.id: i for i in available(conn)}
        tiles = [t for t in MARIBOR.wall_tiles if t in shown]
        values = {t: compute(conn, shown[t]).value for t in tiles}
    assert tiles == list(MARIBOR.wall_tiles)  # none left out: each has its data
    assert len(tiles) >= 10
    assert all(v is not None for v in values.values()), values
    assert 0 < values["smart_meter_homes_share"] < 5  # 110 meters among thousands of homes
    assert values["indoor_air_monitored_share"] > 0


@pytest.mark.parametrize("kind", ["co2_indoor", "light_level", "sewer_overflow"])
def test_the_live_feed_runs_for_maribors_new_kinds(maribor_database, kind):
    """The feed simulator values every sensor of the loaded profile with the sample's model."""
    sensors = [
        s for s in live_sensors(maribor_database.reader, time.time()) if s.sensor.kind == kind
    ]
    assert sensors
    low, high = sensor_kinds()[kind].valid
    values = [
        r["value"] for r in (reading(s, np.random.default_rng(1)) for s in sensors) if r is not None
    ]
    assert values and all(low <= v <= high for v in values)
