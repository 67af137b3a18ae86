"""The raster loader: flood-depth GeoTIFFs into hazard-class polygons, one scenario at a time.

A scenario's raster becomes the rows of that scenario (the layer's partition) in the layer's
table: the water depth of each cell is put in a class by the depth breaks of ``styles.toml``
(and the scenario's return period), the cells of a class are turned into polygons, and PostGIS
cuts them into small pieces for the index. ``etl.load`` runs it in the load's one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import rasterio.features
import shapely
from rasterio._err import CPLE_BaseError  # GDAL errors rasterio passes on as they are
from rasterio.crs import CRS
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.warp import Resampling, calculate_default_transform, reproject
from sqlalchemy import Connection, text

from etl.crs import parse_crs
from etl.load import Load, Loader, LoadOptions, Plan, Staged
from etl.validate import SLOVENIA_3794
from layers.errors import LoadError
from layers.registry import HAZARD_CLASSES
from layers.spec import STORAGE_SRID, LayerSpec
from styles import style

if TYPE_CHECKING:
    import pyproj
    from rasterio.io import DatasetReader
    from rasterio.transform import Affine

SCENARIO_PATTERN = re.compile(r"^Q(\d{1,5})$", re.IGNORECASE)
MAX_DEPTH_M = 30.0  # deeper "water" is an elevation model or a water level, not a depth
SUBDIVIDE_VERTICES = 256


@dataclass(frozen=True)
class DepthBand:
    """A range of water depth and the hazard class it has in a scenario."""

    hazard_class: str
    depth_from: float
    depth_to: float | None


def depth_bands(style_key: str, return_period: int) -> list[DepthBand]:
    """The depth bands of a scenario, shallowest first, from the layer style's class breaks."""
    entry = style(style_key)
    edges = [0.0, *entry["depth_breaks_m"], None]
    names = ("majhna", "srednja", "velika")
    if return_period > entry["residual_above_return_period"]:
        names = ("preostala",) * 3
    return [
        DepthBand(name, low, high)
        for name, low, high in zip(names, edges[:-1], edges[1:], strict=True)
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


def read_depth(path: Path, layer: str, crs: str | None) -> tuple[np.ma.MaskedArray, Affine, CRS]:
    """The depth band in EPSG:3794, nodata masked, with its transform and the source CRS."""
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
        if dataset.count != 1 or not np.issubdtype(np.dtype(dataset.dtypes[0]), np.number):
            raise LoadError(
                path,
                layer,
                f"has {dataset.count} bands of {dataset.dtypes[0]}: an image, not a depth grid",
                f"ima {dataset.count} kanalov tipa {dataset.dtypes[0]}: slika, ne mreža globin",
                "give a single-band GeoTIFF of water depth in metres",
                "podajte enokanalni GeoTIFF globine vode v metrih",
            )
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
        depth = dataset.read(1, masked=True).astype("float64")
        transform = dataset.transform
        if CRS.from_user_input(source_crs) != CRS.from_epsg(STORAGE_SRID):
            try:
                depth, transform = _to_storage_crs(dataset, depth, source_crs)
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
    return depth, transform, CRS.from_user_input(source_crs)


def _to_storage_crs(
    dataset: DatasetReader, depth: np.ma.MaskedArray, source_crs: CRS | pyproj.CRS
) -> tuple[np.ma.MaskedArray, Affine]:
    """Reproject to EPSG:3794 at the source's resolution; nearest keeps each cell's depth."""
    target = CRS.from_epsg(STORAGE_SRID)
    transform, width, height = calculate_default_transform(
        source_crs, target, dataset.width, dataset.height, *dataset.bounds
    )
    out = np.full((height, width), np.nan)
    reproject(
        depth.filled(np.nan),
        out,
        src_transform=dataset.transform,
        src_crs=source_crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=target,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return np.ma.masked_invalid(out), transform


def check_depth(depth: np.ma.MaskedArray, transform: Affine, path: Path, layer: str) -> None:
    """Refuse rasters that are not water depths in metres, or that lie outside Slovenia."""
    values = depth.compressed()
    if values.size == 0 or not (values > 0).any():
        raise LoadError(
            path,
            layer,
            "has no flooded cell (every cell is nodata or zero)",
            "nima nobene poplavljene celice (vse so brez podatka ali nič)",
            "check that this is the scenario's depth raster and that its nodata value is right",
            "preverite, da je to raster globin scenarija in da je vrednost brez podatka prava",
        )
    low, high = float(values.min()), float(values.max())
    if low < -0.01 or high > MAX_DEPTH_M:
        raise LoadError(
            path,
            layer,
            f"values run from {low:.1f} to {high:.1f}: not water depths in metres "
            "(an elevation model or water levels?)",
            f"vrednosti so od {low:.1f} do {high:.1f}: to niso globine vode v metrih "
            "(model višin ali gladine?)",
            f"give depths in metres (0 to {MAX_DEPTH_M:.0f}), with dry cells 0 or nodata",
            f"podajte globine v metrih (0 do {MAX_DEPTH_M:.0f}), suhe celice 0 ali brez podatka",
        )
    height, width = depth.shape
    xmin, ymax = transform @ (0, 0)
    xmax, ymin = transform @ (width, height)
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


def zone_polygons(
    depth: np.ma.MaskedArray, transform: Affine, return_period: int, style_key: str
) -> list[dict]:
    """One polygon per connected area of cells in the same depth band, with its class."""
    bands = depth_bands(style_key, return_period)
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


def stage_zones(conn: Connection, zones: list[dict]) -> None:
    """The zones into a temporary table, from which they replace the scenario's rows."""
    conn.execute(
        text(
            "CREATE TEMP TABLE raster_stage (hazard_class text, depth_from_m real,"
            " depth_to_m real, wkb bytea) ON COMMIT DROP"
        )
    )
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


def swap_scenario(conn: Connection, spec: LayerSpec, scenario: str, return_period: int) -> None:
    """Replace the scenario's rows with the staged zones, cut into small pieces for the index."""
    quote = conn.dialect.identifier_preparer.quote  # names from the registry, quoted
    table, part = quote(spec.load_table), quote(spec.partition_column)
    conn.execute(text(f"DELETE FROM {table} WHERE {part} = :s"), {"s": scenario})  # noqa: S608
    conn.execute(
        text(
            f"INSERT INTO {table} ({part}, return_period, hazard_class, depth_from_m,"  # noqa: S608
            f" depth_to_m, {quote(spec.geometry_column)})"
            " SELECT :s, :rp, hazard_class, depth_from_m, depth_to_m,"
            " ST_Multi(ST_Subdivide(ST_SetSRID(ST_GeomFromWKB(wkb), :srid), :vertices))"
            " FROM raster_stage"
        ),
        {"s": scenario, "rp": return_period, "srid": STORAGE_SRID, "vertices": SUBDIVIDE_VERTICES},
    )
    conn.exec_driver_sql(f"ANALYZE {table}")


def class_areas_ha(zones: list[dict]) -> dict[str, float]:
    """Hectares per hazard class, most severe first, for the report."""
    areas = {name: 0.0 for name in HAZARD_CLASSES}
    for zone in zones:
        areas[zone["hazard_class"]] += zone["geometry"].area / 1e4
    return {name: round(area, 1) for name, area in areas.items() if area}


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
    """Class the raster's cells into zones and stage them; the report says their hectares."""
    path, spec, scenario = load.path, load.spec, load.part
    return_period = scenario_return_period(path, spec.id, scenario)
    depth, transform, source_crs = read_depth(path, spec.id, load.options.crs)
    check_depth(depth, transform, path, spec.id)
    zones = zone_polygons(depth, transform, return_period, load.spec.style_key)
    load.report.loaded = len(zones)
    load.report.notes.extend(
        f"{scenario} {name}: {area:,.1f} ha" for name, area in class_areas_ha(zones).items()
    )
    stage_zones(conn, zones)
    return Staged(
        source_crs.to_string(),
        put=lambda _load_id: swap_scenario(conn, spec, scenario, return_period),
    )


LOADER = Loader(plan=plan_load, stage=stage_load)
