"""Features of a layer chosen by a person: in view, in an area, picked one by one, filtered.

A ``Scope`` says which features; the table's rows, the selection's count and sums, its
outline on the map and the exported files are all read through it, so they cannot disagree.
Lengths and areas are measured in the storage CRS (D96/TM), whose metres are true.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, Select, TableClause, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT

from layers.filters import NO_FILTER, Filter
from layers.queries import WEB_MERCATOR, check_access, kept_to, layer_table, read_columns
from layers.spec import Geometry, LayerSpec

TABLE_ROWS = 10_000  # a table of more rows is read no further: a person pages, or exports
OUTLINED = 5_000  # the most selected features outlined on the map


@dataclass(frozen=True)
class Scope:
    """The features of ``spec`` that ``where`` lets through (in ``part`` of a partitioned
    layer), meeting ``area`` (EPSG:3857) when one is given, among ``ids`` when they are.
    """

    spec: LayerSpec
    part: str | None = None
    where: Filter = NO_FILTER
    area: shapely.Geometry | None = None
    ids: frozenset[int] | None = None


def _scoped(scope: Scope, columns: list, source: TableClause) -> Select:
    spec = scope.spec
    query = kept_to(select(*columns), source, spec, scope.part, scope.where)
    if scope.area is not None:
        area = func.ST_Transform(
            func.ST_GeomFromWKB(bindparam("area", shapely.to_wkb(scope.area)), WEB_MERCATOR),
            spec.srid,
        )
        query = query.where(func.ST_Intersects(source.c[spec.geometry_column], area))
    if scope.ids is not None:
        ids = bindparam("ids", sorted(scope.ids), type_=ARRAY(BIGINT))
        query = query.where(source.c[spec.id_column] == func.any(ids))
    return query


def _source(spec: LayerSpec) -> TableClause:
    return layer_table(spec, [*read_columns(spec), spec.geometry_column])


def ids_within(engine: Engine, scope: Scope, role: str) -> frozenset[int]:
    """The ids of the features in ``scope`` (an area drawn or dragged on the map)."""
    check_access(scope.spec, role)
    source = _source(scope.spec)
    with engine.connect() as conn:
        return frozenset(conn.scalars(_scoped(scope, [source.c[scope.spec.id_column]], source)))


def table_rows(engine: Engine, scope: Scope, role: str) -> pd.DataFrame:
    """The id and every field of the features in ``scope``, by id, ``TABLE_ROWS`` at most."""
    check_access(scope.spec, role)
    names = read_columns(scope.spec)
    source = _source(scope.spec)
    query = _scoped(scope, [source.c[n] for n in names], source)
    query = query.order_by(source.c[scope.spec.id_column]).limit(TABLE_ROWS)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=names)


def totals(engine: Engine, scope: Scope, role: str) -> dict[str, float]:
    """The count of the features in ``scope``, the sums of the layer's ``totals`` and their
    length in km (lines) or area in ha (polygons).
    """
    spec = scope.spec
    check_access(spec, role)
    source = _source(spec)
    geom = source.c[spec.geometry_column]
    measures = [func.count().label("count")]
    measures += [func.coalesce(func.sum(source.c[n]), 0).label(n) for n in spec.totals]
    if spec.geometry == Geometry.LINE:
        measures.append((func.coalesce(func.sum(func.ST_Length(geom)), 0) / 1000).label("km"))
    if spec.geometry == Geometry.POLYGON:
        measures.append((func.coalesce(func.sum(func.ST_Area(geom)), 0) / 10_000).label("ha"))
    with engine.connect() as conn:
        row = conn.execute(_scoped(scope, measures, source)).one()
    return {name: float(value) for name, value in row._mapping.items()}


def outlines(engine: Engine, scope: Scope, role: str, tolerance_m: float) -> list:
    """The shapes of the features in ``scope`` in EPSG:3857, simplified to ``tolerance_m``,
    ``OUTLINED`` at most: what the map outlines of a selection.
    """
    spec = scope.spec
    check_access(spec, role)
    source = _source(spec)
    shape = func.ST_Simplify(source.c[spec.geometry_column], bindparam("tolerance", tolerance_m))
    query = _scoped(scope, [func.ST_AsBinary(func.ST_Transform(shape, WEB_MERCATOR))], source)
    with engine.connect() as conn:
        found = conn.scalars(query.limit(OUTLINED)).all()
    return list(shapely.from_wkb([bytes(wkb) for wkb in found]))


def features(engine: Engine, scope: Scope, role: str) -> gpd.GeoDataFrame:
    """The features in ``scope`` with every field, in the storage CRS: what is exported."""
    spec = scope.spec
    check_access(spec, role)
    names = read_columns(spec)
    source = _source(spec)
    wkb = func.ST_AsBinary(source.c[spec.geometry_column])
    query = _scoped(scope, [*(source.c[n] for n in names), wkb], source)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(source.c[spec.id_column])).all()
    frame = pd.DataFrame([row[:-1] for row in rows], columns=names)
    geometry = shapely.from_wkb([bytes(row[-1]) for row in rows]) if rows else []
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=spec.srid)
