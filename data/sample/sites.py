"""Natura 2000 sites, degraded land and Wi-Fi hotspots."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from data.sample.geography import Geography
from data.sample.network import Segment

DEGRADED_TYPES = (
    "opuščena gramoznica",
    "opuščeno industrijsko območje",
    "nesanirano odlagališče",
    "opuščen kmetijski objekt",
    "opuščeno vojaško območje",
)
DEGRADED_STATUS = ("neaktivno", "v sanaciji", "sanirano", "v prenovi")


def blob(centre: tuple[float, float], area_m2: float, rng: np.random.Generator) -> Polygon:
    """An irregular, roughly round polygon of about ``area_m2``."""
    angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    radii = (
        1 + 0.22 * np.sin(angles * rng.integers(2, 5) + rng.uniform(0, 6)) + rng.normal(0, 0.05, 28)
    )
    ring = np.column_stack([np.cos(angles) * radii, np.sin(angles) * radii])
    shape = Polygon(ring)
    scale = np.sqrt(area_m2 / shape.area)
    return shapely.affinity.translate(
        shapely.affinity.scale(shape, scale, scale, origin=(0, 0)), *centre
    )


def build_natura(
    sample: dict, geo: Geography, streets: list[Segment], rng: np.random.Generator
) -> list[dict]:
    """The sites, with the river corridors widened until all sites cover the profile's hectares.

    Built-up land (within 60 m of a local street) is left out, as the real sites leave out towns.
    """
    river = shapely.union_all(geo.water[geo.water["kind"] != "potok"].geometry.to_numpy())
    built = shapely.union_all([s.line for s in streets if not s.arterial]).buffer(60, quad_segs=2)
    land = geo.boundary.difference(built)
    patches = {
        i: blob(site["near"], site["area_ha"] * 1e4, rng).intersection(land).difference(river)
        for i, site in enumerate(sample["natura"])
        if not site.get("along_water")
    }

    def sites(width: float) -> dict[int, shapely.Geometry]:
        corridors = {
            i: river.buffer(width * site["bank_share"], quad_segs=4).intersection(land)
            for i, site in enumerate(sample["natura"])
            if site.get("along_water")
        }
        return {**corridors, **patches}

    low, high = 0.0, 3000.0
    target = sample["natura_total_ha"] * 1e4
    for _ in range(30):
        middle = (low + high) / 2
        covered = shapely.union_all(list(sites(middle).values())).area
        low, high = (middle, high) if covered < target else (low, middle)
    shapes = sites((low + high) / 2)
    return [
        {
            "SITECODE": site["site_code"],
            "SITENAME": site["name"],
            "SITETYPE": site["site_type"],
            "geometry": shapely.MultiPolygon(list(shapely.get_parts(shapes[i]))),
        }
        for i, site in enumerate(sample["natura"])
    ]


def _nearest_settlement(geo: Geography, point: Point) -> str:
    distances = geo.settlements.distance(point)
    return str(geo.settlements.loc[distances.idxmin(), "name"])


def build_degraded(sample: dict, geo: Geography, rng: np.random.Generator) -> list[dict]:
    """The named sites of the profile, then others scattered away from the old town."""
    found = []
    for site in sample.get("named_degraded", []):
        shape = blob(site["near"], site["area_ha"] * 1e4, rng).intersection(geo.boundary)
        if shape.is_empty:
            raise ValueError(
                f"degraded site {site['name']!r}: 'near' lies outside the municipality"
            )
        found.append(
            {
                "IME": site["name"],
                "VRSTA": site["land_type"],
                "STANJE": site["status"],
                "geometry": shape,
            }
        )
    xmin, ymin, xmax, ymax = geo.boundary.bounds
    wet = geo.water_union.buffer(50)
    names: dict[str, int] = {}
    while len(found) < sample["degraded_sites"] + len(sample.get("named_degraded", [])):
        point = Point(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax))
        if not geo.boundary.contains(point) or point.distance(geo.centre) < 800:
            continue
        shape = blob(point.coords[0], float(rng.lognormal(np.log(1.5e4), 0.8)), rng)
        if shape.intersects(wet) or not shape.within(geo.boundary):
            continue
        kind = str(rng.choice(DEGRADED_TYPES))
        base = f"{kind.capitalize()} {_nearest_settlement(geo, point)}"
        names[base] = names.get(base, 0) + 1
        found.append(
            {
                "IME": base if names[base] == 1 else f"{base} {names[base]}",
                "VRSTA": kind,
                "STANJE": str(rng.choice(DEGRADED_STATUS)),
                "geometry": shape,
            }
        )
    for site in found:
        site["POVRSINA_HA"] = round(site["geometry"].area / 1e4, 2)
    return found


def build_hotspots(sample: dict, rng: np.random.Generator) -> list[dict]:
    """The profile's named hotspots; one in maintenance, as there always is."""
    in_maintenance = int(rng.integers(0, len(sample["hotspots"])))
    return [
        {
            "LOKACIJA": h["name"],
            "STANJE": "v vzdrževanju" if i == in_maintenance else "aktivna",
            "geometry": Point(h["lonlat"]),
        }
        for i, h in enumerate(sample["hotspots"])
    ]


def _site_point(site: dict, geo: Geography, to_3794) -> Point:
    if "settlement" in site:
        found = geo.settlements[geo.settlements["name"] == site["settlement"]]
        if found.empty:
            raise ValueError(f"site {site['name']!r}: no settlement {site['settlement']!r}")
        return found.geometry.iloc[0]
    return Point(to_3794(*site["lonlat"]))


def build_critical_sites(
    sample: dict, geo: Geography, buildings: list[dict], mains: list, to_3794
) -> list[dict]:
    """The profile's critical sites, each at the nearest sample building (pumps: nearest main).

    A site takes its building's address, so the site and its building share a flood class.
    """
    at_building = _at_building(buildings)
    main_tree = shapely.STRtree(mains)
    found = []
    for site in sample.get("critical_sites", []):
        point = _site_point(site, geo, to_3794)
        if site["kind"] == "črpališče":
            main = mains[main_tree.nearest(point)]
            place, address = main.interpolate(main.project(point)), None
        else:
            place, address = at_building(point)
        found.append(
            {
                "IME": site["name"],
                "VRSTA": site["kind"],
                "NASLOV": address,
                "ZMOGLJIVOST": site.get("capacity"),
                "geometry": place,
            }
        )
    return found


def build_shelters(sample: dict, geo: Geography, buildings: list[dict], to_3794) -> list[dict]:
    """The profile's shelters, each at the nearest sample building, with its address."""
    at_building = _at_building(buildings)
    found = []
    for shelter in sample.get("shelters", []):
        place, address = at_building(_site_point(shelter, geo, to_3794))
        found.append(
            {
                "IME": shelter["name"],
                "VRSTA": shelter["kind"],
                "NASLOV": address,
                "ZMOGLJIVOST": shelter["capacity"],
                "geometry": place,
            }
        )
    return found


def _at_building(buildings: list[dict]) -> Callable[[Point], tuple[Point, str]]:
    """A point on the sample building nearest a place, and its address."""
    tree = shapely.STRtree(np.array([b["geometry"] for b in buildings], dtype=object))

    def place(point: Point) -> tuple[Point, str]:
        building = buildings[tree.nearest(point)]
        return building["geometry"].point_on_surface(), building["NASLOV"]

    return place
