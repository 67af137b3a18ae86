"""The wall's indicators on the hand-made flood, where every answer is known."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from etl.load import LoadOptions, load_file
from layers.indicators import available, catalogue, compute, indicator, record_snapshots
from tests.conftest import catalogue_row

NOW = dt.datetime.now(dt.UTC)


def value(database, indicator_id: str) -> float:
    with database.reader.connect() as conn:
        return compute(conn, indicator(indicator_id)).value


def test_each_indicator_gives_the_known_answer(city):
    residents = 41 + 137 + 0 + 29 + 7 + 11
    assert value(city, "natura2000_share") == pytest.approx(50.0)  # 300 m of the 600 m square
    assert value(city, "wifi_per_100k") == pytest.approx(2 / residents * 1e5)
    assert value(city, "mains_km_per_1000") == pytest.approx(0.2 / residents * 1000)
    assert value(city, "poor_roads_share") == pytest.approx(60.0)  # 300 m of 500 m
    assert value(city, "degraded_sites") == 1  # the rehabilitated one is not counted
    assert value(city, "degraded_area_ha") == pytest.approx(1.0)
    assert value(city, "flood_buildings_share") == pytest.approx(400 / 6)
    assert value(city, "flood_residents_share") == pytest.approx(100 * 207 / residents)
    assert value(city, "heritage_at_risk") == 3  # one in each wet class, one dry


def test_only_indicators_whose_layers_hold_data_are_shown(city):
    with city.reader.connect() as conn:
        shown = {i.id for i in available(conn)}
    # the flood loads are in the catalogue too; no sensors here
    assert shown == {i.id for i in catalogue() if "sensor_readings" not in i.sources}
    with city.writer.begin() as conn:
        conn.execute(text("DELETE FROM dataset_load WHERE layer = 'flood_hazard'"))
    with city.reader.connect() as conn:
        shown = {i.id for i in available(conn)}
    assert "flood_buildings_share" not in shown and "natura2000_share" in shown


def test_old_data_is_stale_and_says_how_old(city):
    with city.writer.begin() as conn:
        catalogue_row(conn, "roads", NOW - dt.timedelta(days=400))
        conn.execute(
            text("DELETE FROM dataset_load WHERE layer = 'roads' AND loaded_at > :t"),
            {"t": NOW - dt.timedelta(days=399)},
        )
    with city.reader.connect() as conn:
        roads = compute(conn, indicator("poor_roads_share"))
        wifi = compute(conn, indicator("wifi_per_100k"))
    assert roads.stale() and roads.age().days == 400  # cadence: a year
    assert not wifi.stale()


def test_the_trend_compares_with_the_value_before_the_newest_data(city):
    assert record_snapshots(city.writer) == len(
        [i for i in catalogue() if "sensor_readings" not in i.sources]
    )
    assert record_snapshots(city.writer) == 0  # nothing new, nothing recorded
    with city.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO degraded_land (name, land_type, status, geom) VALUES ('Nova', 'jama',"
                " 'neaktivno', ST_Multi(ST_MakeEnvelope(566300, 141950, 566350, 142000, 3794)))"
            )
        )
        catalogue_row(conn, "degraded_land", NOW)
    with city.reader.connect() as conn:
        reading = compute(conn, indicator("degraded_sites"))
    assert (reading.value, reading.previous, reading.change) == (2, 1, 1)


@dataclass(frozen=True)
class SensorCity:
    """The city's database (its reader) and the minute its readings were stamped from."""

    reader: Engine
    now: dt.datetime


@pytest.fixture
def sensor_city(database, tmp_path):
    """Four parking spaces, two containers, two PM10 stations and a removed one, with readings
    whose answers are worked out by hand in the test."""
    codes = {
        "P1": "parking",
        "P2": "parking",
        "P3": "parking",
        "P4": "parking",
        "C1": "waste_fill",
        "C2": "waste_fill",
        "A": "pm10",
        "B": "pm10",
        "OLD": "pm10",
    }
    gpd.GeoDataFrame(
        {
            "ID": list(codes),
            "VRSTA": list(codes.values()),
            "ENOTA": "%",
            "STANJE": ["deluje"] * 8 + ["odstranjen"],
        },
        geometry=gpd.points_from_xy(566000 + 10.0 * pd.RangeIndex(9), [142600] * 9),
        crs=3794,
    ).to_file(tmp_path / "s.gpkg")
    load_file(database.writer, tmp_path / "s.gpkg", "sensors", LoadOptions(progress=False))
    # now, not when the module was collected: the suite runs for longer than the hour counted
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    minutes = lambda m: now - dt.timedelta(minutes=m)  # noqa: E731
    year = dt.datetime(now.year, 1, 2, 12, tzinfo=dt.UTC)
    rows = [
        ("P1", minutes(10), 100),
        ("P2", minutes(10), 0),
        ("P3", minutes(10), 100),
        ("P3", minutes(70), 0),
        ("P4", minutes(130), 100),  # P4: not within the hour
        ("C1", minutes(30), 95),
        ("C2", minutes(40), 50),
        ("C2", minutes(600), 99),
        ("A", year, 50),
        ("A", year + dt.timedelta(hours=1), 70),  # 2 Jan: mean 60
        ("A", year + dt.timedelta(days=1), 40),  # 3 Jan: 40
        ("B", year + dt.timedelta(hours=3), 55),  # 2 Jan again: the same day counts once
        ("B", year + dt.timedelta(days=30), 51),  # 1 Feb: 51
        ("B", year - dt.timedelta(days=3), 80),  # last year's
    ]
    frame = pd.DataFrame(rows, columns=["sensor", "observed_at", "value"])
    frame["observed_at"] = [t.isoformat() for t in frame["observed_at"]]
    frame.to_csv(tmp_path / "r.csv", index=False)
    load_file(database.writer, tmp_path / "r.csv", "sensor_readings", LoadOptions(progress=False))
    return SensorCity(database.reader, now)


@pytest.mark.skipif(NOW.timetuple().tm_yday < 35, reason="needs 1 February of this year behind us")
def test_each_sensor_indicator_gives_the_known_answer(sensor_city):
    assert value(sensor_city, "parking_occupancy") == pytest.approx(200 / 3)
    assert value(sensor_city, "containers_over_90") == 1
    assert value(sensor_city, "pm10_exceedance_days") == 2
    assert value(sensor_city, "sensors_reporting") == pytest.approx(100 * 5 / 8)
    with sensor_city.reader.connect() as conn:
        parking = compute(conn, indicator("parking_occupancy"))
    assert parking.data_time == sensor_city.now - dt.timedelta(minutes=10)
    assert not parking.stale()
    assert parking.stale(sensor_city.now + dt.timedelta(hours=2))  # its cadence is an hour
