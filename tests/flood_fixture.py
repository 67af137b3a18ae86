"""A hand-made flood where every answer is known: four 100 m cells and features placed in them.

y 142200 ┌──────────┬──────────┐
         │ majhna   │ srednja  │   depths 0.2 m | 1.0 m
y 142100 ├──────────┼──────────┤
         │ velika   │ dry      │   depths 2.0 m | nodata
y 142000 └──────────┴──────────┘
      x 566000   566100    566200
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.exposure_store import keep_hits
from layers.network import rebuild_network
from layers.registry import layer

BUILDINGS = [  # address, use, occupants, square (x0, y0, size)
    ("Plitva 1", "enostanovanjska", 41, (566040, 142140, 10)),  # majhna
    ("Srednja 2", "večstanovanjska", 137, (566140, 142140, 20)),  # srednja
    ("Globoka 3", "javna", 0, (566040, 142040, 10)),  # velika
    ("Meja 4", "poslovna", 29, (566040, 142095, 10)),  # velika and majhna: counts as velika
    ("Suha 5", "enostanovanjska", 7, (566140, 142040, 10)),  # dry cell
    ("Daleč 6", "enostanovanjska", 11, (566400, 142400, 10)),  # off the raster
]
ROADS = [  # name, category, line
    (
        "Vodoravna",
        "lokalna cesta",
        [(565950, 142150), (566250, 142150)],
    ),  # 100 m majhna, 100 m srednja
    (
        "Navpična",
        "glavna cesta",
        [(566050, 142000), (566050, 142200)],
    ),  # 100 m velika, 100 m majhna
]
MAINS = [[(566000, 142050), (566200, 142050)]]  # 100 m velika, 100 m dry
HOTSPOTS = [("Trg", (566150, 142150)), ("Suho", (566150, 142050))]  # srednja; dry
SITES = [  # name, kind, capacity, point
    ("OŠ Globoka", "šola", 300, (566050, 142050)),  # velika
    ("PGD Suho", "gasilski dom", None, (566150, 142050)),  # dry
    ("Vrtec Plitvi", "vrtec", 60, (566070, 142160)),  # majhna
]
HERITAGE = [  # register number, name, importance, point
    (617, "Grad Globoki", "državni", (566060, 142060)),  # velika
    (20001, "Hiša Srednja 2", "lokalni", (566160, 142160)),  # srednja
    (20002, "Znamenje pri Plitvi", "dediščina", (566020, 142180)),  # majhna
    (20003, "Kapelica Suha", "dediščina", (566160, 142060)),  # dry
]
MUNICIPALITY = (
    "POLYGON((565900 141900, 566500 141900, 566500 142500, 565900 142500, 565900 141900))"
)
WEST_DISTRICT = (
    "POLYGON((565900 141900, 566100 141900, 566100 142500, 565900 142500, 565900 141900))"
)


def write_depths(path: Path, depths: list[list[float]]) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=2,
        width=2,
        count=1,
        dtype="float32",
        crs="EPSG:3794",
        transform=from_origin(566000, 142200, 100, 100),
        nodata=-9999,
    ) as out:
        out.write(np.array(depths, dtype="float32"), 1)
    return path


def square(x: float, y: float, size: float) -> str:
    return (
        f"MULTIPOLYGON((({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y})))"
    )


def line(points) -> str:
    return "MULTILINESTRING((" + ", ".join(f"{x} {y}" for x, y in points) + "))"


def build(database, folder: Path) -> None:
    """Load the fixture into ``database`` (emptied): Q100 as drawn above, and a drier Q10."""
    options = LoadOptions(progress=False, licence="CC BY 4.0", provider="ARSO (fixture)")
    q100 = write_depths(folder / "q100.tif", [[0.2, 1.0], [2.0, -9999]])
    q10 = write_depths(folder / "q10.tif", [[0.0, 0.3], [0.7, -9999]])
    for path, scenario in ((q100, "Q100"), (q10, "Q10")):
        load_file(
            database.writer,
            path,
            "flood_hazard",
            LoadOptions(**{**options.__dict__, "scenario": scenario}),
        )
    with database.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO municipality (code, name, geom) VALUES (1, 'Poplavje', ST_Multi(ST_GeomFromText(:wkt, 3794)))"
            ),
            {"wkt": MUNICIPALITY},
        )
        conn.execute(
            text(
                "INSERT INTO district (code, name, geom) VALUES (11, 'Zahod', ST_Multi(ST_GeomFromText(:wkt, 3794)))"
            ),
            {"wkt": WEST_DISTRICT},
        )
        for address, use, occupants, (x, y, size) in BUILDINGS:
            conn.execute(
                text(
                    "INSERT INTO building (address, use_class, occupants, geom) VALUES (:a, :u, :o, ST_GeomFromText(:wkt, 3794))"
                ),
                {"a": address, "u": use, "o": occupants, "wkt": square(x, y, size)},
            )
        for name, category, points in ROADS:
            conn.execute(
                text(
                    "INSERT INTO road_segment (name, category, condition, geom)"
                    " VALUES (:n, :c, 3, ST_GeomFromText(:wkt, 3794))"
                ),
                {"n": name, "c": category, "wkt": line(points)},
            )
        for points in MAINS:
            conn.execute(
                text(
                    "INSERT INTO water_main (material, diameter_mm, geom) VALUES ('PE', 110, ST_GeomFromText(:wkt, 3794))"
                ),
                {"wkt": line(points)},
            )
        for name, (x, y) in HOTSPOTS:
            conn.execute(
                text(
                    "INSERT INTO wifi_hotspot (location_name, status, geom) VALUES (:n, 'aktivna', ST_GeomFromText(:wkt, 3794))"
                ),
                {"n": name, "wkt": f"POINT({x} {y})"},
            )
        for esd, name, importance, (x, y) in HERITAGE:
            conn.execute(
                text(
                    "INSERT INTO heritage_site (esd, name, heritage_type, importance, geom)"
                    " VALUES (:e, :n, 'profana stavbna dediščina', :i, ST_GeomFromText(:wkt, 3794))"
                ),
                {"e": esd, "n": name, "i": importance, "wkt": f"POINT({x} {y})"},
            )
        for name, kind, capacity, (x, y) in SITES:
            conn.execute(
                text(
                    "INSERT INTO critical_site (name, kind, capacity, geom) VALUES (:n, :k, :c, ST_GeomFromText(:wkt, 3794))"
                ),
                {"n": name, "k": kind, "c": capacity, "wkt": f"POINT({x} {y})"},
            )
        rebuild_network(conn, layer("roads"))  # as a load of the roads does
        keep_hits(conn)  # as every load does
