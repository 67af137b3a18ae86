"""The binary COPY writer and the EWKB it sends, against PostgreSQL's own reading of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import shapely

from etl import pgcopy
from etl.ewkb import to_ewkb

UTC = dt.UTC
SQUARE = shapely.box(566000, 142000, 566010, 142010)
COLUMNS = {
    "label": pa.array(["Čučkova ulica", "", None, "x" * 5000], pa.string()),
    "count": pa.array([0, -1, None, 2**40], pa.int64()),
    "area": pa.array([12.5, None, -0.25, 1e300], pa.float64()),
    "surveyed": pa.array(
        [dt.date(2025, 4, 1), dt.date(1999, 12, 31), None, dt.date(1800, 1, 1)], pa.date32()
    ),
    "observed": pa.array(
        [
            dt.datetime(2026, 11, 23, 5, 30, 1, 250, tzinfo=UTC),
            None,
            dt.datetime(1970, 1, 1, tzinfo=UTC),
            dt.datetime(2000, 1, 1, tzinfo=UTC),
        ],
        pa.timestamp("us", "UTC"),
    ),
    "shape": pa.array(
        [shapely.to_wkb(SQUARE), None, shapely.to_wkb(SQUARE.centroid), None], pa.large_binary()
    ),
}


def copy_back(
    database, columns: dict[str, pa.Array], types: Mapping[str, str] = MappingProxyType({})
) -> list[tuple]:
    """COPY ``columns`` into a temporary table and read them back.

    The table's columns have the types ``pgcopy.sql_type`` names, unless ``types`` says otherwise.
    """
    definition = ", ".join(
        f"{name} {types.get(name) or pgcopy.sql_type(a.type)}" for name, a in columns.items()
    )
    as_read = ", ".join(f"ST_AsText({n})" if n in types else n for n in columns)
    with database.writer.connect() as conn:
        conn.exec_driver_sql(f"CREATE TEMP TABLE copied ({definition}) ON COMMIT DROP")
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy("COPY copied FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(pgcopy.HEADER)
            copy.write(pgcopy.rows(list(columns.values())))
            copy.write(pgcopy.TRAILER)
        return conn.exec_driver_sql(f"SELECT {as_read} FROM copied").all()  # noqa: S608


def test_every_type_and_null_reads_back_as_written(database):
    rows = copy_back(database, COLUMNS)
    expected = list(zip(*(a.to_pylist() for a in COLUMNS.values()), strict=True))
    assert rows == expected


def test_the_bytes_postgis_reads_are_the_shapes(database):
    rows = copy_back(database, {"shape": COLUMNS["shape"]}, {"shape": "geometry"})
    shapes = [text and shapely.from_wkt(text) for (text,) in rows]
    assert shapes == [SQUARE, None, SQUARE.centroid, None]


def test_ewkb_has_the_layers_type_and_srid_whatever_the_wkb_was(database):
    pieces = [SQUARE, shapely.MultiPolygon([SQUARE, shapely.box(566020, 142000, 566030, 142010)])]
    shapes = np.array([*pieces, SQUARE, SQUARE], dtype=object)
    wkb = np.array(
        [
            shapely.to_wkb(SQUARE),
            shapely.to_wkb(pieces[1]),
            shapely.to_wkb(SQUARE, byte_order=0),  # big-endian
            shapely.to_wkb(shapely.force_3d(SQUARE, 7.0)),  # 3-D bytes of a flattened shape
        ],
        dtype=object,
    )
    ewkb = to_ewkb(wkb, shapes, "MultiPolygon", 3794)
    rows = copy_back(database, {"shape": ewkb}, {"shape": "geometry(MultiPolygon, 3794)"})
    assert [shapely.from_wkt(text) for (text,) in rows] == [
        shapely.MultiPolygon([SQUARE]),
        pieces[1],
        shapely.MultiPolygon([SQUARE]),
        shapely.MultiPolygon([SQUARE]),
    ]
    point = np.array([SQUARE.centroid], dtype=object)
    ewkb = to_ewkb(shapely.to_wkb(point), point, "Point", 3794)
    rows = copy_back(database, {"shape": ewkb}, {"shape": "geometry(Point, 3794)"})
    assert rows == [("POINT(566005 142005)",)]
