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


def test_the_dashboards_role_appends_to_the_audit_trail_only_through_its_function(etl_database):
    with etl_database.reader.begin() as conn:
        conn.execute(
            text("SELECT record_audit('ana', 'planner', 'export_pdf', 'Q100', '127.0.0.1')")
        )
    with etl_database.reader.connect() as conn:
        assert conn.scalar(
            text(
                "SELECT count(*) FROM audit_event WHERE username = 'ana' AND action = 'export_pdf'"
            )
        )
        with pytest.raises(Exception, match="violates check constraint"):
            conn.execute(text("SELECT record_audit('ana', 'planner', 'drop_everything', '', '')"))
