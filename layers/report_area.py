"""The area a flood report covers, in SQL: the one drawn or chosen, else the whole
municipality; shared by the exposure report and the evacuation it plans.
"""

from __future__ import annotations

from layers.registry import layer_for

AREA_SQL = """
  area AS (SELECT CASE WHEN CAST(:area AS bytea) IS NULL
                       THEN (SELECT ST_Union(geom) FROM {municipality})
                       ELSE ST_SetSRID(ST_GeomFromWKB(:area), :srid) END AS geom)"""


def quoted(name: str) -> str:
    """A name from the registry as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def area_cte() -> str:
    """The report's area as a common table expression ``area``, from the parameters ``area``
    (WKB in EPSG:3794, or None for the whole municipality) and ``srid``.
    """
    return AREA_SQL.format(municipality=quoted(layer_for("boundary").read_table))
