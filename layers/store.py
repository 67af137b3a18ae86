"""The feature store: the process's one engine, and what sessions share through it.

``app.py`` makes one store around its engine and hands it to every page. Viewport queries are
cached for a minute, keyed by the hashable things themselves (the spec, the snapped viewport,
the role, the part, the filter): users looking at the same place share one query, and no key holds a URL
or a password. Big layers' overviews are held once for all sessions. Dense layers' readings come
from the process's reading caches of that engine.
"""

from __future__ import annotations

import time
from functools import lru_cache

import geopandas as gpd
from sqlalchemy import Engine

from layers.filters import NO_FILTER, Filter
from layers.overview import Overview, Overviews
from layers.queries import Viewport, fetch_features
from layers.readings import ReadingCache, reading_cache
from layers.spec import LayerSpec

CACHE_SECONDS = 60
CACHE_ITEMS = 500


class FeatureStore:
    """Layers read for the dashboards, through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cached = lru_cache(maxsize=CACHE_ITEMS)(self._fetch)
        self._overviews = Overviews(engine)
        self._minute = -1

    def features(
        self,
        spec: LayerSpec,
        viewport: Viewport,
        role: str,
        part: str | None = None,
        where: Filter = NO_FILTER,
    ) -> gpd.GeoDataFrame:
        """The features of ``spec`` in ``viewport`` (snapped to the cache's grid) for ``role``,
        those of ``part`` that ``where`` lets through.

        Entries live until the minute they were made in has passed, at most ``CACHE_SECONDS``.
        """
        minute = int(time.monotonic() // CACHE_SECONDS)
        if minute != self._minute:  # no key of a minute gone is asked for again: free them all
            self._cached.cache_clear()
            self._minute = minute
        return self._cached(spec, viewport.snapped(), role, part, where, minute)

    def _fetch(
        self,
        spec: LayerSpec,
        viewport: Viewport,
        role: str,
        part: str | None,
        where: Filter,
        _minute: int,
    ) -> gpd.GeoDataFrame:
        return fetch_features(self.engine, spec, viewport, role, part, where)

    def overview(self, spec: LayerSpec, role: str, column: str | None) -> Overview | None:
        """A point on each feature of a big layer, coloured by ``column``, shared by every
        session (``layers.overview``); none for a layer no view holds too many of.
        """
        return self._overviews.get(spec, role, column)

    def readings(self, spec: LayerSpec) -> ReadingCache:
        """The process's reading cache of a dense layer."""
        return reading_cache(self.engine, spec)
