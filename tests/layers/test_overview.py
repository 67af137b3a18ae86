"""The overview of a big layer: a point on each feature, shared by sessions, read again once
its table has changed, however it was written."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlalchemy import text

from layers.errors import LayerAccessError
from layers.overview import Overviews
from layers.registry import layer

BUILDINGS = layer("buildings")
LIMIT = 10  # a view reads this many at most, here
COUNTED = text("SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = 'building'::regclass")


def add_buildings(database, count: int, use_class: str) -> None:
    """``count`` 10 m squares in a row from (566000, 142000), the counts flushed at once."""
    with database.writer.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO building (address, use_class, geom) SELECT 'Vrsta ' || i, :use,"
                " ST_Multi(ST_MakeEnvelope(566000 + i * 20, 142000, 566010 + i * 20, 142010, 3794))"
                " FROM generate_series(1, :n) i"
            ),
            {"use": use_class, "n": count},
        )
        conn.commit()
        # the server counts rows written when the writer is next idle, up to 10 s later
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        conn.commit()


def overview_of(overviews: Overviews, points: int):
    """The overview once it holds ``points`` (the counts reach the server within a moment)."""
    deadline = time.monotonic() + 30
    while True:
        found = overviews.get(BUILDINGS, "planner", "use_class")
        if (len(found.x) if found else 0) == points or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def overviews(database, monkeypatch):
    monkeypatch.setattr("layers.overview.MAX_FEATURES", LIMIT)
    monkeypatch.setattr("layers.overview.CHECK_SECONDS", 0)
    return Overviews(database.reader)


def test_a_layer_no_view_holds_too_many_of_has_none(database, overviews):
    add_buildings(database, LIMIT, "poslovna")
    deadline = time.monotonic() + 30
    with database.reader.connect() as conn:  # the server has counted them
        while conn.scalar(COUNTED) != LIMIT and time.monotonic() < deadline:
            conn.rollback()  # the counts are read once a transaction
            time.sleep(0.2)
    assert overviews.get(BUILDINGS, "planner", "use_class") is None


def test_a_big_layer_has_a_point_on_each_feature_with_its_class(database, overviews):
    add_buildings(database, 8, "poslovna")
    add_buildings(database, 7, "javna")
    found = overview_of(overviews, 15)
    assert found is not None and len(found.x) == 15
    with database.reader.connect() as conn:
        expected = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p), use_class FROM (SELECT ST_Transform(ST_Centroid(geom),"
                " 3857) AS p, use_class FROM building) t"
            )
        ).all()
    got = sorted(zip(found.x, found.y, (found.classes[c] for c in found.codes), strict=True))
    for (x, y, use), (ex, ey, euse) in zip(got, sorted(expected), strict=True):
        assert abs(x - ex) < 0.5 and abs(y - ey) < 0.5 and use == euse  # float32: 0.25 m here
    assert sorted(found.classes) == ["javna", "poslovna"]


def test_an_edit_outside_a_load_is_in_the_next_overview(database, overviews):
    add_buildings(database, 12, "poslovna")
    assert len(overview_of(overviews, 12).x) == 12
    add_buildings(database, 1, "javna")  # as QGIS would write it: no load
    found = overview_of(overviews, 13)
    assert len(found.x) == 13 and "javna" in found.classes


def test_a_role_that_may_not_see_the_layer_gets_no_overview(database, overviews):
    add_buildings(database, 12, "poslovna")
    with pytest.raises(LayerAccessError):
        overviews.get(BUILDINGS, "public", "use_class")


def test_the_overview_is_shared_not_read_again_while_its_table_is_unchanged(database, overviews):
    add_buildings(database, 12, "poslovna")
    first = overview_of(overviews, 12)
    assert overviews.get(BUILDINGS, "planner", "use_class") is first
    assert np.array_equal(first.x, overviews.get(BUILDINGS, "planner", "use_class").x)
