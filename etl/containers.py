"""Where GDAL finds the data of a file as people send it: zipped, gzipped, or oddly named.

A zip may hold its shapefile in a sub-folder, or several; a CSV or GeoJSON may come gzipped;
a name may hold any character (pyogrio takes ``!`` in a path for an archive's separator, so such
a file is read through a link of a plain name).
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layers.errors import LoadError

SHAPEFILE_SUFFIX = ".shp"
OTHER_VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".csv")
ARCHIVE_CLUTTER = ("__MACOSX/",)  # what macOS adds to every zip it makes


@dataclass(frozen=True)
class Located:
    """What GDAL opens for a file, and how to reach the parts beside it.

    ``name`` is the name of the data itself (``tocke.csv`` for ``tocke.csv.gz``, the member of a
    zip), whose suffix says its format; ``link`` keeps a plain-named link alive while GDAL reads.
    """

    path: Path
    gdal_path: str
    name: str
    member: str | None = None
    link: tempfile.TemporaryDirectory | None = None

    @property
    def suffix(self) -> str:
        """The data's suffix, lower-case (``.shp``), which says its format."""
        return PurePosixPath(self.name).suffix.lower()

    def sidecar(self, suffix: str) -> bytes | None:
        """The bytes of the part of this shapefile with ``suffix`` (``.cpg``), or None."""
        if self.member is None:
            parts = [p for p in self.path.parent.iterdir() if p.stem == self.path.stem]
            found = [p for p in parts if p.suffix.lower() == suffix]
            return found[0].read_bytes() if found else None
        stem = str(PurePosixPath(self.member).with_suffix(""))
        with zipfile.ZipFile(self.path) as archive:
            found = [n for n in archive.namelist() if n.lower() == f"{stem}{suffix}".lower()]
            return archive.read(found[0]) if found else None


def locate(path: Path, layer: str, source_layer: str | None) -> tuple[Located, str | None]:
    """Where GDAL reads ``path``, and the layer to read there (``--source-layer`` if still due).

    In a zip with several data files, ``--source-layer`` chooses the file (by its name or path
    in the zip); otherwise it chooses a layer of a multi-layer file (GeoPackage).
    """
    path = path.resolve()
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _in_zip(path, layer, source_layer)
    if suffix == ".gz":
        return Located(path, f"/vsigzip/{path}", path.stem), source_layer
    if "!" in str(path):
        return _linked(path), source_layer
    return Located(path, str(path), path.name), source_layer


def _in_zip(path: Path, layer: str, source_layer: str | None) -> tuple[Located, str | None]:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    names = [n for n in names if not n.startswith(ARCHIVE_CLUTTER)]
    data = [n for n in names if n.lower().endswith(SHAPEFILE_SUFFIX)] or [
        n for n in names if n.lower().endswith(OTHER_VECTOR_SUFFIXES)
    ]
    if not data:
        shown = ", ".join(names[:5]) or "nothing"
        raise LoadError(
            path,
            layer,
            f"holds no shapefile, GeoPackage, GeoJSON or CSV (it holds: {shown})",
            f"ne vsebuje shapefila, GeoPackagea, GeoJSON ali CSV (vsebuje: {shown})",
            "zip the data files themselves (.shp with its .shx, .dbf and .prj)",
            "stisnite same podatkovne datoteke (.shp z .shx, .dbf in .prj)",
        )
    if len(data) == 1:
        member = data[0]
    else:
        member = _chosen_member(path, layer, data, source_layer)
        source_layer = None
    located = Located(path, f"/vsizip/{path}/{member}", PurePosixPath(member).name, member)
    return located, source_layer


def _chosen_member(path: Path, layer: str, data: list[str], choice: str | None) -> str:
    chosen = [
        n
        for n in data
        if choice is not None and choice.lower() in (n.lower(), PurePosixPath(n).stem.lower())
    ]
    if len(chosen) == 1:
        return chosen[0]
    listed = ", ".join(data)
    asked = f"has no file {choice!r}; " if choice is not None else ""
    raise LoadError(
        path,
        layer,
        f"{asked}holds {len(data)} data files: {listed}",
        f"{asked}vsebuje {len(data)} podatkovnih datotek: {listed}",
        "choose one with --source-layer (its name or its path in the zip)",
        "izberite eno z --source-layer (ime ali pot v zipu)",
    )


def _linked(path: Path) -> Located:
    """The file (with its shapefile parts) linked under a plain name in a temporary folder."""
    link = tempfile.TemporaryDirectory(prefix="etl-link-")
    for part in path.parent.iterdir():
        if part.stem == path.stem:
            (Path(link.name) / f"data{part.suffix}").symlink_to(part)
    target = Path(link.name) / f"data{path.suffix}"
    return Located(path, str(target), path.name, link=link)
