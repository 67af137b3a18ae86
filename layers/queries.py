"""Reading layers from PostGIS: per viewport, simplified to the zoom, one feature at a point.

SQL lives here and in ``etl/`` only. Table and column names come from the registry, every value
is bound. The viewport box is transformed to the layer's SRID, never the column, so that the
GiST index is used; ``&&`` tests the box (cheaper than ST_Intersects on a rectangle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import shapely
from sqlalchemy import Engine, bindparam, column, func, literal, select, table

from layers.errors import LayerAccessError
from layers.filters import NO_FILTER, Filter
from layers.spec import LayerSpec

if TYPE_CHECKING:
    from sqlalchemy import Function, Select, TableClause

WEB_MERCATOR = 3857
EARTH_RADIUS_M = 6_378_137.0
MAX_FEATURES = 50_000  # a safety net: no viewport of a municipality needs more
SNAP_PX = 128  # viewports snap outwards to this many pixels, so small pans reuse the cache


def mercator_stretch(y: float) -> float:
    """How many metres of EPSG:3857 a true metre is at northing ``y`` (1/cos φ; 1.45 at Ptuj)."""
    return 1 / math.cos(math.atan(math.sinh(y / EARTH_RADIUS_M)))


@dataclass(frozen=True)
class Viewport:
    """What the map shows: a box in EPSG:3857 and its width in screen pixels."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    width_px: int = 1000

    @property
    def canvas_px(self) -> tuple[int, int]:
        """The view in pixels, width by height: ``width_px`` wide, with square pixels."""
        width = max(self.width_px, 1)
        aspect = (self.ymax - self.ymin) / max(self.xmax - self.xmin, 1e-9)
        return width, max(round(width * aspect), 1)

    @property
    def pixel_size(self) -> float:
        """Metres of EPSG:3857 per screen pixel."""
        return (self.xmax - self.xmin) / max(self.width_px, 1)

    @property
    def ground_pixel_size(self) -> float:
        """True metres per pixel at the viewport's centre."""
        return self.pixel_size / mercator_stretch((self.ymin + self.ymax) / 2)

    def snapped(self) -> Viewport:
        """The viewport grown outwards to a grid, so neighbouring requests coincide."""
        zoom_step = 2 ** math.ceil(math.log2(max(self.pixel_size, 1e-3)))
        cell = zoom_step * SNAP_PX
        return Viewport(
            math.floor(self.xmin / cell) * cell,
            math.floor(self.ymin / cell) * cell,
            math.ceil(self.xmax / cell) * cell,
            math.ceil(self.ymax / cell) * cell,
            round((math.ceil(self.xmax / cell) - math.floor(self.xmin / cell)) * SNAP_PX),
        )


def check_access(spec: LayerSpec, role: str) -> None:
    """Refuse a role the spec does not name: rows never reach a session that may not see them."""
    if role not in spec.roles:
        raise LayerAccessError(
            f"role {role!r} may not see layer {spec.id!r}",
            f"vloga {role!r} ne sme videti sloja {spec.id!r}",
        )


def layer_table(spec: LayerSpec, names: list[str]) -> TableClause:
    """The table or view the layer is read from, with the columns ``names``."""
    return table(spec.read_table, *(column(n) for n in names))


def _box(viewport: Viewport, srid: int) -> Function:
    envelope = func.ST_MakeEnvelope(
        bindparam("xmin", viewport.xmin),
        bindparam("ymin", viewport.ymin),
        bindparam("xmax", viewport.xmax),
        bindparam("ymax", viewport.ymax),
        WEB_MERCATOR,
    )
    return func.ST_Transform(envelope, srid)


def kept_to(
    query: Select, source: TableClause, spec: LayerSpec, part: str | None, where: Filter
) -> Select:
    """``query`` kept to the features ``where`` lets through, in one part of a partitioned
    layer (a flood scenario).
    """
    query = query.where(*where.clauses(source))
    if not spec.partition_column:
        return query
    return query.where(source.c[spec.partition_column] == bindparam("part", part))


def read_columns(spec: LayerSpec) -> list[str]:
    """The columns read of each feature: the id, then every field, derived ones too."""
    return [spec.id_column, *(f.name for f in spec.fields)]


def _drawn(spec: LayerSpec, source: TableClause, tolerance_m: float) -> list:
    """What a map draws of each feature: every column read, and the shape in EPSG:3857 as WKB,
    simplified to ``tolerance_m`` (half a pixel of the view it is drawn in).
    """
    geom = source.c[spec.geometry_column]
    shape = (
        geom
        if spec.geometry == "Point"
        else func.ST_SimplifyPreserveTopology(geom, bindparam("tolerance", tolerance_m))
    )
    return [
        *(source.c[n] for n in read_columns(spec)),
        func.ST_AsBinary(func.ST_Transform(shape, WEB_MERCATOR)).label("wkb"),
    ]


def _drawn_frame(engine: Engine, spec: LayerSpec, query: Select) -> gpd.GeoDataFrame:
    """The rows of a query of ``_drawn`` columns, as a frame in EPSG:3857."""
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    names = read_columns(spec)
    # column by column: a dict a row was 48 of a big view's 227 ms
    *values, wkb = zip(*rows, strict=True) if rows else [()] * (len(names) + 1)
    frame = dict(zip(names, values, strict=True))
    return gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb), crs=WEB_MERCATOR)


def _point(x: float, y: float, srid: int) -> Function:
    """The point (x, y) of EPSG:3857 in ``srid``."""
    return func.ST_Transform(
        func.ST_SetSRID(func.ST_MakePoint(bindparam("x", x), bindparam("y", y)), WEB_MERCATOR),
        srid,
    )


def fetch_features(
    engine: Engine,
    spec: LayerSpec,
    viewport: Viewport,
    role: str,
    part: str | None = None,
    where: Filter = NO_FILTER,
) -> gpd.GeoDataFrame:
    """The features of ``spec`` meeting ``viewport``, in EPSG:3857, simplified to its pixel size.

    Parameters
    ----------
    engine
        A read-only engine.
    role
        The session's role; a role the spec does not allow gets ``LayerAccessError``.
    part
        For a partitioned layer, the part to show (a flood scenario); nothing else is read.
    where
        The attribute filter the features must pass.
    """
    check_access(spec, role)
    source = layer_table(spec, [*read_columns(spec), spec.geometry_column])
    query = (
        select(*_drawn(spec, source, viewport.ground_pixel_size / 2))
        .where(source.c[spec.geometry_column].op("&&")(_box(viewport, spec.srid)))
        .order_by(source.c[spec.id_column])
        .limit(MAX_FEATURES)
    )
    return _drawn_frame(engine, spec, kept_to(query, source, spec, part, where))


def _nearest(
    query: Select, source: TableClause, spec: LayerSpec, x: float, y: float, radius_m: float
) -> Select:
    """``query`` kept to the feature nearest to (x, y) in EPSG:3857 within ``radius_m``."""
    geom = source.c[spec.geometry_column]
    point = _point(x, y, spec.srid)
    return (
        query.where(func.ST_DWithin(geom, point, bindparam("radius", radius_m)))
        .order_by(geom.op("<->")(point))
        .limit(1)
    )


def feature_at(
    engine: Engine,
    spec: LayerSpec,
    x: float,
    y: float,
    radius_m: float,
    role: str,
    part: str | None = None,
    where: Filter = NO_FILTER,
) -> dict | None:
    """All attributes of the feature of ``spec`` nearest to (x, y) in EPSG:3857 within
    ``radius_m``, of those ``where`` lets through.
    """
    check_access(spec, role)
    names = read_columns(spec)
    source = layer_table(spec, [*names, spec.geometry_column])
    query = _nearest(select(*(source.c[n] for n in names)), source, spec, x, y, radius_m)
    query = kept_to(query, source, spec, part, where)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return dict(zip(names, row, strict=True)) if row else None


def feature_drawn_at(
    engine: Engine,
    spec: LayerSpec,
    x: float,
    y: float,
    viewport: Viewport,
    radius_m: float,
    role: str,
    part: str | None = None,
    where: Filter = NO_FILTER,
) -> gpd.GeoDataFrame:
    """The feature ``feature_at`` finds, as ``fetch_features`` draws it for ``viewport``: a
    frame of one row, or none.
    """
    check_access(spec, role)
    source = layer_table(spec, [*read_columns(spec), spec.geometry_column])
    query = select(*_drawn(spec, source, viewport.ground_pixel_size / 2))
    query = _nearest(query, source, spec, x, y, radius_m)
    return _drawn_frame(engine, spec, kept_to(query, source, spec, part, where))


def feature_with_id(engine: Engine, spec: LayerSpec, feature_id: int, role: str) -> dict | None:
    """All attributes of the feature of ``spec`` whose id is ``feature_id``, or None."""
    check_access(spec, role)
    names = read_columns(spec)
    source = layer_table(spec, names)
    query = select(*(source.c[n] for n in names)).where(
        source.c[spec.id_column] == bindparam("feature_id", feature_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return dict(zip(names, row, strict=True)) if row else None


def layer_extent(engine: Engine, spec: LayerSpec) -> tuple[float, float, float, float] | None:
    """The extent of a layer in EPSG:3857, or None when it is empty."""
    source = layer_table(spec, [spec.geometry_column])
    extent = func.ST_Transform(
        func.ST_SetSRID(func.ST_Extent(source.c[spec.geometry_column]), spec.srid), WEB_MERCATOR
    )
    query = select(
        func.ST_XMin(extent), func.ST_YMin(extent), func.ST_XMax(extent), func.ST_YMax(extent)
    ).select_from(source)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None or row[0] is None else tuple(float(v) for v in row)


def holds_data(engine: Engine, spec: LayerSpec, part: str | None = None) -> bool:
    """Whether ``spec`` has any feature (in ``part``, when one is given)."""
    source = layer_table(spec, [spec.partition_column or spec.id_column])
    query = select(literal(1)).select_from(source)
    if part is not None:
        query = kept_to(query, source, spec, part, NO_FILTER)
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def partition_values(engine: Engine, spec: LayerSpec) -> list[str]:
    """The parts a partitioned layer holds (its flood scenarios), in the spec's order."""
    if not spec.partition_column:
        return []
    source = layer_table(
        spec, [spec.partition_column, spec.partition_order or spec.partition_column]
    )
    part = source.c[spec.partition_column]
    order = source.c[spec.partition_order or spec.partition_column]
    query = select(part).group_by(part).order_by(func.min(order), part)
    with engine.connect() as conn:
        return [str(v) for v in conn.scalars(query)]


def named_shapes(engine: Engine, spec: LayerSpec, role: str) -> dict[str, shapely.Geometry]:
    """Each feature of ``spec`` by its label, in the storage CRS (areas to report on)."""
    check_access(spec, role)
    source = layer_table(spec, [spec.label_field, spec.geometry_column])
    query = select(
        source.c[spec.label_field], func.ST_AsBinary(source.c[spec.geometry_column])
    ).order_by(source.c[spec.label_field])
    with engine.connect() as conn:
        return {str(label): shapely.from_wkb(bytes(wkb)) for label, wkb in conn.execute(query)}
