"""Reading vector files in batches, with the CRS settled before the first row is read.

Shapefiles (plain or zipped, anywhere in the zip), GeoPackages, GeoJSON and CSV (WKT, x/y or
lon/lat columns; gzipped too) are read by GDAL through pyogrio's Arrow stream; Parquet and
GeoParquet by pyarrow. Either way the file arrives in batches of at most ``batch_size`` rows, so
a large file is never held whole, and a row whose text or geometry cannot be read is named with
the reason, for the checks to refuse that row only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
from pyproj import CRS

from etl.containers import Located, locate, parts_beside, transcoded
from etl.crs import settle_crs
from etl.encodings import shapefile_encoding, undecodable_rows
from etl.shapes import parse_wkb, parse_wkt
from layers.errors import LoadError

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
CSV_OPTIONS = {  # GDAL's CSV driver: where the geometry may be, under the names people use
    "GEOM_POSSIBLE_NAMES": "wkt,geometry,geom,the_geom",
    "X_POSSIBLE_NAMES": "x,lon,lng,longitude,e,easting,cen_e",  # CEN_E: GURS label points
    "Y_POSSIBLE_NAMES": "y,lat,latitude,n,northing,cen_n",
    "KEEP_GEOM_COLUMNS": "NO",
}
LONLAT_NAMES = {"lon", "lng", "longitude"}
PARQUET_GEOMETRY_NAMES = ("geometry", "geom", "wkb_geometry", "wkt")
BATCH_SIZE = 10_000  # rows read at once: 50,000 took no less time and 60 % more memory
RASTER_SUFFIXES = (".tif", ".tiff")  # loaded by etl.raster
DBF_HEADER_BYTES = 32  # a DBF's header, which holds its language driver
CPG_BYTES = 4096  # more than any encoding's name: a .cpg that is a web page is not read whole
UTF8_BOM = b"\xef\xbb\xbf"  # which Notepad writes before a .cpg's "UTF-8"
RECODED_SUFFIXES = (".shp", ".csv")  # the formats whose text may be in any encoding


def file_sha256(path: Path) -> str:
    """The checksum of a file; for a shapefile, of its parts that carry data, in order."""
    digest = hashlib.sha256()
    parts = [path]
    if path.suffix.lower() == ".shp":
        beside = parts_beside(path)
        parts = [beside[s] for s in SHAPEFILE_PARTS if s in beside]
    for part in parts:
        with part.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


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


@dataclass
class Batch:
    """Some features of a file, as read.

    ``wkb`` is their geometry's WKB as read, curves made straight (None where Parquet held
    WKT); ``problems`` says, for the rows that cannot be loaded as read, why.
    """

    frame: gpd.GeoDataFrame
    wkb: np.ndarray | None
    problems: dict[int, str] = field(default_factory=dict)


@dataclass
class Source:
    """An opened file: its CRS and layer settled, its features still on disk."""

    path: Path
    layer: str
    crs: CRS
    located: Located | None = None  # where GDAL reads it; None for Parquet
    source_layer: str | None = None
    encoding: str | None = None
    where: str | None = None
    parquet_geometry: str | None = None
    gdal_options: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # for the report: what was taken as what
    straightened: int = 0  # curved geometries GDAL made of straight segments

    @property
    def crs_name(self) -> str:
        """The CRS as the catalogue records it: its authority code (``EPSG:3794``) if any."""
        return self.crs.to_string()

    @property
    def text_fix(self) -> str:
        """What to do about text that is not in the encoding it was read in."""
        if self.located.suffix in RECODED_SUFFIXES:
            return "give --encoding"
        return "save the file's text as UTF-8"

    def batches(self, size: int = BATCH_SIZE) -> Iterator[Batch]:
        """The features, ``size`` at a time.

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

    def _gdal_batches(self, size: int) -> Iterator[Batch]:
        with pyogrio.open_arrow(
            self.located.gdal_path,
            layer=self.source_layer,
            encoding=self.encoding,
            where=self.where,
            batch_size=size,
            use_pyarrow=True,
            **self.gdal_options,
        ) as (meta, stream):
            name = meta["geometry_name"] or "wkb_geometry"
            for batch in stream:
                batch, problems = undecodable_rows(batch, self.encoding or "UTF-8", self.text_fix)
                frame = batch.to_pandas()
                parsed = parse_wkb(frame.pop(name).to_numpy())
                self.straightened += parsed.straightened
                frame = gpd.GeoDataFrame(frame, geometry=parsed.geometry, crs=self.crs)
                yield Batch(frame, parsed.wkb, {**parsed.problems, **problems})

    def _parquet_batches(self, size: int) -> Iterator[Batch]:
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=size):
            column = batch.column(self.parquet_geometry)
            values = column.to_numpy(zero_copy_only=False)  # missing ones as None
            frame = batch.drop_columns([self.parquet_geometry]).to_pandas()
            text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            parsed = parse_wkt(values) if text else parse_wkb(values)
            self.straightened += parsed.straightened
            frame = gpd.GeoDataFrame(frame, geometry=parsed.geometry, crs=self.crs)
            yield Batch(frame, parsed.wkb, parsed.problems)


def _choose_source_layer(located: Located, layer: str, source_layer: str | None) -> str | None:
    path = located.path
    names = [str(name) for name in pyogrio.list_layers(located.gdal_path)[:, 0]]
    if not names:
        raise LoadError(
            path,
            layer,
            "holds no layer",
            "ne vsebuje nobenega sloja",
            "check that this is the right file",
            "preverite, da je to prava datoteka",
        )
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
        # in a zip of several files, the layer is chosen with the file (FILE:LAYER)
        choice = f"{located.member}:LAYER" if located.member else "LAYER"
        raise LoadError(
            path,
            layer,
            f"holds {len(names)} layers: {', '.join(names)}",
            f"vsebuje {len(names)} slojev: {', '.join(names)}",
            f"choose one with --source-layer {choice}",
            f"izberite enega z --source-layer {choice}",
        )
    return source_layer


def _text_encoding(
    located: Located, given: str | None, layer: str
) -> tuple[str | None, str | None]:
    """The encoding to read text in (None: GDAL's, UTF-8) and a note if a .cpg was ignored."""
    if given and located.suffix not in RECODED_SUFFIXES:
        raise LoadError(
            located.path,
            layer,
            f"--encoding applies to shapefiles and CSV; a {located.suffix} file holds UTF-8 text",
            f"--encoding velja za shapefile in CSV; datoteka {located.suffix} vsebuje UTF-8",
            "leave out --encoding",
            "izpustite --encoding",
        )
    if given or located.suffix != ".shp":
        return given, None
    cpg = located.sidecar(".cpg", CPG_BYTES)
    return shapefile_encoding(
        None if cpg is None else cpg.removeprefix(UTF8_BOM).decode("latin-1"),
        located.sidecar(".dbf", DBF_HEADER_BYTES) or b"",
        str(PurePosixPath(located.name).with_suffix(".cpg")),
    )


def _open_gdal(
    path: Path,
    layer: str,
    crs: str | None,
    encoding: str | None,
    source_layer: str | None,
    where: str | None,
) -> Source:
    located, source_layer = locate(path, layer, source_layer)
    encoding, note = _text_encoding(located, encoding, layer)
    if encoding and located.suffix == ".csv":
        located, encoding = transcoded(located, encoding, layer), None
    options = CSV_OPTIONS if located.suffix == ".csv" else {}
    source_layer = _choose_source_layer(located, layer, source_layer)
    info = pyogrio.read_info(located.gdal_path, layer=source_layer, **options)
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
    if options and file_crs is None and LONLAT_NAMES & _csv_columns(located, source_layer):
        file_crs = "EPSG:4326"  # columns named lon/lat hold WGS 84 degrees by convention
    return Source(
        path,
        layer,
        settle_crs(crs, file_crs, path, layer),
        located,
        source_layer,
        encoding,
        where,
        gdal_options=options,
        notes=[note] if note else [],
    )


def _csv_columns(located: Located, source_layer: str | None) -> set[str]:
    """The lower-cased names of a CSV's columns, those holding coordinates included."""
    options = {**CSV_OPTIONS, "KEEP_GEOM_COLUMNS": "YES"}
    info = pyogrio.read_info(located.gdal_path, layer=source_layer, **options)
    return {str(name).lower() for name in info["fields"]}


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
        Attribute encoding; a shapefile's is otherwise its ``.cpg``, its language driver, or
        cp1250 (``etl.encodings``).
    source_layer
        Which layer of a multi-layer file (GeoPackage) to read, or which file of a zip that
        holds several.
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
