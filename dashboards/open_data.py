"""``/catalog.json`` and ``/open-data/``: the open layers' catalogue, its page and downloads, for anyone.

No sign-in: what is here is what ``/public`` shows. The files are the ETL's
(``layers.open_data``); only those of the layers open now are served, never another file of the
folder (one being written, say), nor one the registry has changed since it was written.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from pathlib import Path

import tornado.web
from sqlalchemy import Engine

from dashboards.access import off_loop
from dashboards.tables import number
from data.profiles import Profile
from layers.db import DATABASE_ERRORS
from layers.open_data import (
    GEOPACKAGE_TYPE,
    LICENCES,
    download_names,
    open_catalog,
    stale_downloads,
)
from layers.settings import LJUBLJANA, Settings

log = logging.getLogger(__name__)
LICENCE_NAMES = {uri: name for name, uri in LICENCES.items()}


class CatalogHandler(tornado.web.RequestHandler):
    """The DCAT-AP catalogue of the open layers, as JSON-LD."""

    def initialize(
        self, engine: Engine, folder: Path, profile: Profile, settings: Settings, withheld: set
    ) -> None:
        self.engine, self.folder, self.withheld = engine, folder, withheld
        self.public_url, self.tls = settings.public_url, settings.tls
        self.publisher = (profile.name, profile.name_en)

    def base_url(self) -> str:
        """Where the public reaches us: the configured address, else this request's host."""
        if self.public_url:
            return self.public_url
        scheme = "https" if self.tls else self.request.protocol
        return f"{scheme}://{self.request.host}"

    async def catalog(self) -> dict | None:
        """The catalogue, or None (and a 503 said) while the database is away."""
        try:  # on a worker thread, as every query of the server
            return await off_loop(
                open_catalog,
                self.engine,
                self.folder,
                self.base_url(),
                self.publisher,
                self.withheld,
            )
        except DATABASE_ERRORS:
            self.set_status(503)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.write("Baza ni dosegljiva · The database is unreachable\n")
            return None

    async def get(self) -> None:
        catalog = await self.catalog()
        if catalog is not None:
            self.set_header("Content-Type", "application/ld+json; charset=utf-8")
            self.set_header("Cache-Control", "no-cache")
            self.write(json.dumps(catalog, ensure_ascii=False, indent=1))


class OpenDataPage(CatalogHandler):
    """``/open-data/``: the catalogue as a page a person reads, each file a link."""

    async def get(self) -> None:
        catalog = await self.catalog()
        if catalog is not None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-cache")
            self.write(catalog_page(catalog))


def catalog_page(catalog: dict) -> str:
    """The page of the open downloads: a row per file, in Slovenian and English."""
    files = [d for d in catalog["dcat:dataset"] if "dcat:downloadURL" in d["dcat:distribution"][0]]
    rows = "".join(_page_row(dataset) for dataset in files)
    title = {t["@language"]: t["@value"] for t in catalog["dct:title"]}
    return f"""<!DOCTYPE html>
<html lang="sl">
<head><meta charset="utf-8"><title>Odprti podatki · Open data</title>
<link rel="stylesheet" href="/auth-static/page.css"></head>
<body><header>Občinski zemljevid · Municipal map</header>
<main class="wide">
<h1>{html.escape(title["sl"])}<br><span class="en">{html.escape(title["en"])}</span></h1>
<p>Sloji, ki jih sme videti vsakdo, v formatu GeoPackage (D96/TM), z licenco v metapodatkih.
<br><span class="en">The layers anyone may see, as GeoPackage (D96/TM), each with its licence
in its metadata.</span></p>
<table class="downloads">
<tr><th>Sloj <span class="en">· Layer</span></th><th>Licenca <span class="en">· Licence</span></th>
<th>Posodobljeno <span class="en">· Updated</span></th><th>Velikost <span class="en">· Size</span></th></tr>
{rows}</table>
<p><a href="/catalog.json">Katalog DCAT-AP (JSON-LD) <span class="en">· DCAT-AP catalogue</span></a>
· <a href="/ogc">OGC API – Features</a>
· <a href="/public">Zemljevid <span class="en">· Map</span></a></p>
</main></body></html>
"""


def _page_row(dataset: dict) -> str:
    title = {t["@language"]: t["@value"] for t in dataset["dct:title"]}
    distribution = dataset["dcat:distribution"][0]  # the download (the API's follows it)
    licence = distribution.get("dct:license", {})
    licence_name = LICENCE_NAMES.get(licence.get("@id"), licence.get("rdfs:label", "—"))
    updated = dt.datetime.fromisoformat(dataset["dct:modified"]).astimezone(LJUBLJANA)
    size = number(distribution["dcat:byteSize"] / 2**20, 1)
    url = html.escape(distribution["dcat:downloadURL"]["@id"])
    return (
        f"<tr><td><a href='{url}' download>{html.escape(title['sl'])}</a>"
        f"<br><span class='en'>{html.escape(title['en'])}</span></td>"
        f"<td>{html.escape(licence_name)}</td>"
        f"<td>{updated.day}. {updated.month}. {updated.year} {updated:%H:%M}</td>"
        f"<td>{size} MiB</td></tr>\n"
    )


class DownloadHandler(tornado.web.StaticFileHandler):
    """An open layer's GeoPackage, or the one of them all; 404 for any other name.

    The files are replaced whole by the ETL, so a file's tag is its time and size (Tornado's
    own, a hash kept for the life of the process, would outlive the file), and a download
    resumed from a replaced file starts again from the beginning.
    """

    def initialize(self, path: str, served: set[str]) -> None:
        super().initialize(path)
        self.served = served

    async def get(self, path: str, include_body: bool = True) -> None:
        resumed_from = self.request.headers.get("If-Range")
        if resumed_from and "Range" in self.request.headers:
            current = self._tag_of(Path(self.root) / path)
            if current is None or resumed_from.strip('"') != current:
                del self.request.headers["Range"]  # another file now: the whole of it
        await super().get(path, include_body)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        name = Path(absolute_path).name
        if name not in self.served or Path(absolute_path).parent != Path(root):
            raise tornado.web.HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    def compute_etag(self) -> str | None:
        tag = self._tag_of(Path(self.absolute_path))
        return f'"{tag}"' if tag else None

    @staticmethod
    def _tag_of(path: Path) -> str | None:
        try:
            found = path.stat()
        except OSError:
            return None
        return f"{found.st_mtime_ns:x}-{found.st_size:x}"

    def get_cache_time(self, path: str, modified: object, mime_type: str) -> int:
        return 0  # the next load may replace it: ask again each time (the tag says if it did)

    def get_content_type(self) -> str:
        return GEOPACKAGE_TYPE

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Content-Disposition", f'attachment; filename="{Path(path).name}"')


def open_data_routes(
    engine: Engine, folder: Path, profile: Profile, settings: Settings
) -> list[tuple]:
    """The server's routes of the open data; downloads the registry has changed since are
    withheld (and named in the log) until the ETL writes them again."""
    folder.mkdir(parents=True, exist_ok=True)
    withheld = stale_downloads(folder)
    if withheld:
        log.warning(
            "open-data downloads withheld, the registry changed since they were written: %s"
            " (python -m etl open-data writes them again)",
            ", ".join(sorted(withheld)),
        )
    served = download_names() - withheld
    catalogued = {
        "engine": engine,
        "folder": folder,
        "profile": profile,
        "settings": settings,
        "withheld": withheld,
    }
    return [
        (r"/catalog\.json", CatalogHandler, catalogued),
        (r"/open-data/?", OpenDataPage, catalogued),
        (r"/open-data/(.*)", DownloadHandler, {"path": str(folder), "served": served}),
    ]
