"""Reading vector files in batches, with the CRS settled before the first row is read.

Shapefiles (plain or zipped), GeoPackages, GeoJSON and CSV (WKT, x/y or lon/lat columns) are read
by GDAL through pyogrio's Arrow stream; Parquet and GeoParquet by pyarrow. Either way the file
arrives as GeoDataFrames of at most ``batch_size`` rows, so a large file is never held whole.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import LoadError

# Slovenian authorities wrote shapefiles in Windows-1250 long before .cpg files existed.
DEFAULT_SHAPEFILE_ENCODING = "cp1250"
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
CSV_OPTIONS = {  # GDAL's CSV driver: where the geometry may be, under the names people use
    "GEOM_POSSIBLE_NAMES": "wkt,geometry,geom,the_geom",
    "X_POSSIBLE_NAMES": "x,lon,lng,longitude,e,easting,cen_e",  # CEN_E: GURS label points
    "Y_POSSIBLE_NAMES": "y,lat,latitude,n,northing,cen_n",
    "KEEP_GEOM_COLUMNS": "NO",
}
LONLAT_NAMES = {"lon", "lng", "longitude"}
PARQUET_GEOMETRY_NAMES = ("geometry", "geom", "wkb_geometry", "wkt")
BATCH_SIZE = 50_000
RASTER_SUFFIXES = (".tif", ".tiff")  # loaded by etl.raster


def file_sha256(path: Path) -> str:
    """The checksum of a file; for a shapefile, of its parts that carry data, in order."""
    digest = hashlib.sha256()
    shapefile = path.suffix.lower() == ".shp"
    for part in [path.with_suffix(s) for s in SHAPEFILE_PARTS] if shapefile else [path]:
        if part.exists():
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def parse_crs(value: str, path: Path, layer: str) -> CRS:
    """The CRS named by ``value`` (``EPSG:3794``, ``3794``, WKT), or a clear error."""
    try:
        return CRS.from_user_input(int(value) if value.isdigit() else value)
    except CRSError:
        raise LoadError(
            path,
            layer,
            f"--crs {value!r} is not a coordinate system",
            f"--crs {value!r} ni koordinatni sistem",
            "give an EPSG code such as EPSG:3794 or EPSG:3912",
            "podajte kodo EPSG, npr. EPSG:3794 ali EPSG:3912",
        ) from None


def unreadable(path: Path, layer: str, exc: Exception) -> LoadError:
    """The error for a file that GDAL or Arrow cannot read, quoting what they raised."""
    return LoadError(
        path,
        layer,
        f"cannot be read ({exc})",
        f"ni berljiva ({exc})",
        "check that the file is complete and is a shapefile, GeoPackage, GeoJSON, CSV or Parquet",
        "preverite, da je datoteka cela in je shapefile, GeoPackage, GeoJSON, CSV ali Parquet",
    )


def settle_crs(given: str | None, in_file: str | None, path: Path, layer: str) -> CRS:
    """The CRS given with --crs, else the file's own; a file with neither is refused."""
    if given:
        return parse_crs(given, path, layer)
    if in_file:
        return CRS.from_user_input(in_file)
    raise LoadError(
        path,
        layer,
        "has no coordinate system",
        "nima koordinatnega sistema",
        "pass --crs EPSG:3794 (or EPSG:3912 for D48/GK data) or add a .prj",
        "podajte --crs EPSG:3794 (ali EPSG:3912 za D48/GK) ali dodajte .prj",
    )


@dataclass
class Source:
    """An opened file: its CRS and layer settled, its features still on disk."""

    path: Path
    layer: str
    crs: CRS
    source_layer: str | None = None
    encoding: str | None = None
    where: str | None = None
    parquet_geometry: str | None = None
    gdal_options: dict = field(default_factory=dict)

    @property
    def crs_name(self) -> str:
        """The CRS as the catalogue records it: its authority code (``EPSG:3794``) if any."""
        return self.crs.to_string()

    def batches(
        self, size: int = BATCH_SIZE
    ) -> Iterator[tuple[gpd.GeoDataFrame, np.ndarray | None]]:
        """The features, ``size`` at a time, each batch with its geometries' WKB as read (or None).

        The WKB is sent to the database as it came wherever the checks leave a shape unchanged,
        which saves encoding every geometry again.
        """
        reader = self._parquet_batches if self.parquet_geometry else self._gdal_batches
        try:
            yield from reader(size)
        except LoadError:
            raise
        except Exception as exc:  # GDAL and Arrow raise many types; all mean the file is broken
            raise unreadable(self.path, self.layer, exc) from exc

    def _gdal_batches(self, size: int) -> Iterator[tuple[gpd.GeoDataFrame, np.ndarray]]:
        with pyogrio.open_arrow(
            self.path,
            layer=self.source_layer,
            encoding=self.encoding,
            where=self.where,
            batch_size=size,
            use_pyarrow=True,
            **self.gdal_options,
        ) as (meta, stream):
            name = meta["geometry_name"] or "wkb_geometry"
            for batch in stream:
                frame = batch.to_pandas()
                wkb = frame.pop(name).to_numpy()
                yield gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb), crs=self.crs), wkb

    def _parquet_batches(self, size: int) -> Iterator[tuple[gpd.GeoDataFrame, np.ndarray | None]]:
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=size):
            frame = batch.to_pandas()
            values = frame.pop(self.parquet_geometry).to_numpy()
            text = len(values) and isinstance(values[0], str)
            geometry = shapely.from_wkt(values) if text else shapely.from_wkb(values)
            yield gpd.GeoDataFrame(frame, geometry=geometry, crs=self.crs), None if text else values


def _choose_source_layer(path: Path, layer: str, source_layer: str | None) -> str | None:
    names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    if source_layer is not None and source_layer not in names:
        raise LoadError(
            path,
            layer,
            f"has no layer {source_layer!r} (it has: {', '.join(names)})",
            f"nima sloja {source_layer!r} (ima: {', '.join(names)})",
            "pass one of them with --source-layer",
            "izberite enega z --source-layer",
        )
    if source_layer is None and len(names) > 1:
        raise LoadError(
            path,
            layer,
            f"holds {len(names)} layers: {', '.join(names)}",
            f"vsebuje {len(names)} slojev: {', '.join(names)}",
            "choose one with --source-layer",
            "izberite enega z --source-layer",
        )
    return source_layer


def _shapefile_encoding(path: Path, encoding: str | None) -> str | None:
    """cp1250 for a shapefile without .cpg (also inside a zip); the given one always wins."""
    if encoding:
        return encoding
    if path.suffix.lower() == ".shp":
        return None if path.with_suffix(".cpg").exists() else DEFAULT_SHAPEFILE_ENCODING
    if path.suffix.lower() == ".zip":
        names = [n.lower() for n in zipfile.ZipFile(path).namelist()]
        has_shapefile = any(n.endswith(".shp") for n in names)
        return (
            DEFAULT_SHAPEFILE_ENCODING
            if has_shapefile and not any(n.endswith(".cpg") for n in names)
            else None
        )
    return None


def _open_gdal(
    path: Path,
    layer: str,
    crs: str | None,
    encoding: str | None,
    source_layer: str | None,
    where: str | None,
) -> Source:
    csv = path.suffix.lower() == ".csv"
    options = CSV_OPTIONS if csv else {}
    source_layer = _choose_source_layer(path, layer, source_layer)
    info = pyogrio.read_info(path, layer=source_layer, **options)
    if info["geometry_type"] is None:
        raise LoadError(
            path,
            layer,
            "has no geometry",
            "nima geometrije",
            "a shapefile needs its .shp beside the .dbf; a CSV needs WKT, x/y or lon/lat columns",
            "shapefile potrebuje .shp; CSV potrebuje stolpce WKT, x/y ali lon/lat",
        )
    file_crs = info["crs"]
    if csv and file_crs is None and LONLAT_NAMES & {n.lower() for n in _csv_header(path)}:
        file_crs = "EPSG:4326"  # columns named lon/lat hold WGS 84 degrees by convention
    resolved = settle_crs(crs, file_crs, path, layer)
    return Source(
        path,
        layer,
        resolved,
        source_layer,
        _shapefile_encoding(path, encoding),
        where,
        gdal_options=options,
    )


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        return [name.strip().strip('"') for name in handle.readline().split(",")]


def _open_parquet(path: Path, layer: str, crs: str | None) -> Source:
    schema = pq.read_schema(path)
    metadata = json.loads((schema.metadata or {}).get(b"geo", b"{}"))
    column = metadata.get("primary_column") or next(
        (n for n in schema.names if n.lower() in PARQUET_GEOMETRY_NAMES), None
    )
    if column is None:
        raise LoadError(
            path,
            layer,
            "has no geometry column",
            "nima stolpca z geometrijo",
            "name it geometry (WKB) or wkt",
            "poimenujte ga geometry (WKB) ali wkt",
        )
    file_crs = (
        metadata.get("columns", {}).get(column, {}).get("crs", "OGC:CRS84" if metadata else None)
    )
    resolved = settle_crs(crs, file_crs, path, layer)
    return Source(path, layer, resolved, parquet_geometry=column)


def open_source(
    path: Path,
    layer: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    where: str | None = None,
) -> Source:
    """Open ``path`` for ``layer`` and settle its CRS; nothing is read yet but the metadata.

    Parameters
    ----------
    crs
        The CRS to assume; it overrides the file's own, which is needed when that one is wrong
        or missing.
    encoding
        Attribute encoding; shapefiles without a ``.cpg`` default to cp1250.
    source_layer
        Which layer of a multi-layer file (GeoPackage) to read.
    where
        An OGR SQL filter on source attributes, e.g. ``OB_ID = 96``.
    """
    if not path.is_file():
        raise LoadError(
            path,
            layer,
            "does not exist or is not a file",
            "ne obstaja ali ni datoteka",
            "check the path",
            "preverite pot",
        )
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            if where or source_layer:  # rather than load the whole file in their place
                raise LoadError(
                    path,
                    layer,
                    "--where and --source-layer do not apply to Parquet",
                    "--where in --source-layer ne veljata za Parquet",
                    "filter the file before loading it, or load it whole",
                    "datoteko filtrirajte pred nalaganjem ali jo naložite celo",
                )
            return _open_parquet(path, layer, crs)
        return _open_gdal(path, layer, crs, encoding, source_layer, where)
    except LoadError:
        raise
    except Exception as exc:
        raise unreadable(path, layer, exc) from exc
