"""The whole municipality's flood hits kept for the report: filled by loads and migrations, never
read once outdated (see tests/flood_fixture.py for the answers).
"""

from __future__ import annotations

import threading
import time

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from etl.schema import migrate
from layers.errors import LoadError
from layers.exposure import exposure_report
from layers.exposure_store import hits_current, keep_hits, source_tables
from tests.flood_fixture import MUNICIPALITY

# a house in the velika cell, written as an editor in QGIS would: not through a load
EDIT = (
    "INSERT INTO building (address, use_class, occupants, geom) VALUES ('Urejena 8',"
    " 'enostanovanjska', 5, ST_Multi(ST_MakeEnvelope(566070, 142020, 566080, 142030, 3794)))"
)


def velika_buildings(database) -> int:
    report = exposure_report(database.reader, "Q100", "planner")
    return sum(r["buildings"] for r in report.rows("buildings") if r["hazard_class"] == "velika")


def is_current(database) -> bool:
    with database.reader.connect() as conn:
        return hits_current(conn)


def test_the_kept_hits_answer_as_the_zones_do(flood_database):
    assert is_current(flood_database)
    with flood_database.reader.connect() as conn:
        kept = conn.scalar(text("SELECT count(*) FROM flood_exposure WHERE scenario = 'Q100'"))
    assert kept > 0
    outline = shapely.from_wkt(MUNICIPALITY)  # the same whole, computed afresh as for an area
    for scenario in ("Q100", "Q10"):
        whole = exposure_report(flood_database.reader, scenario, "civil_protection")
        drawn = exposure_report(flood_database.reader, scenario, "civil_protection", outline)
        assert whole.sections == drawn.sections
        assert whole.sections["buildings"]
    with flood_database.writer.begin() as conn:  # a table no trigger watches: still "current"
        conn.execute(text("DELETE FROM flood_exposure WHERE section = 'wifi_hotspots'"))
    whole = exposure_report(flood_database.reader, "Q100", "planner")
    drawn = exposure_report(flood_database.reader, "Q100", "planner", outline)
    assert (whole.rows("wifi_hotspots"), len(drawn.rows("wifi_hotspots"))) == ([], 1)


@pytest.mark.parametrize(
    "write",
    [
        EDIT,
        "UPDATE building SET occupants = 99 WHERE address = 'Plitva 1'",
        "DELETE FROM wifi_hotspot",
        "DELETE FROM flood_depth",
        "TRUNCATE critical_site",
        "UPDATE municipality SET name = 'Poplavje ob Dravi'",
    ],
)
def test_any_write_outside_a_load_outdates_the_kept_hits(flood_database, write):
    with flood_database.writer.begin() as conn:
        conn.execute(text(write))
    assert not is_current(flood_database)


def test_an_edit_is_counted_at_once_and_kept_by_the_next_load(flood_database, tmp_path):
    before = velika_buildings(flood_database)
    with flood_database.writer.begin() as conn:
        conn.execute(text(EDIT))
    assert velika_buildings(flood_database) == before + 1  # computed afresh, not the kept rows
    hotspot = gpd.GeoDataFrame(
        {"location_name": ["Brod"], "status": ["aktivna"]},
        geometry=[shapely.Point(566120, 142120)],  # srednja
        crs=3794,
    )
    path = tmp_path / "hotspots.gpkg"
    hotspot.to_file(path)
    load_file(
        flood_database.writer, path, "wifi_hotspots", LoadOptions(mode="append", progress=False)
    )
    assert is_current(flood_database)  # any load keeps the hits afresh, the edit's too
    assert velika_buildings(flood_database) == before + 1
    report = exposure_report(flood_database.reader, "Q100", "planner")
    assert {r["location_name"] for r in report.rows("wifi_hotspots")} == {"Trg", "Brod"}


def test_a_load_that_is_refused_leaves_the_kept_hits_as_they_were(flood_database, tmp_path):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame(
        {"location_name": ["Nikjer"], "status": ["aktivna"]}, geometry=[None], crs=3794
    ).to_file(path)
    with pytest.raises(LoadError, match="wifi_hotspots"):
        load_file(flood_database.writer, path, "wifi_hotspots", LoadOptions(progress=False))
    assert is_current(flood_database)


def test_the_migrations_keep_outdated_hits_afresh_and_watch_every_source(flood_database):
    with flood_database.writer.begin() as conn:
        conn.execute(text(EDIT))
        # a checksum of another statement: the declarations have changed since the rows were kept
        conn.execute(text("INSERT INTO flood_exposure_made VALUES (true, 'another statement')"))
    assert not is_current(flood_database)
    migrate(flood_database.writer)
    assert is_current(flood_database)
    with flood_database.writer.connect() as conn:
        watched = set(
            conn.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " WHERE t.tgname = 'flood_exposure_outdated'"
                    " AND c.relnamespace = current_schema()::regnamespace"
                )
            )
        )
    assert watched == set(source_tables())
    assert {"building", "flood_zone", "flood_depth", "municipality"} <= watched


def test_two_loads_keeping_the_hits_at_once_keep_them_once(flood_database):
    with flood_database.writer.connect() as conn:
        once = conn.scalar(text("SELECT count(*) FROM flood_exposure"))
    first = flood_database.writer.connect()
    first.begin()
    keep_hits(first)  # a load that has not committed yet

    def second_load() -> None:
        with flood_database.writer.begin() as conn:
            keep_hits(conn)

    second = threading.Thread(target=second_load)
    second.start()
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
        " AND datname = current_database()"
    )
    with flood_database.writer.connect() as conn:
        deadline = time.monotonic() + 30
        while not conn.scalar(waiting) and time.monotonic() < deadline:
            conn.rollback()  # a new snapshot of the activity each time
            time.sleep(0.05)
    first.commit()
    first.close()
    second.join(timeout=60)
    with flood_database.writer.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM flood_exposure")) == once
    assert is_current(flood_database)
