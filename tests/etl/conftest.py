"""Fixtures of the live feed's tests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import catalogue_row


@pytest.fixture
def sensors(database):
    """Two sensors in the schema: an air station's PM10 and a parking bay."""
    with database.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sensor (id, code, kind, unit, installed, status, geom) VALUES"
                " (0, 'ZRAK-T1', 'pm10', 'µg/m³', '2024-01-01', 'deluje',"
                "  ST_SetSRID(ST_Point(566000, 142000), 3794)),"
                " (0, 'PARK-T1', 'parking', '%', '2025-06-01', 'deluje',"
                "  ST_SetSRID(ST_Point(566100, 142100), 3794))"
            )
        )
        # the map's places
        catalogue_row(conn, "sensors", dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    return database
