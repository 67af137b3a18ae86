"""Geometries from WKB or WKT, a batch at a time, and the rows whose geometry cannot be read, with why.

A batch is parsed whole (the fast path). Only when that fails is it parsed row by row, so that
one unclosed ring refuses its row and not the file, a curve is made of straight segments by
GDAL (GEOS reads no curves), and a 3-D surface (a TIN, a multipatch) is refused by name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

# ISO WKB geometry types that no layer holds (a multipatch arrives from GDAL as these)
SURFACES = {15: "polyhedral surface", 16: "TIN", 17: "triangle"}
CURVES = {
    8: "circular string",
    9: "compound curve",
    10: "curve polygon",
    11: "multi-curve",
    12: "multi-surface",
}
EWKB_FLAGS = 0xE0000000  # PostGIS's Z, M and SRID bits
GEOS_REASONS = {  # what GEOS says of a broken shape, as a reason a person understands
    "closed linestring": "geometry has a ring that is not closed",
    "must be 0 or >=": "geometry has a ring of fewer than four points",
    "must be 0 or >1": "geometry has a line of one point",
}


@dataclass
class Parsed:
    """A batch's geometries (None where unreadable), their WKB with curves made straight, and
    why the unreadable ones are.
    """

    geometry: np.ndarray
    wkb: np.ndarray | None
    problems: dict[int, str] = field(default_factory=dict)  # row: why its geometry is None
    straightened: int = 0  # curves GDAL made of straight segments


def wkb_type(wkb: bytes | None) -> int:
    """The ISO base type of one WKB geometry (1 point … 16 TIN), 0 for none."""
    if not wkb or len(wkb) < 5:
        return 0
    code = int.from_bytes(wkb[1:5], "little" if wkb[0] == 1 else "big")
    return (code & ~EWKB_FLAGS) % 1000


def parse_wkb(wkb: np.ndarray) -> Parsed:
    """Parse a batch's WKB: curves straightened, the rows that cannot be parsed named."""
    try:
        return Parsed(shapely.from_wkb(wkb), wkb)
    except (shapely.errors.ShapelyError, NotImplementedError):
        pass
    types = np.array([wkb_type(w) for w in wkb], dtype=int)
    curved = np.flatnonzero(np.isin(types, list(CURVES)))
    if len(curved):
        wkb = wkb.copy()
        wkb[curved] = straightened(wkb[curved])
        types[curved] = 0  # read below with the rest
    surfaces = np.isin(types, list(SURFACES))
    geometry = np.full(len(wkb), None, dtype=object)
    geometry[~surfaces] = shapely.from_wkb(wkb[~surfaces], on_invalid="ignore")
    problems = {
        int(i): f"geometry is a {SURFACES[types[i]]}, a 3-D surface no layer holds"
        for i in np.flatnonzero(surfaces)
    }
    for i in np.flatnonzero(~surfaces & shapely.is_missing(geometry)):
        if wkb[i] is not None:
            problems[int(i)] = _why_unreadable(shapely.from_wkb, wkb[i])
    return Parsed(geometry, wkb, problems, len(curved))


def parse_wkt(wkt: np.ndarray) -> Parsed:
    """Parse a batch's WKT (a plain Parquet file's); the rows that cannot be parsed named.

    A curve in WKT is refused: only GDAL's formats are read with their curves made straight.
    """
    try:
        return Parsed(shapely.from_wkt(wkt), None)
    except (shapely.errors.ShapelyError, NotImplementedError):
        pass
    geometry = shapely.from_wkt(wkt, on_invalid="ignore")
    problems = {
        int(i): _why_unreadable(shapely.from_wkt, wkt[i])
        for i in np.flatnonzero(shapely.is_missing(geometry))
        if wkt[i] is not None
    }
    return Parsed(geometry, None, problems)


def straightened(wkb: np.ndarray) -> np.ndarray:
    """The WKB of curved geometries made of straight segments, by GDAL.

    GDAL straightens curves as it reads features; the curves are written to a GeoPackage of
    their own and read back, which works whatever format they came in.
    """
    with tempfile.TemporaryDirectory(prefix="etl-curves-") as folder:
        path = Path(folder) / "curves.gpkg"
        pyogrio.raw.write(
            path,
            geometry=wkb,
            field_data=[],
            fields=[],
            geometry_type="Unknown",
            crs=None,
            driver="GPKG",
        )
        return pyogrio.raw.read(path)[2]


def _why_unreadable(parse: Callable[[bytes | str], shapely.Geometry], value: bytes | str) -> str:
    try:
        parse(value)
    except NotImplementedError:  # a curve in WKT
        return "geometry is a curve, which is made straight only in GeoPackage, shapefile or GML"
    except shapely.errors.ShapelyError as exc:
        message = str(exc)
        return next(
            (reason for key, reason in GEOS_REASONS.items() if key in message),
            f"geometry cannot be read ({message.split(':')[-1].strip()})",
        )
    return "geometry cannot be read"
