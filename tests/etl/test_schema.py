"""The schema: every layer's table in EPSG:3794 with a GiST index, migrations applied once."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from etl.schema import migrate, pending_migrations
from layers.checks import check_database, spec_problems
from layers.registry import LAYERS


def test_every_layer_table_has_its_geometry_type_srid_and_gist_index(etl_database):
    with etl_database.writer.connect() as conn:
        for spec in LAYERS.values():
            if spec.loader == "readings":
                continue  # readings take their place from their sensor: the next test
            kind, srid = conn.execute(
                text(
                    "SELECT type, srid FROM geometry_columns"
                    " WHERE f_table_schema = current_schema() AND f_table_name = :t"
                ),
                {"t": spec.load_table},
            ).one()
            assert (kind, srid) == (spec.geometry.upper(), 3794)
            index = conn.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND tablename = :t AND indexdef LIKE '%USING gist%'"
                ),
                {"t": spec.load_table},
            )
            assert index and "(geom)" in index


def test_readings_hold_no_geometry_and_are_placed_through_their_sensor(etl_database):
    spec = LAYERS["sensor_readings"]
    with etl_database.writer.connect() as conn:
        geometry = text(
            "SELECT type, srid FROM geometry_columns"
            " WHERE f_table_schema = current_schema() AND f_table_name = :t"
        )
        assert conn.execute(geometry, {"t": spec.load_table}).all() == []
        assert conn.execute(geometry, {"t": spec.read_table}).one() == ("POINT", 3794)
        indexes = conn.scalars(
            text(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = :t"
            ),
            {"t": spec.load_table},
        ).all()
        assert sorted("brin" in i for i in indexes) == [True, True]


def test_migrating_again_applies_nothing(etl_database):
    assert migrate(etl_database.writer, etl_database.reader_url) == []
    with etl_database.writer.connect() as conn:
        applied = set(conn.scalars(text("SELECT version FROM schema_migration")))
    assert pending_migrations(applied) == []


def test_the_registry_matches_the_migrated_database(etl_database):
    check_database(etl_database.reader)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO wifi_hotspot (location_name, status, geom) VALUES ('x', 'y', ST_Point(0, 0, 3794))",
        "UPDATE building SET occupants = 0",
        "DELETE FROM road_segment",
        "CREATE TABLE intruder (id int)",
        "DROP TABLE water_main",
        "INSERT INTO audit_event (action) VALUES ('sign_in')",
        "UPDATE audit_event SET username = 'someone else'",
        "DELETE FROM audit_event",
        "INSERT INTO flood_zone (scenario, return_period, hazard_class, geom) VALUES"
        " ('Q1', 1, 'velika', ST_Multi(ST_Buffer(ST_Point(0, 0, 3794), 1)))",
        "CREATE TEMP TABLE scratch AS SELECT 1",
    ],
)
def test_the_dashboards_role_can_only_read(etl_database, statement):
    if etl_database.reader_url == etl_database.writer_url:
        pytest.fail("the tests need a separate read-only role (TEST_DATABASE_READER_URL)")
    with etl_database.reader.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM building")) >= 0
        with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"):
            conn.execute(text(statement))


def test_a_spec_that_does_not_match_the_database_is_named_at_start(etl_database):
    broken = dataclasses.replace(
        LAYERS["roads"],
        read_table="road_segment",
        fields=(*LAYERS["roads"].fields, LAYERS["buildings"].field("address")),
    )
    problems = spec_problems(etl_database.reader, broken)
    assert problems == ["roads: column 'address' missing in road_segment"]
    missing = dataclasses.replace(LAYERS["roads"], read_table="ceste")
    assert spec_problems(etl_database.reader, missing) == [
        "roads: table or view 'ceste' does not exist"
    ]
    wrong_srid = dataclasses.replace(LAYERS["roads"], srid=3912)
    assert (
        "SRID 3794, the spec says MultiLineString in 3912"
        in spec_problems(etl_database.reader, wrong_srid)[0]
    )


def test_the_dashboards_role_can_neither_forge_nor_read_the_audit_trail(etl_database):
    from layers.audit import recent_events
    from layers.errors import LayerAccessError
    from layers.sessions import open_session

    reader = etl_database.reader
    for query in (
        "SELECT * FROM audit_event",
        "SELECT * FROM app_session",
        "SELECT * FROM sign_in_throttle",
    ):
        with reader.connect() as conn, pytest.raises(Exception, match="permission denied"):
            conn.execute(text(query))
    with reader.connect() as conn, pytest.raises(Exception, match="does not exist"):
        conn.execute(text("SELECT record_audit('admin', 'admin', 'sign_in', '', '10.9.9.9')"))
    with reader.connect() as conn, pytest.raises(Exception, match="no live session"):
        conn.execute(text("SELECT record_audit('forged-token', 'export_pdf', 'Q100')"))
    token = open_session(reader, "ana", "planner", "person", 1, "127.0.0.1")
    with reader.connect() as conn, pytest.raises(Exception, match="exports only"):
        conn.execute(text("SELECT record_audit(:t, 'sign_in', '')"), {"t": token})
    with reader.begin() as conn:
        conn.execute(text("SELECT record_audit(:t, 'export_pdf', 'Q100')"), {"t": token})
    with etl_database.writer.connect() as conn:
        recorded = conn.execute(
            text("SELECT username, role, address FROM audit_event WHERE action = 'export_pdf'")
        ).all()
    assert recorded == [("ana", "planner", "127.0.0.1")]  # who and where: the session's
    with pytest.raises(LayerAccessError):
        recent_events(reader, token)  # a planner's session reads no trail


def test_the_dashboards_role_gives_up_rather_than_hold_anyone_up(etl_database):
    """A query of the dashboards waits at most 5 s behind a load's lock, and runs at most 60 s."""
    import time

    from sqlalchemy.exc import OperationalError

    with etl_database.reader.connect() as conn:
        limits = [
            conn.scalar(text(f"SHOW {name}")) for name in ("statement_timeout", "lock_timeout")
        ]
        assert limits == ["1min", "5s"]
    with etl_database.writer.connect() as load:
        load.begin()
        load.execute(text("LOCK TABLE building IN ACCESS EXCLUSIVE MODE"))  # as a swap does
        started = time.monotonic()
        with (
            pytest.raises(OperationalError, match="lock timeout"),
            etl_database.reader.connect() as conn,
        ):
            conn.execute(text("SELECT count(*) FROM building"))
        waited = time.monotonic() - started
        load.rollback()
    assert 4.5 < waited < 15


def test_entries_a_registry_change_left_behind_are_rebuilt_by_the_next_migrate(sample_database):
    """The streets' names were once kept under the staff's roads layer: a database migrated
    then is mended by the next run, with no migration of its own."""
    with sample_database.writer.begin() as conn:
        streets = conn.scalar(text("SELECT count(*) FROM search_entry WHERE layer = 'streets'"))
        conn.execute(text("UPDATE search_entry SET layer = 'roads' WHERE layer = 'streets'"))
    assert migrate(sample_database.writer) == []  # no migration was pending
    with sample_database.writer.connect() as conn:
        layers = dict(
            conn.execute(text("SELECT layer, count(*) FROM search_entry GROUP BY layer")).all()
        )
    assert streets > 0 and layers.get("streets") == streets and "roads" not in layers


def test_each_schema_has_open_views_of_its_own_tables_the_reader_may_read(
    sample_database, etl_database
):
    """Two databases in one cluster (the tests' schemas, or two municipalities) each publish
    their own layers; an open view holds the open fields only and is made again when stale."""
    migrate(etl_database.writer, etl_database.reader_url)
    with sample_database.writer.begin() as conn:
        conn.execute(text("DROP VIEW open_streets"))  # as a registry change would leave it
    assert migrate(sample_database.writer, sample_database.reader_url) == []
    with sample_database.reader.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM open_wifi_hotspots")) > 0
        columns = conn.execute(text("SELECT * FROM open_streets LIMIT 1")).keys()
        assert list(columns) == ["id", "name", "geom"]  # not the roads' condition
        assert conn.scalar(text("SELECT count(*) FROM open_streets")) == conn.scalar(
            text("SELECT count(*) FROM road_segment")
        )
    with etl_database.reader.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM open_wifi_hotspots")) == conn.scalar(
            text("SELECT count(*) FROM wifi_hotspot")
        )
