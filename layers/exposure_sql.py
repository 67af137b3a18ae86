"""The flood exposure report's statements, made from the layers' exposure declarations.

The report is computed in two steps. The first finds each feature a scenario's zones reach
(``hit``: a row per section, feature and hazard class); the second adds the hits up per class,
joining each feature's own fields (``section_sql``). The first is the costly one, so for the
whole municipality it is kept in ``flood_exposure`` (``layers.exposure_store``), filled by this
same statement; an area drawn or chosen is reached afresh.

Each section is a layer's exposure declaration (``layers.spec.Exposure``):
- counted features (buildings, heritage) are exposed when any part of them touches a zone, and
  count once, in the most severe class they touch; a sum (residents) adds up all of a feature's
  value, however little of it is under water (an upper estimate for evacuation planning);
- lengths and areas (roads, mains) count the part inside each class (zones of a scenario do not
  overlap);
- listed features (hotspots, critical sites) are named, with the class they stand in and the
  depth there.

Containment is asked as ``ST_Covers(zone, piece)``, the constant geometry first, so PostGIS
prepares it once (measured: 3 ms against 165 ms for ``ST_CoveredBy(piece, zone)`` over Ptuj's
655 Q100 pieces).
"""

from __future__ import annotations

import shapely

from layers.db import quoted
from layers.registry import DEPTH_TABLE, HAZARD_CLASSES, exposed_layers, layer_for
from layers.report_area import area_cte
from layers.spec import STORAGE_SRID, Exposure, LayerSpec

ZONE_AREA = "zone_area"  # the report's own section: the area of each class, from the zones
CLIPPED_SQL = {"length": "ST_Length", "area": "ST_Area"}  # a feature's part inside a zone
CLIPPED_SCALE = {"length": 1000, "area": 1e4}  # metres to km, square metres to ha
STORE_TABLE = "flood_exposure"  # the whole municipality's hits (etl/migrations/0016)

# the report's hazard classes, and the scenario's zones clipped to its area
ZONES_SQL = """
  zone AS MATERIALIZED (
    SELECT * FROM (
      SELECT f.hazard_class, c.rank, f.depth_from_m, f.depth_to_m,
             CASE WHEN ST_Covers(a.geom, f.geom) THEN f.geom
                  ELSE ST_Multi(ST_CollectionExtract(ST_Intersection(f.geom, a.geom), 3)) END AS geom
        FROM {flood} f JOIN classes c USING (hazard_class), area a
       WHERE f.{scenario} = :scenario AND ST_Intersects(f.geom, a.geom)) clipped
     WHERE NOT ST_IsEmpty(geom))"""  # empty: a zone that only touches the area's edge


def report_params(scenario: str, area: shapely.Geometry | None) -> dict:
    """The values the report's statements are bound to: ``area`` none for the whole
    municipality.
    """
    return {
        "scenario": scenario,
        "area": None if area is None else shapely.to_wkb(area),
        "srid": STORAGE_SRID,
    }


def classes_cte() -> str:
    """The hazard classes with their ranks, most severe first, as ``classes``."""
    ranks = ", ".join(f"('{c}', {i})" for i, c in enumerate(HAZARD_CLASSES, 1))
    return f"classes (hazard_class, rank) AS (VALUES {ranks})"


def zones_ctes() -> str:
    """The report's area, its classes and its zones (``ZONES_SQL``) for the registry's layers."""
    flood = layer_for("hazard")
    zones = ZONES_SQL.format(
        flood=quoted(flood.read_table), scenario=quoted(flood.partition_column)
    )
    return f"{area_cte()}, {classes_cte()},{zones}"


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


# ---- the hits: (feature, rank, amount, depth_m) of one section, from the zones ----


def _once_hits(spec: LayerSpec) -> str:
    """Each feature once, in the most severe class it touches."""
    key, geom = quoted(spec.id_column), quoted(spec.geometry_column)
    return f"""SELECT x.{key} AS feature, min(z.rank) AS rank, NULL::float8 AS amount,
                      NULL::float8 AS depth_m
                 FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects(x.{geom}, z.geom)
                GROUP BY x.{key}"""  # noqa: S608 (registry names, quoted)


def _clipped_hits(spec: LayerSpec) -> str:
    """Each feature's part inside each class, in metres or square metres."""
    key, geom = quoted(spec.id_column), f"x.{quoted(spec.geometry_column)}"
    measure = CLIPPED_SQL[spec.exposure.clipped_kind]
    return f"""SELECT x.{key} AS feature, z.rank,
                      sum(CASE WHEN ST_Covers(z.geom, {geom}) THEN {measure}({geom})
                               ELSE {measure}(ST_Intersection({geom}, z.geom)) END) AS amount,
                      NULL::float8 AS depth_m
                 FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects({geom}, z.geom)
                GROUP BY x.{key}, z.rank"""  # noqa: S608 (registry names, quoted)


def _listed_hits(spec: LayerSpec) -> str:
    """Each feature in the most severe class it stands in, with the water depth on it."""
    key, geom = quoted(spec.id_column), quoted(spec.geometry_column)
    return f"""SELECT DISTINCT ON (x.{key}) x.{key} AS feature, z.rank, NULL::float8 AS amount,
                      {depth_at(f"ST_PointOnSurface(x.{geom})")} AS depth_m
                 FROM {quoted(spec.read_table)} x JOIN zone z ON ST_Intersects(x.{geom}, z.geom)
                ORDER BY x.{key}, z.rank"""  # noqa: S608 (registry names, quoted)


ZONE_HITS_SQL = """SELECT NULL::integer AS feature, rank, sum(ST_Area(geom)) AS amount,
                          NULL::float8 AS depth_m FROM zone GROUP BY rank"""


def hits_sql(spec: LayerSpec) -> str:
    """The hits of one layer's section, from its exposure declaration."""
    exposure = spec.exposure
    if exposure.listed:
        return _listed_hits(spec)
    return (_clipped_hits if exposure.clipped else _once_hits)(spec)


def _hit_cte(specs: list[LayerSpec]) -> str:
    """Every hit of the zones and of the sections of ``specs``, as the relation ``hit``.

    Not materialised: a section's filter on its name leaves the other sections' branches
    unplanned, and the zones (materialised) are clipped once for all.
    """
    branches = [f"SELECT '{ZONE_AREA}' AS section, h.* FROM ({ZONE_HITS_SQL}) h"]  # noqa: S608
    branches += [f"SELECT '{s.id}' AS section, h.* FROM ({hits_sql(s)}) h" for s in specs]  # noqa: S608 (registry names)
    return "hit AS NOT MATERIALIZED (" + "\n UNION ALL ".join(branches) + ")"


def fill_sql() -> str:
    """The statement keeping every section's hits of the scenario ``:scenario`` over the whole
    municipality (``:area`` none) in ``STORE_TABLE``.
    """
    hits = _hit_cte(exposed_layers())
    return f"""INSERT INTO {STORE_TABLE} (scenario, section, feature, rank, amount, depth_m)
      WITH {zones_ctes()}, {hits} SELECT :scenario, h.* FROM hit h"""  # noqa: S608 (registry names)


STORED_HITS_SQL = f"""hit AS NOT MATERIALIZED (
    SELECT section, feature, rank, amount, depth_m FROM {STORE_TABLE}
     WHERE scenario = :scenario)"""  # noqa: S608


# ---- the sections: the hits added up per class ----


def _joined(spec: LayerSpec) -> str:
    """A section's hits, each with its feature (``x``) and its class (``c``)."""
    return f"""hit h JOIN {quoted(spec.read_table)} x ON x.{quoted(spec.id_column)} = h.feature
                     JOIN classes c USING (rank)
              WHERE h.section = '{spec.id}'"""


def _grouped_sql(spec: LayerSpec, exposure: Exposure) -> str:
    """A section's figures per class (and per ``group_by`` value)."""
    group = [f"x.{quoted(exposure.group_by)}"] if exposure.group_by else []
    figures = [_figure(m.kind, m.column, m.name) for m in exposure.measures]
    return f"""SELECT json_agg(row_to_json(t)) FROM (
         SELECT {", ".join(["c.hazard_class", *group, *figures])}
           FROM {_joined(spec)}
          GROUP BY {", ".join(["c.hazard_class", "c.rank", *group])}
          ORDER BY {", ".join(["c.rank", *group])}) t"""  # noqa: S608 (registry names, quoted)


def _figure(kind: str, column: str | None, name: str) -> str:
    """One measure over a class's hits: features counted, a column summed, a part's length or
    area added up.
    """
    if kind == "count":
        return f"count(*) AS {quoted(name)}"
    if kind == "sum":
        return f"coalesce(sum(x.{quoted(column)}), 0) AS {quoted(name)}"
    return f"sum(h.amount) / {CLIPPED_SCALE[kind]} AS {quoted(name)}"


def _listed_sql(spec: LayerSpec, exposure: Exposure) -> str:
    """Each exposed feature by name (and key, ``id``), its class and the depth there."""
    fields = ", ".join(f"x.{quoted(n)}" for n in exposure.listed)
    return f"""SELECT json_agg(row_to_json(t) ORDER BY t.rank, t.{quoted(spec.label_field)})
      FROM (SELECT h.feature AS id, {fields}, c.hazard_class, c.rank, h.depth_m
              FROM {_joined(spec)}) t"""  # noqa: S608 (registry names, quoted)


ZONE_AREA_SQL = f"""SELECT json_agg(row_to_json(t)) FROM (
    SELECT c.hazard_class, h.amount / 1e4 AS hectares
      FROM hit h JOIN classes c USING (rank)
     WHERE h.section = '{ZONE_AREA}' ORDER BY c.rank) t"""  # noqa: S608


def section_sql(spec: LayerSpec) -> str:
    """The statement of one layer's section over the hits, from its exposure declaration."""
    exposure = spec.exposure
    return (_listed_sql if exposure.listed else _grouped_sql)(spec, exposure)


def report_sql(allowed: list[LayerSpec], stored: bool) -> str:
    """The report's sections of ``allowed`` as one JSON object, over the kept hits of the whole
    municipality (``stored``) or over the zones of the report's area.
    """
    selects = [f"'{ZONE_AREA}', ({ZONE_AREA_SQL})"]
    selects += [f"'{spec.id}', ({section_sql(spec)})" for spec in allowed]
    if stored:
        ctes = f"{classes_cte()}, {STORED_HITS_SQL}"
    else:
        ctes = f"{zones_ctes()}, {_hit_cte(allowed)}"
    return f"WITH {ctes} SELECT json_build_object({', '.join(selects)})"


# ---- the exposed addresses ----

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
    return f"""WITH {zones_ctes()}
    SELECT e.id, {names}, e.hazard_class, e.rank, e.depth_from_m, e.depth_to_m,
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
      CROSS JOIN LATERAL (SELECT {depth_at("e.spot")} AS here OFFSET 0) p
     ORDER BY e.rank, district, e.id"""  # noqa: S608 (registry names, quoted)
