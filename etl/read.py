"""Reading vector files (shapefile, GeoPackage, GeoJSON) with pyogrio, with the CRS settled."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import LoadError

# Slovenian authorities wrote shapefiles in Windows-1250 long before .cpg files existed.
DEFAULT_SHAPEFILE_ENCODING = "cp1250"
SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@dataclass(frozen=True)
class SourceData:
    """What was read from a file: the features and the CRS they were in."""

    frame: gpd.GeoDataFrame
    source_crs: str
    source_layer: str | None


def file_sha256(path: Path) -> str:
    """The checksum of a file; for a shapefile, of its parts that carry data, in order."""
    digest = hashlib.sha256()
    parts = (
        [path.with_suffix(s) for s in SHAPEFILE_SIDECARS]
        if path.suffix.lower() == ".shp"
        else [path]
    )
    for part in parts:
        if part.exists():
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def parse_crs(value: str, path: Path, layer: str) -> CRS:
    """Return the CRS named by ``value`` (``EPSG:3794``, ``3794``, WKT), or a clear error."""
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


def _choose_source_layer(path: Path, layer: str, source_layer: str | None) -> str | None:
    names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    if source_layer is not None:
        if source_layer not in names:
            raise LoadError(
                path,
                layer,
                f"has no layer {source_layer!r} (it has: {', '.join(names)})",
                f"nima sloja {source_layer!r} (ima: {', '.join(names)})",
                "pass one of them with --source-layer",
                "izberite enega z --source-layer",
            )
        return source_layer
    if len(names) > 1:
        raise LoadError(
            path,
            layer,
            f"holds {len(names)} layers: {', '.join(names)}",
            f"vsebuje {len(names)} slojev: {', '.join(names)}",
            "choose one with --source-layer",
            "izberite enega z --source-layer",
        )
    return None


def _encoding_for(path: Path, encoding: str | None) -> str | None:
    if encoding or path.suffix.lower() != ".shp":
        return encoding
    return None if path.with_suffix(".cpg").exists() else DEFAULT_SHAPEFILE_ENCODING


def read_vector(
    path: Path,
    layer: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    where: str | None = None,
) -> SourceData:
    """Read the features of ``path`` for ``layer``.

    Parameters
    ----------
    path
        A shapefile, GeoPackage or GeoJSON file.
    layer
        The target layer's id, for messages.
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
        chosen = _choose_source_layer(path, layer, source_layer)
        frame = pyogrio.read_dataframe(
            path, layer=chosen, encoding=_encoding_for(path, encoding), where=where
        )
    except LoadError:
        raise
    except Exception as exc:  # pyogrio raises several GDAL error types; all mean "unreadable"
        raise LoadError(
            path,
            layer,
            f"cannot be read ({exc})",
            f"ni berljiva ({exc})",
            "check that it is a complete shapefile, GeoPackage or GeoJSON",
            "preverite, da je cel shapefile, GeoPackage ali GeoJSON",
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise LoadError(
            path,
            layer,
            "has no geometry",
            "nima geometrije",
            "a shapefile needs its .shp beside the .dbf",
            "shapefile potrebuje datoteko .shp",
        )
    if crs:
        frame = frame.set_crs(parse_crs(crs, path, layer), allow_override=True)
    elif frame.crs is None:
        raise LoadError(
            path,
            layer,
            "has no coordinate system",
            "nima koordinatnega sistema",
            "pass --crs EPSG:3794 (or EPSG:3912 for D48/GK data) or add a .prj",
            "podajte --crs EPSG:3794 (ali EPSG:3912 za D48/GK) ali dodajte .prj",
        )
    return SourceData(frame=frame, source_crs=frame.crs.to_string(), source_layer=chosen)
