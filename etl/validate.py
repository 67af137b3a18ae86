"""Checking features against a layer's spec: fields mapped and typed, geometry repaired and unified.

A row that cannot be loaded is rejected with a reason; the file is refused only when the problem
is the file's (a missing required field, coordinates that land outside Slovenia).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import LoadError
from layers.registry import Field, LayerSpec

# EPSG:3794 extent of Slovenia with a 20 km margin: data outside it was declared in the wrong CRS.
SLOVENIA_3794 = (353_000.0, 11_000.0, 645_000.0, 215_000.0)

# shapely type ids: 0 Point, 1 LineString, 3 Polygon, 5 MultiLineString, 6 MultiPolygon.
GEOMETRY_TYPE_IDS = {"MultiPolygon": (3, 6), "MultiLineString": (1, 5), "Point": (0,)}
EMPTY = shapely.from_wkt("GEOMETRYCOLLECTION EMPTY")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d. %m. %Y")


@dataclass
class Prepared:
    """Rows ready for COPY (in the spec's columns, geometry in the storage SRID) and the rest."""

    rows: pd.DataFrame
    geometry: np.ndarray
    rejects: list[tuple[int, str]] = field(default_factory=list)
    repaired: int = 0


def map_columns(frame: pd.DataFrame, spec: LayerSpec, path: Path) -> dict[str, str]:
    """Return ``{target column: source column}``; refuse a file missing a required field."""
    by_lower = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    mapping, missing = {}, []
    for fld in spec.loaded_fields:
        source = next(
            (by_lower[n.lower()] for n in (fld.name, *fld.aliases) if n.lower() in by_lower), None
        )
        if source is not None:
            mapping[fld.name] = source
        elif fld.required:
            missing.append(f"{fld.name} (or {', '.join(fld.aliases)})" if fld.aliases else fld.name)
    if missing:
        raise LoadError(
            path,
            spec.id,
            f"required fields missing: {'; '.join(missing)}",
            f"manjkajo obvezna polja: {'; '.join(missing)}",
            "rename the source columns or add them",
            "preimenujte ali dodajte stolpce",
        )
    return mapping


def convert_value(value: object, fld: Field) -> object:
    """Return ``value`` as the field's type, None for a missing value; ValueError if it is not."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if fld.type == "text":
        return str(value)
    if fld.type == "integer":
        number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    if fld.type == "real":
        return float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    return convert_date(value)


def convert_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, dt.date):
        return value
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date")


def convert_rows(
    frame: pd.DataFrame, spec: LayerSpec, mapping: dict[str, str]
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Convert every mapped value; a row with a bad or missing required value is rejected.

    Rows keep the index of ``frame``, and rejects name it, so both point at the source row.
    """
    records, rejects = {}, []
    fields = [spec.field(name) for name in mapping]
    for index, row in zip(
        frame.index, frame[list(mapping.values())].itertuples(index=False), strict=True
    ):
        record, reason = {}, None
        for fld, value in zip(fields, row, strict=True):
            try:
                converted = convert_value(value, fld)
            except (ValueError, TypeError) as exc:
                reason = f"{fld.name}: {exc}"
                break
            if converted is None and fld.required:
                reason = f"{fld.name}: required value missing"
                break
            if converted is not None and fld.allowed and converted not in fld.allowed:
                reason = f"{fld.name}: {converted!r} not one of {fld.allowed}"
                break
            record[fld.name] = converted
        if reason:
            rejects.append((int(index), reason))
        else:
            records[index] = record
    rows = pd.DataFrame.from_dict(records, orient="index", columns=list(mapping))
    return rows, rejects


def repair_geometry(geometry: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop Z/M, repair invalid shapes and unify single and multi parts.

    Returns the geometries, a mask of those repaired and a mask of those unusable (null, empty,
    or of the wrong kind even after repair).
    """
    geometry = shapely.force_2d(geometry)
    invalid = ~shapely.is_valid(geometry) & ~shapely.is_missing(geometry)
    if invalid.any():
        # make_valid may return a collection mixing the shape with stray lines or points.
        geometry[invalid] = [_keep_kind(g, kind) for g in shapely.make_valid(geometry[invalid])]
    type_ids = shapely.get_type_id(geometry)
    unusable = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    unusable |= ~np.isin(type_ids, GEOMETRY_TYPE_IDS[kind])
    if kind == "MultiPolygon":
        single = type_ids == 3
        geometry[single] = [shapely.MultiPolygon([g]) for g in geometry[single]]
    elif kind == "MultiLineString":
        single = type_ids == 1
        geometry[single] = [shapely.MultiLineString([g]) for g in geometry[single]]
    return geometry, invalid, unusable


def _keep_kind(geom: shapely.Geometry, kind: str) -> shapely.Geometry:
    if geom.geom_type != "GeometryCollection":
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if shapely.get_type_id(g) in GEOMETRY_TYPE_IDS[kind]
    ]
    return shapely.union_all(parts) if parts else EMPTY


def check_extent(geometry: np.ndarray, source_crs: str, spec: LayerSpec, path: Path) -> np.ndarray:
    """Refuse a file whose features mostly land outside Slovenia; return the outliers' mask.

    Coordinates that did not survive reprojection (infinite, NaN) count as outside.
    """
    xmin, ymin, xmax, ymax = SLOVENIA_3794
    bounds = shapely.bounds(geometry)
    x, y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    with np.errstate(invalid="ignore"):
        outside = ~((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
    if len(geometry) and outside.mean() > 0.5:
        raise LoadError(
            path,
            spec.id,
            f"after reprojection from {source_crs} the data lies far outside Slovenia "
            f"(e.g. x={x[0]:.0f}, y={y[0]:.0f} in EPSG:3794); the declared CRS is probably wrong "
            "or the axes are swapped",
            f"po pretvorbi iz {source_crs} so podatki daleč izven Slovenije; koordinatni sistem "
            "je verjetno napačen ali sta osi zamenjani",
            "pass the right CRS with --crs (D48/GK data is EPSG:3912)",
            "podajte pravi koordinatni sistem z --crs (D48/GK je EPSG:3912)",
        )
    return outside


def prepare(frame: gpd.GeoDataFrame, spec: LayerSpec, path: Path, source_crs: str) -> Prepared:
    """Map, convert and check ``frame`` for ``spec``; geometry ends in the storage SRID."""
    mapping = map_columns(frame, spec, path)
    frame = frame.to_crs(spec.srid).reset_index(drop=True)
    geometry = frame.geometry.array.to_numpy().copy()
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    outside = np.zeros(len(frame), dtype=bool)
    outside[present] = check_extent(geometry[present], source_crs, spec, path)
    rejects = [(int(i), "geometry outside Slovenia") for i in np.flatnonzero(outside)]
    checked = present & ~outside
    repaired = np.zeros(len(frame), dtype=bool)
    unusable = ~present
    geometry[checked], repaired[checked], unusable[checked] = repair_geometry(
        geometry[checked], spec.geometry_kind
    )
    rejects += [
        (int(i), f"geometry null, empty or not {spec.geometry_kind}")
        for i in np.flatnonzero(unusable)
    ]
    rows, row_rejects = convert_rows(frame.loc[~unusable & ~outside], spec, mapping)
    accepted = rows.index.to_numpy(dtype=int)
    return Prepared(
        rows=rows,
        geometry=geometry[accepted],
        rejects=sorted(rejects + row_rejects),
        repaired=int(repaired[accepted].sum()),
    )
