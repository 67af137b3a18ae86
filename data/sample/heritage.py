"""Cultural heritage: the profile's monuments of national importance and synthetic others.

A municipality receives its heritage from the register (Register kulturne dediščine) as points
with the register's number (EŠD), the unit's name, its type (zvrst) and its importance (pomen):
a cultural monument of national importance (``državni``), one of local importance
(``lokalni``), or a heritage unit without monument status (``dediščina``).

Only the monuments of national importance are real, named in the profile at their approximate
positions. The local monuments and the heritage units are synthetic, as many as the profile
says: most in and around the old town (the profile's core district), the rest around the
settlements, always inside the municipality and clear of water, with names made from the
patterns the register uses ("Hiša Prešernova 12", "Kapelica pri hiši Grajena 45").

The EŠD numbers are synthetic, every one of them, the national monuments' too: unique, drawn
from 20000 to 29999. The real register numbers are not in the repository, so a number here says
nothing about the register's unit of that number.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point

from data.sample.geography import Geography

NATIONAL, LOCAL, UNIT = "državni", "lokalni", "dediščina"
ZVRSTI = (
    "profana stavbna dediščina",
    "sakralna stavbna dediščina",
    "sakralno profana stavbna dediščina",
    "memorialna dediščina",
    "arheološka dediščina",
    "vrtnoarhitekturna dediščina",
    "naselbinska dediščina",
)
ESD_FIRST, ESD_SPAN = 20_000, 10_000
# Town addresses as the register writes them, the street's adjective without "ulica": the
# sample's own street surnames (data.sample.network.SURNAMES) in their proper possessive forms,
# fleeting vowels and -jeva included, which the street generator's simple rule does not make.
STREETS = (
    "Potrčeva",
    "Volkmerjeva",
    "Krempljeva",
    "Peršonova",
    "Trstenjakova",
    "Župančičeva",
    "Aškerčeva",
    "Cankarjeva",
    "Prešernova",
    "Slomškova",
    "Murkova",
    "Vodnikova",
    "Rajšpova",
    "Belšakova",
    "Arbajterjeva",
    "Kraigherjeva",
    "Jurčičeva",
    "Levstikova",
    "Tavčarjeva",
    "Gregorčičeva",
    "Miklošičeva",
    "Vrazova",
    "Trubarjeva",
    "Meškova",
)

# Name patterns per type; {a} is an address ("Potrčeva 12" in town, "Grajena 45" outside),
# {s} the settlement, {t} an archaeological site's kind. Town and village differ: farms, wayside
# shrines and village cores stand outside the town, town houses and villas in it.
TOWN_NAMES = {
    "profana stavbna dediščina": ("Hiša {a}", "Meščanska hiša {a}", "Vila {a}"),
    "sakralna stavbna dediščina": ("Kapelica pri hiši {a}", "Znamenje pri hiši {a}"),
    "sakralno profana stavbna dediščina": ("Župnišče {a}", "Kaplanija {a}"),
    "memorialna dediščina": ("Spominska plošča na hiši {a}", "Spomenik pri hiši {a}"),
    "arheološka dediščina": ("Arheološko najdišče {a}",),
    "vrtnoarhitekturna dediščina": ("Vrt hiše {a}", "Park pri vili {a}"),
}
VILLAGE_NAMES = {
    "profana stavbna dediščina": (
        "Domačija {a}",
        "Hiša {a}",
        "Viničarija {a}",
        "Kašča pri hiši {a}",
    ),
    "sakralna stavbna dediščina": (
        "Kapelica pri hiši {a}",
        "Znamenje pri hiši {a}",
        "Razpelo pri hiši {a}",
    ),
    "sakralno profana stavbna dediščina": ("Župnišče {a}", "Mežnarija {a}"),
    "memorialna dediščina": ("Spomenik NOB {s}", "Spominska plošča na hiši {a}"),
    "arheološka dediščina": ("Arheološko najdišče {s} - {t}",),
    "vrtnoarhitekturna dediščina": ("Vrt pri domačiji {a}",),
    "naselbinska dediščina": ("Vaško jedro {s}",),
}
SITE_KINDS = (
    "rimska vila",
    "rimsko grobišče",
    "gomilno grobišče",
    "prazgodovinska naselbina",
    "rimska cesta",
)
# How often each type is drawn: houses most of all, as in the register; wayside shrines and
# village cores belong to the countryside, archaeological sites more to the old town (Ptuj's
# stands on Roman Poetovio, and old towns are where excavations for building find the most).
TOWN_WEIGHTS = {
    "profana stavbna dediščina": 0.58,
    "sakralna stavbna dediščina": 0.10,
    "sakralno profana stavbna dediščina": 0.04,
    "memorialna dediščina": 0.10,
    "arheološka dediščina": 0.14,
    "vrtnoarhitekturna dediščina": 0.04,
}
VILLAGE_WEIGHTS = {
    "profana stavbna dediščina": 0.38,
    "sakralna stavbna dediščina": 0.28,
    "sakralno profana stavbna dediščina": 0.03,
    "memorialna dediščina": 0.08,
    "arheološka dediščina": 0.15,
    "vrtnoarhitekturna dediščina": 0.02,
    "naselbinska dediščina": 0.06,
}
# Where each importance stands: share in the old town, around it, by the settlements. Monuments
# are mostly the old town's; plain heritage units are spread more widely.
PLACES = {LOCAL: (0.60, 0.15, 0.25), UNIT: (0.35, 0.20, 0.45)}
AROUND_M = 1000  # "around the old town": the urban districts this far from the core district
VILLAGE_SPREAD_M = 300  # standard deviation of a unit's distance from its settlement's point
WATER_CLEARANCE_M = 10
SPACING_M = 8  # no two units on the same spot
TRIES = 200  # draws per unit before the profile is judged impossible


def build_heritage(sample: dict, geo: Geography, rng: np.random.Generator, to_3794) -> list[dict]:
    """The heritage units of the sample, in the register's column names.

    Parameters
    ----------
    sample
        The profile's ``sample`` table; its ``heritage`` table names the monuments of national
        importance (``national``: name, heritage_type, lonlat) and how many local monuments
        (``local``) and heritage units (``units``) to make up.
    geo
        The municipality's boundary, districts, settlements and waters.
    rng
        The only source of randomness: the same generator state gives the same units.
    to_3794
        Transforms WGS 84 lon, lat to EPSG:3794.

    Returns
    -------
    list of dict
        ``ESD`` (int), ``IME``, ``ZVRST``, ``POMEN`` (``državni``, ``lokalni`` or ``dediščina``)
        and ``geometry`` (a point in EPSG:3794): national monuments first, then local ones,
        then the units. Empty for a profile without a ``heritage`` table.
    """
    config = sample.get("heritage")
    if config is None:
        return []
    wet = geo.water_union
    found = [_national(site, geo, wet, to_3794) for site in config.get("national", [])]
    areas = _areas(sample, geo, wet)
    names = {f["IME"] for f in found}
    points = [f["geometry"] for f in found]
    for importance, count in ((LOCAL, config.get("local", 0)), (UNIT, config.get("units", 0))):
        for _ in range(count):
            point, name, kind = _draw(importance, areas, names, points, rng)
            names.add(name)
            points.append(point)
            found.append({"IME": name, "ZVRST": kind, "POMEN": importance, "geometry": point})
    if len(found) > ESD_SPAN:
        raise ValueError(f"heritage: {len(found)} units do not fit the {ESD_SPAN} EŠD numbers")
    numbers = ESD_FIRST + rng.choice(ESD_SPAN, len(found), replace=False)
    return [{"ESD": int(n), **f} for n, f in zip(numbers, found, strict=True)]


def _national(site: dict, geo: Geography, wet: shapely.Geometry, to_3794) -> dict:
    """A monument of national importance at its position in the profile."""
    point = Point(to_3794(*site["lonlat"]))
    if site["heritage_type"] not in ZVRSTI:
        raise ValueError(f"heritage {site['name']!r}: unknown type {site['heritage_type']!r}")
    if not geo.boundary.contains(point) or wet.contains(point):
        raise ValueError(
            f"heritage {site['name']!r}: 'lonlat' is outside the land of the municipality"
        )
    return {
        "IME": site["name"],
        "ZVRST": site["heritage_type"],
        "POMEN": NATIONAL,
        "geometry": point,
    }


def _areas(sample: dict, geo: Geography, wet: shapely.Geometry) -> dict:
    """Where units may stand: the old town, the town around it, and by each settlement."""
    dry = geo.boundary.difference(wet.buffer(WATER_CLEARANCE_M))
    districts = geo.districts
    core = districts.loc[districts["code"] == sample["core_district"]].geometry.iloc[0]
    town = shapely.union_all(districts.loc[districts["urban"]].geometry.to_numpy())
    around = town.intersection(core.buffer(AROUND_M)).difference(core)
    # the town's own settlement (Ptuj) is the old town; the others are villages
    villages = [
        (row.name, row.geometry)
        for row in geo.settlements.itertuples()
        if not town.contains(row.geometry)
    ]
    areas = {
        "core": core.intersection(dry),
        "around": around.intersection(dry),
        "villages": villages,
        "dry": dry,
    }
    for area in (areas["core"], areas["around"], dry):
        shapely.prepare(area)
    return areas


def _draw(
    importance: str,
    areas: dict,
    names: set[str],
    points: list[Point],
    rng: np.random.Generator,
) -> tuple[Point, str, str]:
    """Place, name and type of one synthetic unit: a free spot and a name not yet taken."""
    taken = shapely.STRtree(points) if points else None
    for _ in range(TRIES):
        where = rng.choice(3, p=PLACES[importance])
        if where == 2 and areas["villages"]:
            settlement, centre = areas["villages"][rng.integers(len(areas["villages"]))]
            point = Point(
                rng.normal(centre.x, VILLAGE_SPREAD_M), rng.normal(centre.y, VILLAGE_SPREAD_M)
            )
            kind, name = _village_name(settlement, rng)
        else:
            area = areas["core" if where == 0 else "around"]
            point = _uniform(area, rng)
            kind, name = _town_name(rng)
        if not areas["dry"].contains(point) or name in names:
            continue
        if taken is not None and len(taken.query(point, predicate="dwithin", distance=SPACING_M)):
            continue
        return point, name, kind
    raise ValueError(f"heritage: no free place or name for another {importance!r} unit")


def _uniform(area: shapely.Geometry, rng: np.random.Generator) -> Point:
    """A point drawn evenly from ``area`` (from its bounds until one falls inside)."""
    xmin, ymin, xmax, ymax = area.bounds
    for _ in range(TRIES):
        point = Point(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax))
        if area.contains(point):
            return point
    raise ValueError("heritage: the area for units is empty or a sliver")


def _town_name(rng: np.random.Generator) -> tuple[str, str]:
    kind = str(rng.choice(list(TOWN_WEIGHTS), p=list(TOWN_WEIGHTS.values())))
    pattern = str(rng.choice(TOWN_NAMES[kind]))
    address = f"{STREETS[rng.integers(len(STREETS))]} {rng.integers(1, 80)}"
    return kind, pattern.format(a=address)


def _village_name(settlement: str, rng: np.random.Generator) -> tuple[str, str]:
    kind = str(rng.choice(list(VILLAGE_WEIGHTS), p=list(VILLAGE_WEIGHTS.values())))
    pattern = str(rng.choice(VILLAGE_NAMES[kind]))
    address = f"{settlement} {rng.integers(1, 150)}"
    return kind, pattern.format(a=address, s=settlement, t=str(rng.choice(SITE_KINDS)))
