"""Streets and water mains: arterials from the centre, street grids around each settlement.

The grids are scaled together until the network has the profile's length of public roads; the
mains follow the streets, offset to the side, until they reach the profile's length of mains.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import substring

from data.sample.geography import Geography

URBAN_SPACING_M = 115
RURAL_SPACING_M = 165
SURNAMES = (
    "Potrč",
    "Volkmer",
    "Čuček",
    "Krempelj",
    "Peršon",
    "Trstenjak",
    "Župančič",
    "Aškerc",
    "Cankar",
    "Prešeren",
    "Slomšek",
    "Murko",
    "Vodnik",
    "Finžgar",
    "Rajšp",
    "Belšak",
    "Arbajter",
    "Kraigher",
    "Jurčič",
    "Levstik",
    "Kersnik",
    "Tavčar",
    "Gregorčič",
    "Kosovel",
    "Bračič",
    "Zelenik",
    "Vošnjak",
    "Miklošič",
    "Ljubič",
    "Žnidarič",
    "Meško",
    "Šuster",
    "Čeh",
    "Puh",
    "Horvat",
    "Korošec",
    "Kovačič",
    "Vraz",
    "Trubar",
    "Orožen",
    "Klemenčič",
    "Toplak",
    "Šegula",
    "Zupanič",
    "Gorišek",
    "Rakuša",
    "Plohl",
    "Ferk",
)


@dataclass
class Segment:
    """One stretch of road between junctions (or at most a block long)."""

    name: str
    category: str
    district: int
    urban: bool
    line: LineString
    arterial: bool = False


def street_names(rng: np.random.Generator) -> list[str]:
    """Slovenian street names: the possessive of a surname with ulica or cesta."""
    names = []
    for surname in SURNAMES:
        suffix = "eva" if surname[-1] in "cčšžj" else "ova"
        names.append(f"{surname}{suffix} {'cesta' if len(surname) % 3 == 0 else 'ulica'}")
    rng.shuffle(names)
    return names


def _wiggle(start: Point, end: Point, rng: np.random.Generator) -> LineString:
    """A road from ``start`` to ``end`` that bends a little, as roads do."""
    direction = np.array(end.coords[0]) - np.array(start.coords[0])
    normal = np.array([-direction[1], direction[0]]) / np.linalg.norm(direction)
    points = [start.coords[0]]
    for t in (0.2, 0.4, 0.6, 0.8):
        points.append(
            tuple(np.array(start.coords[0]) + t * direction + normal * rng.normal(0, 180))
        )
    points.append(end.coords[0])
    return LineString(points)


def _district_of(geo: Geography, geom: shapely.Geometry) -> tuple[int, bool]:
    hits = geo.districts[geo.districts.contains(geom.representative_point())]
    row = hits.iloc[0] if len(hits) else geo.districts.iloc[0]
    return int(row["code"]), bool(row["urban"])


def cut(line: LineString, length: float) -> list[LineString]:
    """``line`` in pieces of about ``length`` metres."""
    pieces = max(1, round(line.length / length))
    step = line.length / pieces
    return [substring(line, i * step, (i + 1) * step) for i in range(pieces)]


def arterials(profile_sample: dict, geo: Geography, rng: np.random.Generator) -> list[Segment]:
    segments = []
    for road in profile_sample["arterials"]:
        line = _wiggle(geo.centre, Point(road["to"]), rng).intersection(geo.boundary)
        for part in shapely.get_parts(line):
            for piece in cut(part, 400):
                district, urban = _district_of(geo, piece)
                segments.append(
                    Segment(road["name"], road["category"], district, urban, piece, True)
                )
    return segments


@dataclass(frozen=True)
class Cluster:
    """Where a street grid grows: a settlement or the heart of an urban district."""

    centre: Point
    district: int
    urban: bool
    weight: float
    angle: float
    name: str


def clusters(geo: Geography, rng: np.random.Generator, core_district: int) -> list[Cluster]:
    found = []
    for district in geo.districts.itertuples():
        points = [
            (row.geometry, row.name)
            for row in geo.settlements.itertuples()
            if row.district == district.code
        ]
        if district.urban and not points:
            points = [(district.geometry.representative_point(), None)]
        if district.code == core_district:
            points = [(geo.centre, None)]
        for point, name in points:
            found.append(
                Cluster(
                    point,
                    district.code,
                    district.urban,
                    district.residents / len(points),
                    rng.uniform(0, np.pi / 2),
                    name,
                )
            )
    return found


def grid_lines(cluster: Cluster, radius: float, region: shapely.Geometry) -> list[LineString]:
    """Two families of parallel streets across a disk of ``radius``, clipped to ``region``."""
    spacing = URBAN_SPACING_M if cluster.urban else RURAL_SPACING_M
    cx, cy = cluster.centre.x, cluster.centre.y
    lines = []
    for angle in (cluster.angle, cluster.angle + np.pi / 2):
        along = np.array([np.cos(angle), np.sin(angle)])
        across = np.array([-along[1], along[0]])
        for offset in np.arange(-radius, radius + 1, spacing):
            half = np.sqrt(max(radius**2 - offset**2, 0))
            if half < spacing / 2:
                continue
            mid = np.array([cx, cy]) + across * offset
            lines.append(LineString([mid - along * half, mid + along * half]))
    clipped = shapely.intersection(np.array(lines, dtype=object), region)
    return [p for g in clipped for p in shapely.get_parts(g) if p.length > spacing / 3]


def local_streets(
    geo: Geography, found: list[Cluster], scale: float
) -> list[tuple[Cluster, LineString]]:
    """The grids of every cluster at radius ``scale * sqrt(weight)``, not overlapping."""
    dry = geo.boundary.difference(geo.water_union.buffer(15))
    taken: dict[int, shapely.Geometry] = {}
    streets = []
    for cluster in found:
        radius = scale * np.sqrt(cluster.weight)
        disk = cluster.centre.buffer(radius)
        district = geo.districts.loc[geo.districts["code"] == cluster.district].geometry.iloc[0]
        region = disk.intersection(district).intersection(dry)
        if cluster.district in taken:
            region = region.difference(taken[cluster.district])
        taken[cluster.district] = disk.union(taken.get(cluster.district, Point()))
        streets += [(cluster, line) for line in grid_lines(cluster, radius, region)]
    return streets


def fit_scale(geo: Geography, found: list[Cluster], target_m: float) -> float:
    """The grid scale whose streets add up to ``target_m`` (bisection; length grows with scale)."""
    low, high = 0.5, 60.0
    for _ in range(22):
        middle = (low + high) / 2
        total = sum(line.length for _, line in local_streets(geo, found, middle))
        low, high = (middle, high) if total < target_m else (low, middle)
    return (low + high) / 2


def build_roads(sample: dict, geo: Geography, rng: np.random.Generator) -> list[Segment]:
    """Arterials, local grids and the links that join them into one network, together
    ``sample['roads_km']`` long: the grids shrink by the links' length (found once; shrinking
    the grids barely moves them)."""
    main = arterials(sample, geo, rng)
    found = clusters(geo, rng, sample["core_district"])
    names = street_names(rng)
    target = sample["roads_km"] * 1000 - sum(s.line.length for s in main)
    streets = main + grid_segments(found, fit_scale(geo, found, target), names, geo)
    joining = sum(s.line.length for s in links(streets, geo))
    streets = main + grid_segments(found, fit_scale(geo, found, target - joining), names, geo)
    return streets + links(streets, geo)


def grid_segments(
    found: list[Cluster], scale: float, names: list[str], geo: Geography
) -> list[Segment]:
    """The grids' streets at ``scale``, named, in pieces about a block and a half long."""
    segments = []
    for number, (cluster, line) in enumerate(local_streets(geo, found, scale)):
        if cluster.urban:
            name = names[number % len(names)]
            category = "zbirna mestna cesta" if number % 4 == 0 else "mestna cesta"
        else:
            name = cluster.name
            category = "lokalna cesta" if number % 3 == 0 else "javna pot"
        spacing = URBAN_SPACING_M if cluster.urban else RURAL_SPACING_M
        segments += [
            Segment(name, category, cluster.district, cluster.urban, piece)
            for piece in cut(line, spacing * 1.5)
        ]
    return segments


def road_attributes(segments: list[Segment], rng: np.random.Generator) -> list[dict]:
    """Surface, condition class (1 best, 5 worst) and survey date, alike along a street."""
    street_base = {}
    records = []
    for segment in segments:
        base = street_base.setdefault(
            segment.name,
            rng.normal(1.9 if segment.arterial else 2.5 if segment.urban else 3.1, 0.6),
        )
        gravel = segment.category == "javna pot" and rng.random() < 0.25
        records.append(
            {
                "IME": segment.name,
                "KATEGORIJA": segment.category,
                "VOZISCE": "makadam" if gravel else "asfalt",
                "STANJE": int(
                    np.clip(round(base + rng.normal(0, 0.7) + (0.8 if gravel else 0)), 1, 5)
                ),
                "PREGLED": dt.date(2022, 1, 1) + dt.timedelta(days=int(rng.integers(0, 1765))),
            }
        )
    return records


def build_mains(
    segments: list[Segment], sample: dict, geo: Geography, rng: np.random.Generator
) -> tuple[list[LineString], list[dict]]:
    """Mains under the streets, arterials and the nearest streets first, to the target length."""
    order = sorted(
        range(len(segments)),
        key=lambda i: (
            not segments[i].arterial,
            segments[i].line.distance(geo.centre) + rng.uniform(0, 400),
        ),
    )
    high_zone = set(sample["high_pressure_zone_districts"])
    lines, records, total = [], [], 0.0
    for i in order:
        if total >= sample["mains_km"] * 1000:
            break
        segment = segments[i]
        line = segment.line.offset_curve(2.5)
        if line.is_empty or line.length == 0:
            continue
        year = int(rng.integers(1958, 2025))
        total += line.length
        lines.append(line)
        records.append(
            {
                "MATERIAL": _material(year, rng),
                "PREMER": int(
                    rng.choice((250, 300))
                    if segment.arterial
                    else rng.choice((100, 125, 150))
                    if segment.urban
                    else rng.choice((80, 100, 110))
                ),
                "LETO": year,
                "CONA": "višinska cona" if segment.district in high_zone else "nižinska cona",
            }
        )
    return lines, records


def _material(year: int, rng: np.random.Generator) -> str:
    if year < 1975:
        return str(rng.choice(("azbestcement", "jeklo", "siva litina")))
    if year < 1995:
        return str(rng.choice(("PVC", "siva litina", "azbestcement")))
    return str(rng.choice(("duktilna litina", "PE-HD")))


def links(segments: list[Segment], geo: Geography) -> list[Segment]:
    """Local roads that join every street grid to the rest of the network, as every place is
    reached by road: each from the grid's point nearest to the network joined so far, nearest
    grid first. They run from a corner of a line to a corner of another, so the graph built
    from the roads (``layers.network``) joins them exactly.
    """
    lines = [s.line for s in segments]
    touching = shapely.union_all(shapely.buffer(np.array(lines, dtype=object), 0.05))
    parts = list(shapely.get_parts(touching))
    members: list[list[int]] = [[] for _ in parts]
    tree = shapely.STRtree(parts)
    for i, line in enumerate(lines):
        members[int(tree.query(line, predicate="intersects")[0])].append(i)
    corners = [shapely.points(shapely.get_coordinates([lines[i] for i in m])) for m in members]
    joined = max(range(len(parts)), key=lambda p: sum(lines[i].length for i in members[p]))
    apart = set(range(len(parts))) - {joined}
    reached = list(corners[joined])
    found = []
    while apart:
        reached_tree = shapely.STRtree(reached)
        gaps = {}
        for part in apart:
            near, far = reached_tree.query_nearest(corners[part], return_distance=True)
            best = int(np.argmin(far))
            gaps[part] = (far[best], corners[part][near[0][best]], reached[near[1][best]])
        part = min(gaps, key=lambda p: gaps[p][0])
        _, start, end = gaps[part]
        line = LineString([start, end])
        name = segments[members[part][0]].name
        district, urban = _district_of(geo, line)
        found.append(Segment(name, "lokalna cesta", district, urban, line))
        reached += list(corners[part])
        apart.remove(part)
    return found
