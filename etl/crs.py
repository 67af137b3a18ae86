"""A file's coordinate system, settled before a row is read: recognised, or refused with the fix.

Slovenian grids reach us under many names (``D48_Slovenia_TM``, ``MGI_Slovenia_Grid``,
``unnamed``): PROJ then either finds no datum shift (positions off by ~500 m, silently) or takes
the Austrian one. A grid with D48/GK's or D96/TM's projection is therefore taken for that EPSG
code, so that PROJ applies the official transformation. A CRS that PROJ cannot transform to the
storage CRS at all (a local engineering system) is refused by name.
"""

from __future__ import annotations

from pathlib import Path

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from layers.errors import LoadError
from layers.spec import STORAGE_SRID

# Transverse Mercator on 15° E, scale 0.9999, false origin (500 km, -5,000 km): both national grids
SLOVENIAN_GRID = {
    "Latitude of natural origin": 0.0,
    "Longitude of natural origin": 15.0,
    "Scale factor at natural origin": 0.9999,
    "False easting": 500_000.0,
    "False northing": -5_000_000.0,
}
GRID_BY_ELLIPSOID = {6_377_397.155: 3912, 6_378_137.0: 3794}  # Bessel 1841: D48/GK; GRS80: D96/TM
CRS_FIX = (
    "pass the CRS the coordinates are in with --crs (EPSG:3794 for D96/TM, EPSG:3912 for D48/GK)",
    "podajte koordinatni sistem podatkov z --crs (EPSG:3794 za D96/TM, EPSG:3912 za D48/GK)",
)


def parse_crs(value: str, path: Path, layer: str) -> CRS:
    """The CRS named by ``value`` (``EPSG:3794``, ``3794``, WKT), or a clear error."""
    try:
        return CRS.from_user_input(int(value) if value.isdigit() else value)
    except CRSError:
        raise LoadError(
            path,
            layer,
            f"--crs {value!r} is not a coordinate system",
            f"--crs {value!r} ni koordinatni sistem",
            "give an EPSG code such as EPSG:3794 or EPSG:3912",
            "podajte kodo EPSG, npr. EPSG:3794 ali EPSG:3912",
        ) from None


def settle_crs(given: str | None, in_file: str | None, path: Path, layer: str) -> CRS:
    """The CRS given with --crs, else the file's own (recognised); refused if not transformable."""
    if given:
        crs = parse_crs(given, path, layer)
    elif in_file:
        crs = _from_file(in_file, path, layer)
    else:
        raise LoadError(
            path,
            layer,
            "has no coordinate system",
            "nima koordinatnega sistema",
            "pass --crs EPSG:3794 (or EPSG:3912 for D48/GK data) or add a .prj",
            "podajte --crs EPSG:3794 (ali EPSG:3912 za D48/GK) ali dodajte .prj",
        )
    try:
        Transformer.from_crs(crs, STORAGE_SRID, always_xy=True)
    except ProjError as exc:
        raise LoadError(
            path,
            layer,
            f"its coordinate system {crs.name!r} cannot be transformed to EPSG:{STORAGE_SRID}"
            f" ({exc})",
            f"njenega koordinatnega sistema {crs.name!r} ni mogoče pretvoriti v EPSG:"
            f"{STORAGE_SRID}",
            *CRS_FIX,
        ) from None
    return crs


def _from_file(text: str, path: Path, layer: str) -> CRS:
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise LoadError(
            path,
            layer,
            f"its coordinate system cannot be read ({exc})",
            "njenega koordinatnega sistema ni mogoče prebrati",
            *CRS_FIX,
        ) from None
    grid = slovenian_grid(crs)
    return CRS.from_epsg(grid) if grid else crs


def slovenian_grid(crs: CRS) -> int | None:
    """3912 or 3794 for a CRS with that grid's projection and ellipsoid under any name, else None.

    A CRS that brings its own datum shift (TOWGS84) is left as it is: the file says how.
    """
    operation = crs.coordinate_operation
    if not crs.is_projected or crs.is_bound or operation is None:
        return None
    if crs.to_epsg() in GRID_BY_ELLIPSOID.values():
        return crs.to_epsg()
    params = {p.name: p.value for p in operation.params}
    same_projection = "Transverse Mercator" in operation.method_name and all(
        abs(params.get(name, float("nan")) - value) < 1e-9 for name, value in SLOVENIAN_GRID.items()
    )
    metres = crs.axis_info and all(a.unit_name in ("metre", "meter") for a in crs.axis_info)
    semi_major = round(crs.ellipsoid.semi_major_metre, 3) if crs.ellipsoid else None
    return GRID_BY_ELLIPSOID.get(semi_major) if same_projection and metres else None
