"""Where GDAL finds the data of a file as people send it: zipped, gzipped, or oddly named.

A zip may hold its shapefile in a sub-folder, or several; a CSV or GeoJSON may come gzipped;
a name may hold any character (pyogrio takes ``!`` in a path for an archive's separator, so such
a file is read through a link of a plain name).
"""

from __future__ import annotations

import codecs
import gzip
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from layers.errors import LoadError

DATA_SUFFIXES = (".shp", ".gpkg", ".geojson", ".csv")  # what a zip may hold to be loaded
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

    def sidecar(self, suffix: str, size: int) -> bytes | None:
        """The first ``size`` bytes of this shapefile's part with ``suffix`` (``.cpg``), or None
        if it has none.
        """
        if self.member is None:
            part = parts_beside(self.path).get(suffix)
            if part is None:
                return None
            with part.open("rb") as handle:
                return handle.read(size)
        stem = str(PurePosixPath(self.member).with_suffix(""))
        with zipfile.ZipFile(self.path) as archive:
            found = [n for n in archive.namelist() if n.lower() == f"{stem}{suffix}".lower()]
            if not found:
                return None
            with archive.open(found[0]) as handle:
                return handle.read(size)


def parts_beside(path: Path) -> dict[str, Path]:
    """The files of ``path``'s name beside it, by lower-case suffix: a shapefile's parts,
    however their suffixes are written (``TOCKE.SHP``, ``tocke.Dbf``).
    """
    return {p.suffix.lower(): p for p in path.parent.iterdir() if p.stem == path.stem}


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
    # a .json beside the data is most often its metadata: data only where nothing else is
    data = [n for n in names if n.lower().endswith(DATA_SUFFIXES)] or [
        n for n in names if n.lower().endswith(".json")
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
        for named, inner in _split(source_layer):  # FILE:LAYER, as for a zip of several
            source_layer = inner if _names(member, named) else source_layer
    else:
        member, source_layer = _chosen_member(path, layer, data, source_layer)
    located = Located(path, f"/vsizip/{path}/{member}", PurePosixPath(member).name, member)
    return located, source_layer


def _chosen_member(
    path: Path, layer: str, data: list[str], choice: str | None
) -> tuple[str, str | None]:
    """The file ``--source-layer`` names in the zip (``FILE`` or ``FILE:LAYER``) and the layer
    of it still to choose.
    """
    for member, inner in [(choice, None), *_split(choice)]:
        chosen = [n for n in data if _names(n, member)]
        if len(chosen) == 1:
            return chosen[0], inner
        if len(chosen) > 1:
            listed = ", ".join(chosen)
            raise LoadError(
                path,
                layer,
                f"--source-layer {member!r} matches {len(chosen)} of its files: {listed}",
                f"--source-layer {member!r} ustreza {len(chosen)} datotekam: {listed}",
                "give the file's path in the zip",
                "podajte pot datoteke v zipu",
            )
    listed = ", ".join(data)
    asked = f"has no file {choice!r}; " if choice is not None else ""
    raise LoadError(
        path,
        layer,
        f"{asked}holds {len(data)} data files: {listed}",
        f"{asked}vsebuje {len(data)} podatkovnih datotek: {listed}",
        "choose one with --source-layer (its name or path in the zip; FILE:LAYER for a layer"
        " of a GeoPackage)",
        "izberite eno z --source-layer (ime ali pot v zipu; DATOTEKA:SLOJ za sloj GeoPackagea)",
    )


def _split(choice: str | None) -> list[tuple[str, str]]:
    """``FILE:LAYER`` as the file and the layer, if the choice has a colon."""
    if choice is None or ":" not in choice:
        return []
    member, _, inner = choice.partition(":")
    return [(member, inner)]


def _names(member: str, choice: str | None) -> bool:
    """Whether ``choice`` names the zip's ``member``: its path, its file name or its stem."""
    if choice is None:
        return False
    posix = PurePosixPath(member)
    return choice.lower() in (member.lower(), posix.name.lower(), posix.stem.lower())


def transcoded(located: Located, encoding: str, layer: str) -> Located:
    """A UTF-8 copy of a CSV in another encoding: GDAL reads a CSV's text as UTF-8."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise LoadError(
            located.path,
            layer,
            f"--encoding {encoding!r} is no encoding",
            f"--encoding {encoding!r} ni kodiranje znakov",
            "give one such as cp1250, iso-8859-2 or utf-8",
            "podajte npr. cp1250, iso-8859-2 ali utf-8",
        ) from None
    folder = tempfile.TemporaryDirectory(prefix="etl-utf8-")
    target = Path(folder.name) / "data.csv"
    with _raw(located) as raw, target.open("w", encoding="utf-8", newline="") as copy:
        try:
            shutil.copyfileobj(io.TextIOWrapper(raw, encoding, newline=""), copy, 1 << 20)
        except UnicodeDecodeError as exc:
            raise LoadError(
                located.path,
                layer,
                f"is not {encoding} text ({exc.reason} at byte {exc.start:,} of a block)",
                f"ni besedilo v {encoding}",
                "give the encoding the file was saved in with --encoding",
                "z --encoding podajte kodiranje, v katerem je datoteka shranjena",
            ) from None
    return Located(located.path, str(target), located.name, link=folder)


def _raw(located: Located) -> BinaryIO:
    """The data's bytes as sent: a member of a zip, gunzipped, or the file itself."""
    if located.member is not None:
        return zipfile.ZipFile(located.path).open(located.member)
    if located.path.suffix.lower() == ".gz":
        return gzip.open(located.path)
    return located.path.open("rb")


def _linked(path: Path) -> Located:
    """The file (with its shapefile parts) linked under a plain name in a temporary folder."""
    link = tempfile.TemporaryDirectory(prefix="etl-link-")
    for part in parts_beside(path).values():
        (Path(link.name) / f"data{part.suffix}").symlink_to(part)
    target = Path(link.name) / f"data{path.suffix}"
    return Located(path, str(target), path.name, link=link)
