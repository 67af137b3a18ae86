"""Geometries from WKB, a batch at a time, and the rows whose geometry cannot be read, with why.

A batch is parsed whole (the fast path). Only when that fails is it parsed row by row, so that
one unclosed ring refuses its row and not the file, a curve is sent back to GDAL to be made of
straight segments, and a 3-D surface (a TIN, a multipatch) is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
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
    """A batch's geometries (None where unreadable) and what became of the odd ones."""

    geometry: np.ndarray
    problems: dict[int, str] = field(default_factory=dict)  # row: why its geometry is None
    curved: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # rows to stroke


def wkb_type(wkb: bytes | None) -> int:
    """The ISO base type of one WKB geometry (1 point … 16 TIN), 0 for none."""
    if not wkb or len(wkb) < 5:
        return 0
    code = int.from_bytes(wkb[1:5], "little" if wkb[0] == 1 else "big")
    return (code & ~EWKB_FLAGS) % 1000


def parse_wkb(wkb: np.ndarray) -> Parsed:
    """Parse a batch's WKB; rows that cannot be parsed are named in ``problems`` or ``curved``."""
    try:
        return Parsed(shapely.from_wkb(wkb))
    except (shapely.errors.ShapelyError, NotImplementedError):
        pass
    types = np.array([wkb_type(w) for w in wkb], dtype=int)
    odd = np.isin(types, list(SURFACES) + list(CURVES))
    geometry = np.full(len(wkb), None, dtype=object)
    geometry[~odd] = shapely.from_wkb(wkb[~odd], on_invalid="ignore")
    problems = {
        int(i): f"geometry is a {SURFACES[types[i]]}, a 3-D surface no layer holds"
        for i in np.flatnonzero(np.isin(types, list(SURFACES)))
    }
    for i in np.flatnonzero(~odd & (types > 0) & shapely.is_missing(geometry)):
        problems[int(i)] = _why_unreadable(wkb[i])
    return Parsed(geometry, problems, np.flatnonzero(np.isin(types, list(CURVES))))


def _why_unreadable(wkb: bytes) -> str:
    try:
        shapely.from_wkb(wkb)
    except shapely.errors.ShapelyError as exc:
        message = str(exc)
        return next(
            (reason for key, reason in GEOS_REASONS.items() if key in message),
            f"geometry cannot be read ({message.split(':')[-1].strip()})",
        )
    return "geometry cannot be read"
