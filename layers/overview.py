"""A point on each feature of a big line or polygon layer, with the value its style colours by,
held by the process for the views that hold more features than a view reads (``MAX_FEATURES``).

A layer of a million buildings cannot be read feature by feature at each pan at the
municipality's or the country's extent: the first 50,000 alone took a second, and the rest
were not drawn. The overview is read once, through COPY (1.3 s for a million buildings), shared
by every session, and read again once the table has changed: PostgreSQL's own counts of the
rows written to it (``pg_stat_user_tables``) are asked at most every ``CHECK_SECONDS``, so an
edit made in QGIS shows as a load does. A table holding no more rows than a view reads has none.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine, text

from layers.db import copied_rows, quoted
from layers.queries import MAX_FEATURES, WEB_MERCATOR, Viewport, check_access
from layers.spec import LayerSpec

CHECK_SECONDS = 5  # how stale an overview may be after its table changed

VERSION_SQL = text(
    "SELECT n_live_tup, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
    " WHERE relid = CAST(:table AS regclass)"
)


@dataclass(frozen=True)
class Overview:
    """A point on each feature (EPSG:3857) and the index of its class in ``classes``."""

    x: np.ndarray
    y: np.ndarray
    codes: np.ndarray
    classes: tuple[str, ...]

    def within(self, viewport: Viewport) -> np.ndarray:
        """Which features' points lie in ``viewport``."""
        return (
            (self.x >= viewport.xmin)
            & (self.x <= viewport.xmax)
            & (self.y >= viewport.ymin)
            & (self.y <= viewport.ymax)
        )


def read_overview(engine: Engine, spec: LayerSpec, column: str | None) -> Overview:
    """A point on each of ``spec``'s features and its ``column`` value (none: one class)."""
    value = f"{quoted(column)}::text" if column else "''"
    table = copied_rows(
        engine,
        f"SELECT ST_X(p), ST_Y(p), v FROM (SELECT ST_Transform(ST_Centroid("  # noqa: S608 (registry names, quoted)
        f"{quoted(spec.geometry_column)}), {WEB_MERCATOR}) AS p, {value} AS v"
        f" FROM {quoted(spec.read_table)}) t",
        {"x": pa.float32(), "y": pa.float32(), "value": pa.string()},
    )
    values = pd.Categorical(table.column("value").to_pandas())
    return Overview(
        table.column("x").to_numpy(),
        table.column("y").to_numpy(),
        np.asarray(values.codes, np.int32),  # -1: no value
        tuple(str(c) for c in values.categories),
    )


@dataclass
class _Held:
    overview: Overview | None
    version: tuple
    checked: float


class Overviews:
    """The overviews of one engine's big layers, by layer and colouring column."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._held: dict[tuple[LayerSpec, str | None], _Held] = {}
        self._locks: dict[tuple[LayerSpec, str | None], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def get(self, spec: LayerSpec, role: str, column: str | None) -> Overview | None:
        """The overview of ``spec`` coloured by ``column``, as current as ``CHECK_SECONDS``
        allows; none for a layer no view could hold too many of.

        Raises
        ------
        LayerAccessError
            ``role`` may not see the layer.
        """
        check_access(spec, role)
        key = (spec, column)
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # sessions asking meanwhile wait for this one's reading, not read their own
            held, now = self._held.get(key), time.monotonic()
            if held and now - held.checked < CHECK_SECONDS:
                return held.overview
            with self.engine.connect() as conn:
                table = quoted(spec.load_table)
                found = conn.execute(VERSION_SQL, {"table": table}).one_or_none()
            version = tuple(found or ())
            if held and held.version == version:
                held.checked = now
                return held.overview
            big = bool(found) and found[0] > MAX_FEATURES
            overview = read_overview(self.engine, spec, column) if big else None
            self._held[key] = _Held(overview, version, now)
            return overview
