"""The area a flood report covers, in SQL: the one drawn or chosen, else the whole
municipality; shared by the exposure report and the evacuation it plans, as are the points
their queries place features at.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers.db import quoted
from layers.registry import layer_for
from layers.spec import STORAGE_SRID

AREA_SQL = """
  area AS (SELECT CASE WHEN CAST(:area AS bytea) IS NULL
                       THEN (SELECT ST_Union(geom) FROM {municipality})
                       ELSE ST_SetSRID(ST_GeomFromWKB(:area), :srid) END AS geom)"""


def area_cte() -> str:
    """The report's area as a common table expression ``area``, from the parameters ``area``
    (WKB in EPSG:3794, or None for the whole municipality) and ``srid``.
    """
    return AREA_SQL.format(municipality=quoted(layer_for("boundary").read_table))


def at_points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """The rows of a report's query, each at its point (columns ``x`` and ``y``, EPSG:3794)."""
    spots = gpd.points_from_xy(frame.pop("x"), frame.pop("y"), crs=STORAGE_SRID)
    return gpd.GeoDataFrame(frame, geometry=spots)
