"""The wall's indicators on the hand-made flood, where every answer is known."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

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


def test_only_indicators_whose_layers_hold_data_are_shown(city):
    with city.reader.connect() as conn:
        shown = {i.id for i in available(conn)}
    assert shown == {i.id for i in catalogue()}  # the flood loads are in the catalogue too
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
    assert record_snapshots(city.writer) == len(catalogue())
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
