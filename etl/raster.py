"""The raster loader: flood-depth GeoTIFFs into hazard-class polygons, one scenario at a time.

A scenario's raster becomes the rows of that scenario (the layer's partition) in the layer's
table: the water depth of each cell is put in a class by the depth breaks of ``styles.toml``
(and the scenario's return period), the cells of a class are turned into polygons, and PostGIS
cuts them into small pieces for the index. The depths themselves are kept too, as raster tiles
(``etl.depth_tiles``), for the depth at each building. ``etl.load`` runs it in the load's one
transaction.
The raster is read a window at a time, so its size is bounded by the disk, not by memory.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import rasterio.features
import shapely
from rasterio._err import CPLE_BaseError  # GDAL errors rasterio passes on as they are
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window
from sqlalchemy import Connection, text
from tqdm import tqdm

from etl.crs import parse_crs
from etl.depth_tiles import depth_tiles
from etl.load import Load, Loader, LoadOptions, Plan, Staged
from etl.validate import SLOVENIA_3794
from layers.db import quoted
from layers.errors import LoadError
from layers.registry import DEPTH_TABLE, HAZARD_CLASSES, network_layer
from layers.spec import STORAGE_SRID, LayerSpec
from styles import style

if TYPE_CHECKING:
    from rasterio.io import DatasetReader
    from rasterio.transform import Affine

    DepthView = DatasetReader | WarpedVRT

SCENARIO_PATTERN = re.compile(r"^Q(\d{1,5})$", re.IGNORECASE)
MAX_DEPTH_M = 30.0  # deeper "water" is an elevation model or a water level, not a depth
SUBDIVIDE_VERTICES = 256
WINDOW_CELLS = 2048  # a side of the square read at once: 32 MiB of depths
BLOCK_CACHE_MB = 64  # GDAL's cache of decoded blocks while a raster is read
# no flood model declares more cells than Slovenia's box at half-metre cells
MAX_CELLS = int(
    (SLOVENIA_3794[2] - SLOVENIA_3794[0]) * (SLOVENIA_3794[3] - SLOVENIA_3794[1]) / 0.25
)


@dataclass(frozen=True)
class DepthBand:
    """A range of water depth and the hazard class it has in a scenario."""

    hazard_class: str
    depth_from: float
    depth_to: float | None


def depth_bands(style_key: str, return_period: int) -> list[DepthBand]:
    """The depth bands of a scenario, shallowest first: the layer style's class breaks, and
    the depth that closes a road (``layers.spec.Network``) inside its class, so that which
    roads are under water too deep to drive is read from the zones exactly.
    """
    entry = style(style_key)
    breaks = entry["depth_breaks_m"]
    network = network_layer()
    steps = sorted({*breaks, *([network.network.drivable_depth_m] if network else [])})
    edges = [0.0, *steps, None]
    names = ("majhna", "srednja", "velika")
    if return_period > entry["residual_above_return_period"]:
        names = ("preostala",) * 3
    return [
        DepthBand(names[bisect.bisect_right(breaks, low)], low, high)
        for low, high in itertools.pairwise(edges)
    ]


def scenario_return_period(path: Path, layer: str, scenario: str | None) -> int:
    """The return period a scenario name carries (``Q100`` → 100); anything else is refused."""
    match = SCENARIO_PATTERN.match(scenario or "")
    if not match or int(match.group(1)) == 0:
        raise LoadError(
            path,
            layer,
            f"scenario {scenario!r} does not name a return period",
            f"scenarij {scenario!r} ne navaja povratne dobe",
            "pass --scenario Q10, Q100 or Q500 (Q and the return period in years)",
            "podajte --scenario Q10, Q100 ali Q500 (Q in povratna doba v letih)",
        )
    return int(match.group(1))


@contextmanager
def depth_view(path: Path, layer: str, crs: str | None) -> Iterator[tuple[DepthView, CRS]]:
    """The depth band as seen in EPSG:3794 (warped on the fly if the file is in another CRS).

    Nothing is read yet: the cells are read a window at a time (``read_window``), with GDAL's
    cache of decoded blocks kept small (by default it grows to a twentieth of the machine's RAM).
    """
    with rasterio.Env(GDAL_CACHEMAX=BLOCK_CACHE_MB):
        yield from _depth_view(path, layer, crs)


def _depth_view(path: Path, layer: str, crs: str | None) -> Iterator[tuple[DepthView, CRS]]:
    try:
        dataset = rasterio.open(path)
    except RasterioIOError as exc:
        raise LoadError(
            path,
            layer,
            f"is not a readable raster ({exc})",
            f"ni berljiv rastrski sloj ({exc})",
            "give a GeoTIFF of water depth in metres",
            "podajte GeoTIFF globine vode v metrih",
        ) from None
    with dataset:
        _check_bands(dataset, path, layer)
        _check_size(dataset.width, dataset.height, path, layer)
        source_crs = parse_crs(crs, path, layer) if crs else dataset.crs
        if not source_crs:
            raise LoadError(
                path,
                layer,
                "has no coordinate system",
                "nima koordinatnega sistema",
                "pass --crs EPSG:3794 (or the CRS the raster was made in)",
                "podajte --crs EPSG:3794 (ali sistem, v katerem je nastal rastrski sloj)",
            )
        source_crs = CRS.from_user_input(source_crs)
        if source_crs == CRS.from_epsg(STORAGE_SRID):
            yield dataset, source_crs
            return
        with _warped(dataset, source_crs, path, layer) as warped:
            _check_size(warped.width, warped.height, path, layer)
            yield warped, source_crs


def _check_bands(dataset: DatasetReader, path: Path, layer: str) -> None:
    if dataset.count != 1 or not np.issubdtype(np.dtype(dataset.dtypes[0]), np.number):
        raise LoadError(
            path,
            layer,
            f"has {dataset.count} bands of {dataset.dtypes[0]}: an image, not a depth grid",
            f"ima {dataset.count} kanalov tipa {dataset.dtypes[0]}: slika, ne mreža globin",
            "give a single-band GeoTIFF of water depth in metres",
            "podajte enokanalni GeoTIFF globine vode v metrih",
        )


def _check_size(width: int, height: int, path: Path, layer: str) -> None:
    """Refuse a size no flood model has: a damaged header, or a grid finer than any survey."""
    if width * height > MAX_CELLS:
        raise LoadError(
            path,
            layer,
            f"declares {width:,} × {height:,} cells, more than all of Slovenia at half-metre"
            " cells: its header is damaged or it is no flood model",
            f"navaja {width:,} × {height:,} celic, več kot vsa Slovenija v celicah po pol metra:"
            " glava je poškodovana ali to ni model poplav",
            "export the raster again, at the model's own resolution",
            "raster izvozite znova, v ločljivosti modela",
        )


@contextmanager
def _warped(dataset: DatasetReader, source_crs: CRS, path: Path, layer: str) -> Iterator[WarpedVRT]:
    """The dataset in EPSG:3794 at its own resolution; nearest keeps each cell's depth."""
    try:
        warped = WarpedVRT(
            dataset,
            src_crs=source_crs,
            crs=CRS.from_epsg(STORAGE_SRID),
            resampling=Resampling.nearest,
        )
    except (RasterioError, CPLE_BaseError) as exc:
        raise LoadError(
            path,
            layer,
            f"does not reproject from {source_crs} ({exc}): its coordinates lie outside "
            "Slovenia or outside that CRS; the declared CRS is probably wrong",
            f"se ne pretvori iz {source_crs}: koordinate so izven Slovenije ali izven "
            "tega sistema; navedeni koordinatni sistem je verjetno napačen",
            "pass the right CRS with --crs",
            "podajte pravi koordinatni sistem z --crs",
        ) from None
    with warped:
        yield warped


def check_extent(view: DepthView, path: Path, layer: str) -> None:
    """Refuse a raster that lies outside Slovenia (in EPSG:3794), before a cell is read."""
    xmin, ymin, xmax, ymax = view.bounds
    sx0, sy0, sx1, sy1 = SLOVENIA_3794
    if xmax < sx0 or xmin > sx1 or ymax < sy0 or ymin > sy1:
        raise LoadError(
            path,
            layer,
            f"lies outside Slovenia after reprojection (x {xmin:.0f}–{xmax:.0f}, "
            f"y {ymin:.0f}–{ymax:.0f} in EPSG:3794); its CRS is probably wrong",
            "po pretvorbi leži izven Slovenije; njen koordinatni sistem je verjetno napačen",
            "pass the right CRS with --crs",
            "podajte pravi koordinatni sistem z --crs",
        )


def windows(view: DepthView) -> list[Window]:
    """Squares of at most ``WINDOW_CELLS`` a side covering the raster, row by row."""
    return [
        Window(col, row, min(WINDOW_CELLS, view.width - col), min(WINDOW_CELLS, view.height - row))
        for row in range(0, view.height, WINDOW_CELLS)
        for col in range(0, view.width, WINDOW_CELLS)
    ]


def read_window(
    view: DepthView, window: Window, path: Path, layer: str
) -> tuple[np.ma.MaskedArray, Affine]:
    """One window's depths, nodata and NaN masked, with its transform; damage refused by place."""
    try:
        cells = view.read(1, window=window, masked=True)
    except (RasterioError, CPLE_BaseError) as exc:
        rows = f"{window.row_off + 1:,}–{window.row_off + window.height:,}"
        raise LoadError(
            path,
            layer,
            f"its cells in rows {rows} cannot be read ({exc.__cause__ or exc}): the file is"
            " damaged or cut short",
            f"njenih celic v vrsticah {rows} ni mogoče prebrati: datoteka je poškodovana ali"
            " okrnjena",
            "copy or export the raster again",
            "raster znova prekopirajte ali izvozite",
        ) from None
    return np.ma.masked_invalid(cells.astype("float64")), view.window_transform(window)


@dataclass
class DepthRange:
    """The depths seen so far: a raster is checked as it is read, a window at a time."""

    low: float = np.inf
    high: float = -np.inf
    flooded: bool = False

    def check(self, depth: np.ma.MaskedArray, path: Path, layer: str) -> None:
        """Refuse depths that are no water depths in metres (an elevation model, levels)."""
        values = depth.compressed()
        if values.size:
            self.low, self.high = min(self.low, values.min()), max(self.high, values.max())
            self.flooded = self.flooded or bool((values > 0).any())
        if self.low < -0.01 or self.high > MAX_DEPTH_M:
            raise LoadError(
                path,
                layer,
                f"values run from {self.low:.1f} to {self.high:.1f}: not water depths in metres "
                "(an elevation model or water levels?)",
                f"vrednosti so od {self.low:.1f} do {self.high:.1f}: to niso globine vode v "
                "metrih (model višin ali gladine?)",
                f"give depths in metres (0 to {MAX_DEPTH_M:.0f}), with dry cells 0 or nodata",
                f"podajte globine v metrih (0 do {MAX_DEPTH_M:.0f}), suhe celice 0 ali brez"
                " podatka",
            )

    def check_flooded(self, path: Path, layer: str) -> None:
        """Refuse, once all is read, a raster without one wet cell."""
        if not self.flooded:
            raise LoadError(
                path,
                layer,
                "has no flooded cell (every cell is nodata or zero)",
                "nima nobene poplavljene celice (vse so brez podatka ali nič)",
                "check that this is the scenario's depth raster and that its nodata value is right",
                "preverite, da je to raster globin scenarija in da je vrednost brez podatka prava",
            )


def zone_polygons(
    depth: np.ma.MaskedArray, transform: Affine, bands: list[DepthBand]
) -> list[dict]:
    """One polygon per connected area of a window's cells in the same depth band, with its class."""
    edges = [b.depth_from for b in bands[1:]]
    wet = ~np.ma.getmaskarray(depth) & (depth.filled(0) > 0)
    band_of = (np.digitize(depth.filled(0), edges) + 1).astype("uint8")
    zones = []
    for shape, value in rasterio.features.shapes(band_of, mask=wet, transform=transform):
        band = bands[int(value) - 1]
        zones.append(
            {
                "hazard_class": band.hazard_class,
                "depth_from_m": band.depth_from,
                "depth_to_m": band.depth_to,
                "geometry": shapely.geometry.shape(shape),
            }
        )
    return zones


def create_stage(conn: Connection) -> None:
    """The temporary tables the zones and the depth tiles are staged in, from which they
    replace the scenario's rows.
    """
    conn.execute(
        text(
            "CREATE TEMP TABLE raster_stage (hazard_class text, depth_from_m real,"
            " depth_to_m real, wkb bytea) ON COMMIT DROP"
        )
    )
    conn.execute(text("CREATE TEMP TABLE depth_stage (wkb bytea) ON COMMIT DROP"))


def stage_zones(conn: Connection, zones: list[dict]) -> None:
    """A window's zones into the stage."""
    if not zones:
        return
    conn.execute(
        text("INSERT INTO raster_stage VALUES (:hazard_class, :depth_from_m, :depth_to_m, :wkb)"),
        [
            {
                **{k: v for k, v in z.items() if k != "geometry"},
                "wkb": shapely.to_wkb(z["geometry"]),
            }
            for z in zones
        ],
    )


def stage_depths(conn: Connection, depth: np.ma.MaskedArray, transform: Affine) -> int:
    """A window's wet tiles into the stage; how many there were."""
    tiles = [{"wkb": wkb} for wkb in depth_tiles(depth, transform, STORAGE_SRID)]
    if tiles:
        conn.execute(text("INSERT INTO depth_stage VALUES (:wkb)"), tiles)
    return len(tiles)


def swap_scenario(conn: Connection, spec: LayerSpec, scenario: str, return_period: int) -> None:
    """Replace the scenario's rows with the staged zones, cut into small pieces for the index,
    and its depth tiles with the staged ones.
    """
    table, part = quoted(spec.load_table), quoted(spec.partition_column)
    conn.execute(text(f"DELETE FROM {table} WHERE {part} = :s"), {"s": scenario})  # noqa: S608
    conn.execute(
        text(
            f"INSERT INTO {table} ({part}, return_period, hazard_class, depth_from_m,"  # noqa: S608
            f" depth_to_m, {quoted(spec.geometry_column)})"
            " SELECT :s, :rp, hazard_class, depth_from_m, depth_to_m,"
            " ST_Multi(ST_Subdivide(ST_SetSRID(ST_GeomFromWKB(wkb), :srid), :vertices))"
            " FROM raster_stage"
        ),
        {"s": scenario, "rp": return_period, "srid": STORAGE_SRID, "vertices": SUBDIVIDE_VERTICES},
    )
    depths = quoted(DEPTH_TABLE)
    conn.execute(text(f"DELETE FROM {depths} WHERE scenario = :s"), {"s": scenario})  # noqa: S608
    moved = f"INSERT INTO {depths} (scenario, rast) SELECT :s, ST_RastFromWKB(wkb) FROM depth_stage"  # noqa: S608
    conn.execute(text(moved), {"s": scenario})
    conn.exec_driver_sql(f"ANALYZE {table}")
    conn.exec_driver_sql(f"ANALYZE {depths}")


def plan_load(path: Path, spec: LayerSpec, options: LoadOptions) -> Plan:
    """A raster replaces one scenario of the layer, ``options.scenario``; whatever the mode."""
    if not path.is_file():
        raise LoadError(
            path,
            spec.id,
            "does not exist or is not a file",
            "ne obstaja ali ni datoteka",
            "check the path",
            "preverite pot",
        )
    scenario_return_period(path, spec.id, options.scenario)
    return Plan(skip_unchanged=True, part=options.scenario.upper())


def stage_load(conn: Connection, load: Load) -> Staged:
    """Class the raster's cells into zones, a window at a time, and stage them.

    A window's zones are staged before the next is read, so the raster is never held whole;
    zones are cut at window edges, as PostGIS cuts them into small pieces anyway. The report
    says the hectares of each class.
    """
    path, spec, scenario = load.path, load.spec, load.part
    return_period = scenario_return_period(path, spec.id, scenario)
    bands = depth_bands(spec.style_key, return_period)
    hectares = dict.fromkeys(HAZARD_CLASSES, 0.0)
    seen, tiles = DepthRange(), 0
    create_stage(conn)
    with depth_view(path, spec.id, load.options.crs) as (view, source_crs):
        check_extent(view, path, spec.id)
        for window in tqdm(
            windows(view), unit=" windows", desc=spec.id, disable=not load.options.progress
        ):
            depth, transform = read_window(view, window, path, spec.id)
            seen.check(depth, path, spec.id)
            zones = zone_polygons(depth, transform, bands)
            stage_zones(conn, zones)
            tiles += stage_depths(conn, depth, transform)
            load.report.loaded += len(zones)
            for zone in zones:
                hectares[zone["hazard_class"]] += zone["geometry"].area / 1e4
    seen.check_flooded(path, spec.id)
    load.report.notes.extend(
        f"{scenario} {name}: {area:,.1f} ha" for name, area in hectares.items() if area
    )
    load.report.notes.append(f"{scenario}: {tiles:,} tiles of water depth")
    return Staged(
        source_crs.to_string(),
        put=lambda _load_id: swap_scenario(conn, spec, scenario, return_period),
    )


LOADER = Loader(plan=plan_load, stage=stage_load)
