"""The open views as pygeoapi reads them for the OGC API (``dashboards.ogc``).

pygeoapi's PostgreSQL provider reads each open view of ``layers.open_data`` (an open layer's id,
declared fields and shape, beside its table) as the dashboards' read-only role;
here is what it connects with, each view's extent for its collection, and the provider itself on
the project's driver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderItemNotFoundError
from pygeoapi.provider.sql import GenericSQLProvider, PostgreSQLProvider
from sqlalchemy import ColumnElement, Engine, and_, column, func, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError

from layers.open_data import AIR_QUALITY_VIEW_NAME, open_layers, view_name

SLOVENIA_CRS84 = [13.37, 45.42, 16.61, 46.88]  # the extent of a layer with nothing loaded yet
PARSERS: dict[type, Callable[[str], object]] = {  # a query's text as its column's type
    int: int,
    float: float,
    dt.date: dt.date.fromisoformat,
    dt.datetime: dt.datetime.fromisoformat,
}


def view_connection(engine: Engine, reader_url: str) -> dict:
    """The provider's connection: the read-only role of ``reader_url``, in the schema its
    engine reads the tables from (where the open views are too).
    """
    url = make_url(reader_url)
    with engine.connect() as conn:
        schema = conn.scalar(select(func.current_schema()))
    return {
        "host": url.host,
        "port": url.port or 5432,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
        "search_path": [schema],
    }


def open_extents(engine: Engine) -> dict[str, list[float]]:
    """Each open view's extent in CRS84 (west, south, east, north), by view; Slovenia's while
    it holds nothing.
    """
    extents = {}
    with engine.connect() as conn:
        for name in [*(view_name(s) for s in open_layers()), AIR_QUALITY_VIEW_NAME]:
            view = table(name, column("geom"))
            box = func.ST_Extent(func.ST_Transform(view.c.geom, 4326))
            found = conn.execute(select(*_corners(box))).one()
            extents[name] = SLOVENIA_CRS84 if found[0] is None else [round(v, 6) for v in found]
    return extents


def air_quality_hours(engine: Engine) -> list[dt.datetime | None]:
    """The first and the last hour of the air quality's means (None when there are none)."""
    hours = table(AIR_QUALITY_VIEW_NAME, column("hour_start"))
    with engine.connect() as conn:
        found = conn.execute(select(func.min(hours.c.hour_start), func.max(hours.c.hour_start)))
        return list(found.one())


def _corners(box: ColumnElement) -> list[ColumnElement]:
    return [func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)]


def _utc(moment: str) -> dt.datetime:
    """An RFC 3339 time of a request (pygeoapi has checked it), in UTC when it names no zone."""
    parsed = dt.datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class OpenViewProvider(PostgreSQLProvider):
    """pygeoapi's PostGIS provider on psycopg 3, the driver the project has, not psycopg2.

    psycopg 3 sends a query's values with their Python type, and PostgreSQL compares no text
    with a number or a time: the values a request gives as text (an id, ``code=5``, a
    ``datetime``) are read as the column's type first, and one that is not of it is the
    client's mistake (400), not ours.
    """

    def __init__(self, provider_def: dict) -> None:
        GenericSQLProvider.__init__(
            self, provider_def, "postgresql+psycopg", {"application_name": "ogc-api"}
        )

    def get(self, identifier: str, **kwargs: object) -> dict:
        """The feature of id ``identifier``; 404 for one that is not a number the view holds."""
        try:
            return super().get(int(identifier), **kwargs)
        except (ValueError, DataError):  # not a number, or not one the id column holds
            raise ProviderItemNotFoundError(f"no feature {identifier!r}") from None

    def query(self, **kwargs: object) -> dict:
        """The features pygeoapi asks for, a 3D bbox flattened; 400 for a value out of range."""
        bbox = kwargs.get("bbox") or []
        if len(bbox) == 6:  # minx, miny, minz, maxx, maxy, maxz: the layers are flat
            kwargs["bbox"] = [bbox[0], bbox[1], bbox[3], bbox[4]]
        try:
            return super().query(**kwargs)
        except DataError:  # code=99999999999
            raise ProviderInvalidQueryError("a value is out of its field's range") from None

    def _get_datetime_filter(self, datetime_: str | None) -> ColumnElement | bool:
        if datetime_ in (None, "../.."):
            return True
        times = [None if t == ".." else _utc(t) for t in datetime_.split("/")]
        column = getattr(self.table_model, self.time_field)
        if len(times) == 1:  # an instant
            return column == times[0]
        begin, end = times  # an interval, open at one end or neither
        return and_(*([column >= begin] if begin else []), *([column <= end] if end else []))

    def _get_property_filters(self, properties: list[tuple[str, str]]) -> ColumnElement:
        return super()._get_property_filters([(n, self._typed(n, v)) for n, v in properties])

    def _typed(self, name: str, value: str) -> object:
        kind = self.table_model.__table__.columns[name].type.python_type
        try:
            return PARSERS.get(kind, str)(value)
        except ValueError:
            raise ProviderInvalidQueryError(
                f"{name}={value!r} is not of the field's type ({kind.__name__})"
            ) from None
