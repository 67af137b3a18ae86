"""The flood exposure report: what lies in each hazard class of a scenario, computed in PostGIS.

One statement answers the whole report, so the hazard zones are clipped to the area once and
every section uses the GiST indexes of its layer. Containment is asked as ``ST_Covers(area,
piece)``, the constant geometry first, so PostGIS prepares it once (measured: 3 ms against
165 ms for ``ST_CoveredBy(piece, area)`` over Ptuj's 655 Q100 pieces).

Each section is a layer's exposure declaration (``layers.spec.Exposure``) turned into SQL:
- counted features (buildings, heritage) are exposed when any part of them touches a zone, and
  count once, in the most severe class they touch; a sum (residents) adds up all of a feature's
  value, however little of it is under water (an upper estimate for evacuation planning);
- lengths and areas (roads, mains) count the part inside each class (zones of a scenario do not
  overlap);
- listed features (hotspots, critical sites) are named, with the class they stand in.

A section whose layer the role may not see is left out, never computed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from layers.db import quoted
from layers.evacuation import Evacuation, plan_evacuation
from layers.queries import check_access
from layers.registry import (
    DEPTH_TABLE,
    HAZARD_CLASSES,
    address_layer,
    exposed_layers,
    layer_for,
    network_layer,
)
from layers.report_area import area_cte, at_points
from layers.settings import LJUBLJANA
from layers.spec import STORAGE_SRID, Exposure, LayerSpec

ZONE_AREA = "zone_area"  # the report's own section: the area of each class, from the zones
ZONE_AREA_SQL = """SELECT json_agg(row_to_json(t)) FROM (
    SELECT hazard_class, sum(ST_Area(geom)) / 1e4 AS hectares
      FROM zone GROUP BY hazard_class, rank ORDER BY rank) t"""
CLIPPED_SQL = {  # a measure of the part of a feature inside a zone, in km or ha
    "length": "ST_Length",
    "area": "ST_Area",
}
CLIPPED_SCALE = {"length": 1000, "area": 1e4}


def _once_sql(spec: LayerSpec, exposure: Exposure) -> str:
    """A feature counts once, in the most severe class it touches."""
    geom, key = quoted(spec.geometry_column), quoted(spec.id_column)
    group = [quoted(exposure.group_by)] if exposure.group_by else []
    columns = [*group, *(quoted(m.column) for m in exposure.measures if m.column)]
    figures = [
        f"count(*) AS {quoted(m.name)}"
        if m.kind == "count"
        else f"coalesce(sum({quoted(m.column)}), 0) AS {quoted(m.name)}"
        for m in exposure.measures
    ]
    inner = ", ".join(f"x.{c}" for c in [key, *columns])
    return f"""SELECT json_agg(row_to_json(t)) FROM (
         SELECT {", ".join(["hazard_class", *group, *figures])}
           FROM (SELECT {inner}, min(z.rank) AS rank
                   FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects(x.{geom}, z.geom)
                  GROUP BY {inner}) exposed
           JOIN classes USING (rank)
          GROUP BY {", ".join(["hazard_class", "rank", *group])}
          ORDER BY {", ".join(["rank", *group])}) t"""  # noqa: S608 (registry names, quoted)


def _clipped_sql(spec: LayerSpec, exposure: Exposure) -> str:
    """A feature counts by its part inside each class (zones of a scenario do not overlap)."""
    geom = f"x.{quoted(spec.geometry_column)}"
    group = [f"x.{quoted(exposure.group_by)}"] if exposure.group_by else []
    figures = [
        f"sum(CASE WHEN ST_Covers(z.geom, {geom}) THEN {CLIPPED_SQL[m.kind]}({geom})"
        f" ELSE {CLIPPED_SQL[m.kind]}(ST_Intersection({geom}, z.geom)) END)"
        f" / {CLIPPED_SCALE[m.kind]} AS {quoted(m.name)}"
        for m in exposure.measures
    ]
    return f"""SELECT json_agg(row_to_json(t)) FROM (
         SELECT {", ".join(["z.hazard_class", *group, *figures])}
           FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects({geom}, z.geom)
          GROUP BY {", ".join(["z.hazard_class", "z.rank", *group])}
          ORDER BY {", ".join(["z.rank", *group])}) t"""  # noqa: S608 (registry names, quoted)


def depth_at(point: str) -> str:
    """The water depth in metres at ``point`` (SQL of a point in EPSG:3794) in the report's
    scenario: the raster's cell there or, where the point itself is dry but its feature reaches
    into the water, the nearest wet cell of that tile; none for a flood loaded before its depths
    were kept (the zone's band then says how deep). To the centimetre: a cell's 0.2 m is
    0.20000000298 as the raster's single precision holds it.
    """
    return f"""(SELECT round(max(ST_NearestValue(d.rast, q.point))::numeric, 2)::float8
               FROM (SELECT {point} AS point OFFSET 0) q
               JOIN {quoted(DEPTH_TABLE)} d ON ST_ConvexHull(d.rast) && q.point
              WHERE d.scenario = :scenario)"""  # noqa: S608


def _listed_sql(spec: LayerSpec, exposure: Exposure) -> str:
    """Each exposed feature by name (and key, ``id``), in the most severe class it stands in,
    with the depth there.
    """
    key, geom = quoted(spec.id_column), quoted(spec.geometry_column)
    fields = ", ".join(f"x.{quoted(n)}" for n in exposure.listed)
    return f"""SELECT json_agg(row_to_json(t) ORDER BY t.rank, t.{quoted(spec.label_field)})
      FROM (
         SELECT DISTINCT ON (x.{key}) x.{key} AS id, {fields}, z.hazard_class, z.rank,
                {depth_at(f"ST_PointOnSurface(x.{geom})")} AS depth_m
           FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects(x.{geom}, z.geom)
          ORDER BY x.{key}, z.rank) t"""  # noqa: S608 (registry names, quoted)


def section_sql(spec: LayerSpec) -> str:
    """The statement of one layer's section, from its exposure declaration."""
    exposure = spec.exposure
    if exposure.listed:
        return _listed_sql(spec, exposure)
    return (_clipped_sql if exposure.clipped else _once_sql)(spec, exposure)


# the report's hazard classes, and the scenario's zones clipped to its area
ZONES_SQL = """
  classes (hazard_class, rank) AS (VALUES {class_ranks}),
  zone AS MATERIALIZED (
    SELECT * FROM (
      SELECT f.hazard_class, c.rank, f.depth_from_m, f.depth_to_m,
             CASE WHEN ST_Covers(a.geom, f.geom) THEN f.geom
                  ELSE ST_Multi(ST_CollectionExtract(ST_Intersection(f.geom, a.geom), 3)) END AS geom
        FROM {flood} f JOIN classes c USING (hazard_class), area a
       WHERE f.{scenario} = :scenario AND ST_Intersects(f.geom, a.geom)) clipped
     WHERE NOT ST_IsEmpty(geom))"""  # empty: a zone that only touches the area's edge


# a point of building ``e`` inside the deepest zone of its class (the zones carry no key, and
# carrying their shapes through the addresses' sort spilled it to disk)
IN_CLASS_SQL = """SELECT ST_PointOnSurface(ST_Intersection(e.shape, z.geom)) FROM zone z
                   WHERE z.rank = e.rank AND ST_Intersects(e.shape, z.geom)
                   ORDER BY z.depth_from_m DESC LIMIT 1"""


def addresses_sql(spec: LayerSpec, districts: LayerSpec) -> str:
    """Each exposed feature of ``spec`` with its declared address fields, the most severe class
    it touches and the deepest of its zones there, a point on it (``x``, ``y``), the district
    that point lies in, and the water depth at the building: at that point or, where the
    building reaches into deeper water than there (a house on a class's edge), at a point of it
    in that deeper zone, so that the depth lies in the building's class.
    """
    key, geom = quoted(spec.id_column), quoted(spec.geometry_column)
    fields = ", ".join(f"x.{quoted(n)}" for n in spec.exposure.addresses)
    names = ", ".join(f"e.{quoted(n)}" for n in spec.exposure.addresses)
    # OFFSET 0 (here and in ``depth_at``): a value worked out once, not once for each mention
    return f"""SELECT e.id, {names}, e.hazard_class, e.rank, e.depth_from_m, e.depth_to_m,
           CASE WHEN p.here >= e.depth_from_m AND p.here < coalesce(e.depth_to_m, 'Infinity')
                THEN p.here ELSE {depth_at(f"({IN_CLASS_SQL})")} END AS depth_m,
           ST_X(e.spot) AS x, ST_Y(e.spot) AS y,
           (SELECT d.{quoted(districts.label_field)} FROM {quoted(districts.read_table)} d
             WHERE ST_Intersects(d.{quoted(districts.geometry_column)}, e.spot) LIMIT 1) AS district
      FROM (SELECT DISTINCT ON (x.{key}) x.{key} AS id, {fields}, z.hazard_class, z.rank,
                   z.depth_from_m, z.depth_to_m, x.{geom} AS shape,
                   ST_PointOnSurface(x.{geom}) AS spot
              FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects(x.{geom}, z.geom)
             ORDER BY x.{key}, z.rank, z.depth_from_m DESC) e
      CROSS JOIN LATERAL (SELECT {depth_at("e.spot")} AS here OFFSET 0) p"""  # noqa: S608 (registry names, quoted)


@dataclass
class ExposureReport:
    """The answer to "who is in harm's way" for one scenario over one area."""

    scenario: str
    area_name: str
    made_at: dt.datetime
    # by layer id (and ZONE_AREA); None: a layer the role may not see
    sections: dict[str, list[dict] | None] = field(default_factory=dict)
    # each exposed address (``layers.registry.address_layer``) at a point on its feature in
    # EPSG:3794, most severe first; None: the role may not read them
    addresses: gpd.GeoDataFrame | None = None
    # where the addresses' occupants go and who cannot be reached (``layers.evacuation``), for
    # the roles that read the addresses, when the registry declares a road network
    evacuation: Evacuation | None = None

    def rows(self, section: str) -> list[dict]:
        """The rows of ``section``; none for a section that is empty or was left out."""
        return self.sections.get(section) or []

    def total(self, section: str, column: str, hazard_class: str | None = None) -> float:
        """The sum of ``column`` over a section, for one class or for all."""
        return sum(
            row[column]
            for row in self.rows(section)
            if hazard_class is None or row["hazard_class"] == hazard_class
        )

    def classes(self) -> list[str]:
        """The hazard classes with any zone in the area, most severe first."""
        present = {row["hazard_class"] for row in self.rows(ZONE_AREA)}
        return [c for c in HAZARD_CLASSES if c in present]

    @cached_property
    def cared(self) -> pd.DataFrame:
        """The exposed features that hold people (``in_care``), read once: the summary asks
        for each class.
        """
        return in_care(self.sections)

    def people(self, hazard_class: str | None = None) -> tuple[int, int]:
        """How many people are exposed by day and by night, in a class or in all: the
        institutions that hold them by day (``Presence.day``), and by night the residents at
        home with those that hold them then (``Presence.night``).
        """
        residents = address_layer().exposure.occupants
        night = int(self.total(address_layer().id, residents.name, hazard_class))
        cared = self.cared
        if hazard_class is not None:
            cared = cared[cared["hazard_class"] == hazard_class]
        return int(cared["day"].sum()), night + int(cared["night"].sum())

    def by_district(self) -> pd.DataFrame:
        """Exposed addresses and their occupants per district and hazard class (InaSAFE's
        aggregation by area), from the address list; empty without one.
        """
        spec = address_layer()
        sums = spec.exposure.sums
        if self.addresses is None or self.addresses.empty:
            return pd.DataFrame(
                columns=["district", "hazard_class", "count", *(m.name for m in sums)]
            )
        frame = self.addresses.assign(district=self.addresses["district"].fillna("—"))
        grouped = frame.groupby(["district", "rank", "hazard_class"], sort=True)
        figures = grouped.agg(count=("id", "size"), **{m.name: (m.column, "sum") for m in sums})
        return figures.reset_index().drop(columns="rank")


CARED_COLUMNS = ["layer", "id", "name", "hazard_class", "rank", "day", "night"]


def in_care(sections: dict[str, list[dict] | None]) -> pd.DataFrame:
    """The exposed features that hold people (``Presence``: schools by day, a hospital day and
    night), a row each: its layer, key, name, class and rank, and the people it holds by day
    and by night.
    """
    rows = []
    for spec in (s for s in exposed_layers() if s.exposure.presence):
        presence = spec.exposure.presence
        for row in sections.get(spec.id) or []:
            held = row[presence.column] or 0
            day = held if row[presence.by] in presence.day else 0
            night = held if row[presence.by] in presence.night else 0
            if day or night:
                name = row[spec.label_field]
                rows.append(
                    [spec.id, row["id"], name, row["hazard_class"], row["rank"], day, night]
                )
    return pd.DataFrame(rows, columns=CARED_COLUMNS)


def report_sql(role: str) -> tuple[str, list[LayerSpec]]:
    """The statement for the sections ``role`` may see, and their layers."""
    flood = layer_for("hazard")
    check_access(flood, role)
    allowed = [spec for spec in exposed_layers() if role in spec.roles]
    selects = [f"'{ZONE_AREA}', ({ZONE_AREA_SQL})"]
    selects += [f"'{spec.id}', ({section_sql(spec)})" for spec in allowed]
    return f"WITH {_ctes()} SELECT json_build_object({', '.join(selects)})", allowed


def _ctes() -> str:
    """The report's area, its classes and its zones (``ZONES_SQL``) for the registry's layers."""
    flood = layer_for("hazard")
    return (
        area_cte()
        + ","
        + ZONES_SQL.format(
            flood=quoted(flood.read_table),
            scenario=quoted(flood.partition_column),
            class_ranks=", ".join(f"('{c}', {i})" for i, c in enumerate(HAZARD_CLASSES, 1)),
        )
    )


def exposure_report(
    engine: Engine,
    scenario: str,
    role: str,
    area: shapely.Geometry | None = None,
    area_name: str = "Vsa občina · Whole municipality",
) -> ExposureReport:
    """Compute the report of ``scenario``; ``area`` (EPSG:3794) limits it to a drawn or chosen area.

    Raises
    ------
    LayerAccessError
        ``role`` may not see the flood hazard layer.
    """
    sql, allowed = report_sql(role)
    params = report_params(scenario, area)
    # one snapshot for every statement: a load that commits meanwhile (the roads' graph is
    # numbered anew with each) never mixes into the report
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        found = conn.execute(text(sql), params).scalar_one()
        data = found if isinstance(found, dict) else json.loads(found)
        sections = {ZONE_AREA: data.get(ZONE_AREA) or []}
        sections |= {
            spec.id: (data.get(spec.id) or []) if spec in allowed else None
            for spec in exposed_layers()
        }
        addresses = _addresses(conn, role, params)
        evacuation = None
        if addresses is not None and network_layer():
            cared = in_care(sections)
            evacuation = plan_evacuation(conn, scenario, params, addresses, cared)
    made_at = dt.datetime.now(LJUBLJANA)
    return ExposureReport(scenario, area_name, made_at, sections, addresses, evacuation)


def report_params(scenario: str, area: shapely.Geometry | None) -> dict:
    """The values the report's statements are bound to."""
    return {
        "scenario": scenario,
        "area": None if area is None else shapely.to_wkb(area),
        "srid": STORAGE_SRID,
    }


def address_list(
    engine: Engine, scenario: str, role: str, area: shapely.Geometry | None = None
) -> gpd.GeoDataFrame | None:
    """The exposed addresses of ``scenario`` alone, as the report lists them (for timing it)."""
    with engine.connect() as conn:
        return _addresses(conn, role, report_params(scenario, area))


def may_read_addresses(role: str) -> bool:
    """Whether ``role`` may read the exposed addresses (the declaration's ``address_roles``)."""
    spec = address_layer()
    return role in spec.exposure.address_roles and role in spec.roles


def _addresses(conn: Connection, role: str, params: dict) -> gpd.GeoDataFrame | None:
    """The exposed addresses, for a role that may read them."""
    if not may_read_addresses(role):
        return None
    spec = address_layer()
    districts = layer_for("report_areas")
    sql = f"WITH {_ctes()} {addresses_sql(spec, districts)} ORDER BY e.rank, district, e.id"
    return at_points(pd.read_sql(text(sql), conn, params=params))
