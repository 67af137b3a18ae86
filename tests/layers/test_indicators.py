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
from layers.settings import LJUBLJANA
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


SMART_CITY_SENSORS = {  # code: kind, where (EPSG:3794), status
    "NZ-01-CO2": ("co2_indoor", (566045, 142045), "deluje"),  # in Globoka 3, a public building
    "ENER-1": ("energy", (566045, 142145), "deluje"),  # in Plitva 1
    "VODOMER-1": ("water_meter", (566150, 142150), "deluje"),  # in Srednja 2
    "PLIN-1": ("gas_meter", (566145, 142145), "deluje"),  # in Srednja 2 too: one home
    "ENER-OLD": ("energy", (566145, 142045), "odstranjen"),  # in Suha 5, removed
    "RAZB-01-PRETOK": ("sewer_overflow", (566300, 142300), "deluje"),
    "RAZB-02-PRETOK": ("sewer_overflow", (566310, 142300), "deluje"),
    "RAZB-01-NIVO": ("sewer_level", (566300, 142300), "deluje"),
    "LUC-001-RAVEN": ("light_level", (566320, 142300), "deluje"),
    "LUC-001-MOC": ("light_power", (566320, 142300), "deluje"),
    "LUC-002-RAVEN": ("light_level", (566330, 142300), "deluje"),
    "LUC-002-MOC": ("light_power", (566330, 142300), "deluje"),
    "LUC-003-RAVEN": ("light_level", (566340, 142300), "deluje"),
    "LUC-003-MOC": ("light_power", (566340, 142300), "deluje"),
    "PARK-01-TABLA": ("parking_free", (566350, 142300), "deluje"),
    "PARK-02-TABLA": ("parking_free", (566360, 142300), "deluje"),
    "PARK-03-TABLA": ("parking_free", (566370, 142300), "deluje"),
}


def last_weekday_before(today: dt.date) -> dt.date:
    day = today - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


@pytest.fixture
def smart_city(city, tmp_path):
    """The hand-made flood's buildings, a second public building, and the smart city's sensors
    with readings whose answers are worked out by hand in the test."""
    with city.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO building (address, use_class, occupants, geom) VALUES ('Šola 7',"
                " 'javna', 0, ST_Multi(ST_MakeEnvelope(566200, 142200, 566220, 142220, 3794)))"
            )
        )
    codes = list(SMART_CITY_SENSORS)
    gpd.GeoDataFrame(
        {
            "ID": codes,
            "VRSTA": [kind for kind, _, _ in SMART_CITY_SENSORS.values()],
            "ENOTA": "-",
            "STANJE": [status for _, _, status in SMART_CITY_SENSORS.values()],
        },
        geometry=gpd.points_from_xy(
            [x for _, (x, _), _ in SMART_CITY_SENSORS.values()],
            [y for _, (_, y), _ in SMART_CITY_SENSORS.values()],
        ),
        crs=3794,
    ).to_file(tmp_path / "s.gpkg")
    load_file(city.writer, tmp_path / "s.gpkg", "sensors", LoadOptions(progress=False))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    local = now.astimezone(LJUBLJANA)
    month = local.replace(day=1, hour=0, minute=0).astimezone(dt.UTC)
    step = (now - month) / 10
    hour = now.replace(minute=0) - dt.timedelta(hours=2)
    lessons = dt.datetime.combine(last_weekday_before(local.date()), dt.time(), LJUBLJANA)
    at = lambda h: (lessons + dt.timedelta(hours=h)).astimezone(dt.UTC)  # noqa: E731
    rows = [
        ("RAZB-01-PRETOK", month - dt.timedelta(hours=1), 9),  # last month's
        *[("RAZB-01-PRETOK", month + step * i, v) for i, v in enumerate([3, 0, 5, 7, 0, 2], 1)],
        *[("RAZB-02-PRETOK", month + step * i, 0) for i in (1, 2)],
        ("RAZB-01-NIVO", month + step, 150),  # a level, not a discharge
        ("LUC-001-RAVEN", hour + dt.timedelta(minutes=5), 100),
        ("LUC-001-MOC", hour + dt.timedelta(minutes=10), 0.8),  # turned up, no lamp: a fault
        ("LUC-002-RAVEN", hour + dt.timedelta(minutes=5), 100),
        ("LUC-002-MOC", hour + dt.timedelta(minutes=10), 60),
        ("LUC-002-RAVEN", hour + dt.timedelta(minutes=65), 50),
        ("LUC-002-MOC", hour + dt.timedelta(minutes=70), 30),
        ("LUC-003-RAVEN", hour + dt.timedelta(minutes=5), 0),  # by day: off, and drawing nothing
        ("LUC-003-MOC", hour + dt.timedelta(minutes=10), 0.8),
        ("PARK-01-TABLA", now - dt.timedelta(minutes=10), 40),
        ("PARK-01-TABLA", now - dt.timedelta(minutes=5), 35),
        ("PARK-02-TABLA", now - dt.timedelta(minutes=20), 12),
        ("PARK-03-TABLA", now - dt.timedelta(hours=3), 99),  # not within the hour
        ("NZ-01-CO2", at(9), 1200),
        ("NZ-01-CO2", at(10), 800),
        ("NZ-01-CO2", at(11), 1100),
        ("NZ-01-CO2", at(14), 900),
        ("NZ-01-CO2", at(20), 1500),  # after lessons
        ("ENER-1", now - dt.timedelta(hours=1), 2.5),
    ]
    frame = pd.DataFrame(rows, columns=["sensor", "observed_at", "value"])
    frame["observed_at"] = [t.isoformat() for t in frame["observed_at"]]
    frame.to_csv(tmp_path / "r.csv", index=False)
    load_file(city.writer, tmp_path / "r.csv", "sensor_readings", LoadOptions(progress=False))
    return city


def test_each_smart_city_indicator_gives_the_known_answer(smart_city):
    assert value(smart_city, "sewer_overflow_events_month") == 3  # 3, then 5 and 7, then 2
    assert value(smart_city, "indoor_air_monitored_share") == pytest.approx(50.0)  # 1 of 2
    assert value(smart_city, "smart_meter_homes_share") == pytest.approx(50.0)  # 2 of 4 homes
    assert value(smart_city, "street_light_faults") == 1
    assert value(smart_city, "street_light_saving") == pytest.approx(100 - 250 / 3)
    assert value(smart_city, "parking_free_now") == 35 + 12
    assert value(smart_city, "co2_lessons_over_limit") == pytest.approx(50.0)


def test_a_city_without_the_smart_sensors_is_offered_none_of_their_tiles(sensor_city):
    smart = {
        "parking_free_now",
        "sewer_overflow_events_month",
        "indoor_air_monitored_share",
        "co2_lessons_over_limit",
        "smart_meter_homes_share",
        "street_light_saving",
        "street_light_faults",
    }
    with sensor_city.reader.connect() as conn:
        shown = {i.id for i in available(conn)}
    assert "parking_occupancy" in shown and not shown & smart
