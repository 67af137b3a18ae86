"""Buildings along the streets: dense in the old town, houses and blocks in town, farms outside.

Residents are given to the residential buildings of each district so that they add up to the
profile's residents of that district exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from data.sample.geography import Geography
from data.sample.network import Segment

RESIDENTIAL = ("enostanovanjska", "večstanovanjska")
ENERGY_BY_ERA = (  # (built before, classes to draw from)
    (1945, ("G", "F", "E")),
    (1980, ("F", "E", "D")),
    (2000, ("D", "C")),
    (2010, ("C", "B2")),
    (9999, ("B1", "A2", "A1")),
)


def rectangle(centre: np.ndarray, along: np.ndarray, width: float, depth: float) -> Polygon:
    across = np.array([-along[1], along[0]])
    corners = [
        centre + sx * along * width / 2 + sy * across * depth / 2
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    return Polygon(corners)


@dataclass(frozen=True)
class BuildingKind:
    """Ranges to draw a building from: size and spacing in metres, floors, years, uses."""

    width: tuple[float, float]
    depth: tuple[float, float]
    gap: tuple[float, float]
    setback: tuple[float, float]
    floors: tuple[int, int]  # lowest, highest + 1
    era: tuple[int, int]
    uses: dict[str, float]  # use class: probability


KINDS = {
    "old_town": BuildingKind(
        (10, 18),
        (10, 16),
        (1, 3),
        (2, 2),
        (2, 5),
        (1500, 1940),
        {"večstanovanjska": 0.45, "poslovna": 0.35, "javna": 0.12, "enostanovanjska": 0.08},
    ),
    "block": BuildingKind(
        (30, 50), (12, 15), (18, 26), (12, 12), (4, 9), (1960, 1992), {"večstanovanjska": 1.0}
    ),
    "town_house": BuildingKind(
        (9, 13),
        (8, 12),
        (12, 20),
        (6, 10),
        (1, 3),
        (1950, 2024),
        {"enostanovanjska": 0.85, "poslovna": 0.08, "industrijska": 0.04, "javna": 0.03},
    ),
    "village_house": BuildingKind(
        (8, 12),
        (8, 11),
        (20, 40),
        (8, 12),
        (1, 3),
        (1900, 2024),
        {"enostanovanjska": 0.9, "poslovna": 0.1},
    ),
}
BLOCK_SHARE = 0.12  # of the buildings along town streets, apartment blocks


def _kind(segment: Segment, core: bool, rng: np.random.Generator) -> dict:
    """Size, spacing, setback and use of the next building along ``segment``."""
    if core:
        kind = KINDS["old_town"]
    elif segment.urban:
        kind = KINDS["block"] if rng.random() < BLOCK_SHARE else KINDS["town_house"]
    else:
        kind = KINDS["village_house"]
    return {
        "w": rng.uniform(*kind.width),
        "d": rng.uniform(*kind.depth),
        "gap": rng.uniform(*kind.gap),
        "setback": rng.uniform(*kind.setback),
        "floors": int(rng.integers(*kind.floors)),
        "era": kind.era,
        "use": str(rng.choice(list(kind.uses), p=list(kind.uses.values()))),
    }


def candidates(
    segments: list[Segment], geo: Geography, core_district: int, rng: np.random.Generator
) -> list[dict]:
    """Buildings placed along both sides of every street, before overlaps are removed."""
    found = []
    for segment in segments:
        line = segment.line
        core = segment.district == core_district
        for side in (1, -1):
            position = rng.uniform(2, 12)
            while position < line.length - 5:
                kind = _kind(segment, core, rng)
                a, b = line.interpolate(position), line.interpolate(min(position + 1, line.length))
                along = np.array([b.x - a.x, b.y - a.y])
                along /= np.linalg.norm(along) or 1
                across = np.array([-along[1], along[0]]) * side
                centre = np.array([a.x, a.y]) + across * (kind["setback"] + kind["d"] / 2 + 4)
                found.append(
                    {
                        **kind,
                        "geometry": rectangle(centre, along, kind["w"], kind["d"]),
                        "segment": segment,
                        "side": side,
                    }
                )
                if kind["use"] == "enostanovanjska" and not segment.urban and rng.random() < 0.3:
                    barn = centre + across * (kind["d"] / 2 + 12)
                    found.append(
                        {
                            **kind,
                            "w": 14,
                            "d": 9,
                            "floors": 1,
                            "use": "kmetijska",
                            "geometry": rectangle(barn, along, 14, 9),
                            "segment": segment,
                            "side": side,
                        }
                    )
                position += kind["w"] + kind["gap"]
    return found


def keep_clear(
    found: list[dict], segments: list[Segment], geo: Geography, fixed: list[Polygon]
) -> list[dict]:
    """Drop buildings on roads, in water, across district edges or on top of another."""
    shapes = np.array([f["geometry"] for f in found], dtype=object)
    roads = shapely.STRtree([s.line for s in segments])
    blocked = np.zeros(len(shapes), dtype=bool)
    blocked[roads.query(shapes, predicate="dwithin", distance=3.0)[0]] = True
    edges = shapely.union_all(geo.districts.boundary.to_numpy())
    blocked |= shapely.dwithin(shapes, edges, 2.0)
    blocked |= ~shapely.within(shapes, geo.boundary)
    blocked |= shapely.intersects(shapes, geo.water_union)
    if fixed:
        blocked[shapely.STRtree(fixed).query(shapes, predicate="intersects")[1]] = True
    first, second = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    conflicts: dict[int, list[int]] = {}
    for i, j in zip(first, second, strict=True):
        if j < i:
            conflicts.setdefault(int(i), []).append(int(j))
    kept = np.zeros(len(shapes), dtype=bool)
    for i in range(len(shapes)):
        kept[i] = not blocked[i] and not any(kept[j] for j in conflicts.get(i, ()))
    return [f for f, k in zip(found, kept, strict=True) if k]


def allocate_residents(buildings: list[dict], geo: Geography, rng: np.random.Generator) -> None:
    """Give each district's residents to its residential buildings, by floor area, exactly."""
    points = shapely.point_on_surface(np.array([b["geometry"] for b in buildings], dtype=object))
    for district in geo.districts.itertuples():
        inside = np.flatnonzero(shapely.contains(district.geometry, points))
        homes = [i for i in inside if buildings[i]["use"] in RESIDENTIAL]
        if not homes:
            raise ValueError(
                f"district {district.name} has no residential building for its residents"
            )
        weights = np.array([buildings[i]["floor_area"] for i in homes]) * rng.uniform(
            0.7, 1.3, len(homes)
        )
        share = weights / weights.sum() * district.residents
        counts = np.floor(share).astype(int)
        # largest remainder: the rounding never loses or invents a resident
        counts[np.argsort(share - counts)[::-1][: district.residents - counts.sum()]] += 1
        for i, count in zip(homes, counts, strict=True):
            buildings[i]["occupants"] = int(count)


def _energy_class(year: int, rng: np.random.Generator) -> str:
    return str(rng.choice(next(classes for before, classes in ENERGY_BY_ERA if year < before)))


def landmarks(sample: dict, to_3794) -> list[dict]:
    """The profile's landmark buildings (a castle), at their real places."""
    found = []
    for mark in sample.get("landmarks", []):
        x, y = to_3794(*mark["lonlat"])
        shape = rectangle(np.array([x, y]), np.array([1.0, 0.0]), *mark["size_m"])
        found.append(
            {
                "geometry": shape,
                "use": mark["use_class"],
                "floors": 3,
                "era": (1200, 1200),
                "address": mark["name"],
            }
        )
    return found


def build_buildings(
    segments: list[Segment],
    fixed: list[dict],
    sample: dict,
    geo: Geography,
    rng: np.random.Generator,
) -> list[dict]:
    """Every building with its attributes, in the column names of the source file.

    ``fixed`` are the landmarks, placed first; the rest are placed around them.
    """
    found = fixed + keep_clear(
        candidates(segments, geo, sample["core_district"], rng),
        segments,
        geo,
        [f["geometry"] for f in fixed],
    )
    numbers: dict[tuple[str, int], int] = {}
    for building in found:
        low, high = building["era"]
        building["year"] = int(rng.integers(low, high + 1))
        building["floor_area"] = round(building["geometry"].area * building["floors"] * 0.8, 1)
        building["occupants"] = 0
        if "address" not in building:
            street, side = building["segment"].name, building["side"]
            number = numbers.get((street, side), 1 if side == 1 else 2)
            numbers[(street, side)] = number + 2
            building["address"] = f"{street} {number}"
    allocate_residents(found, geo, rng)
    return [
        {
            "NASLOV": b["address"],
            "NAMEMBNOST": b["use"],
            "POVRSINA": b["floor_area"],
            "LETO_IZGR": b["year"],
            "ST_PREB": b["occupants"],
            "EN_RAZRED": _energy_class(b["year"], rng),
            "geometry": b["geometry"],
        }
        for b in found
    ]
