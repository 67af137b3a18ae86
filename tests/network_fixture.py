"""A hand-made road network over the hand-made flood (tests/flood_fixture.py), where every
route is known.

The flood fills 566000–566200 × 142000–142200: 0.2 m in the north-west cell, 1.0 m north-east,
2.0 m south-west, the south-east cell dry. A ring road runs 50 m outside it; Navpična crosses it
north to south at x = 566050, Vodoravna west to east at y = 142150. Water deeper than 0.3 m
closes N1 (Navpična through the 2.0 m cell) and V2 (Vodoravna through the 1.0 m cell)::

    Q(566050,142450)━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓  G: fire station by Q, 150 places
    ┃ D (400, by the corner)   N2 (300)             ┃ C (700)
    v5 ━━ V1 (100) ━━ J ━━━━━━ V2 (400, closed) ━━━ P  S: school by P, 60 places
    ┃ E (200)         N1 (200, closed)              ┃ B (600, by the corner)
    v1 ━━ A (100) ━━ v2 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛

Open road distances from P: v2 600, v1 700, Q 700, v5 900, J 1000; from Q: J 300, v5 400,
v1 600, v2 700, P 700.
"""

from __future__ import annotations

from sqlalchemy import text

from layers.network import rebuild_network
from layers.registry import layer
from tests.flood_fixture import line, square

RING = [(565950, 141950), (566450, 141950), (566450, 142450), (565950, 142450), (565950, 141950)]
ROADS = [
    ("Obvoznica", RING),
    ("Navpična", [(566050, 141950), (566050, 142450)]),
    ("Vodoravna", [(565950, 142150), (566450, 142150)]),
]
SHELTERS = [  # name, kind, capacity, point
    ("Suha šola", "šola", 60, (566460, 142140)),  # on B, by P
    ("Gasilski dom", "gasilski dom", 150, (565960, 142440)),  # by Q
    ("Mokri dom", "kulturni dom", 500, (566150, 142180)),  # in the 1.0 m cell: not used
]
BUILDINGS = [  # address, occupants, square (x0, y0, size)
    ("Globoka 3", 30, (566040, 142040, 10)),  # 2.0 m; its road N1 is closed
    ("Srednja 2", 137, (566140, 142160, 20)),  # 1.0 m; its road V2 is closed
    ("Plitva 1", 25, (566020, 142160, 10)),  # 0.2 m, on V1
    ("Plitva 8", 40, (566005, 142175, 10)),  # 0.2 m, on V1
    ("Suha 5", 7, (566140, 142060, 10)),  # the dry cell, its road N1 closed: an island
]
PLACES = [("Otok", (566140, 142070)), ("Suhi Vrh", (566440, 142300))]


def build(database) -> None:
    """Replace the flood fixture's roads and buildings in ``database`` with those above, add
    the shelters and places, and make the graph as a roads load does."""
    with database.writer.begin() as conn:
        conn.execute(text("DELETE FROM road_segment"))
        conn.execute(text("DELETE FROM building"))
        for name, points in ROADS:
            conn.execute(
                text(
                    "INSERT INTO road_segment (name, category, condition, geom)"
                    " VALUES (:n, 'lokalna cesta', 3, ST_GeomFromText(:wkt, 3794))"
                ),
                {"n": name, "wkt": line(points)},
            )
        for address, occupants, (x, y, size) in BUILDINGS:
            conn.execute(
                text(
                    "INSERT INTO building (address, use_class, occupants, geom)"
                    " VALUES (:a, 'enostanovanjska', :o, ST_GeomFromText(:wkt, 3794))"
                ),
                {"a": address, "o": occupants, "wkt": square(x, y, size)},
            )
        for name, kind, capacity, (x, y) in SHELTERS:
            conn.execute(
                text(
                    "INSERT INTO shelter (name, kind, capacity, geom)"
                    " VALUES (:n, :k, :c, ST_Point(:x, :y, 3794))"
                ),
                {"n": name, "k": kind, "c": capacity, "x": x, "y": y},
            )
        for number, (name, (x, y)) in enumerate(PLACES, 1):
            conn.execute(
                text("INSERT INTO settlement (code, name, geom) VALUES (:c, :n, ST_Point(:x, :y, 3794))"),
                {"c": number, "n": name, "x": x, "y": y},
            )  # fmt: skip
        rebuild_network(conn, layer("roads"))
