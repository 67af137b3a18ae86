"""``/catalog.json`` and ``/open-data/``: the open layers' catalogue and downloads, for anyone.

No sign-in: what is here is what ``/public`` shows. The files are the ETL's
(``layers.open_data``); only those of the layers open now are served, never another file of the
folder (one being written, say), nor one the registry has changed since it was written.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import tornado.web
from sqlalchemy import Engine

from dashboards.access import off_loop
from data.profiles import Profile
from layers.db import DATABASE_ERRORS
from layers.open_data import (
    ALL_LAYERS_FILE,
    GEOPACKAGE_TYPE,
    download_name,
    open_catalog,
    open_layers,
    stale_downloads,
)
from layers.settings import Settings

log = logging.getLogger(__name__)


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

    async def get(self) -> None:
        try:  # on a worker thread, as every query of the server
            catalog = await off_loop(
                open_catalog,
                self.engine,
                self.folder,
                self.base_url(),
                self.publisher,
                self.withheld,
            )
        except DATABASE_ERRORS:
            self.set_status(503)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.write({"error": "the database is unreachable / baza ni dosegljiva"})
            return
        self.set_header("Content-Type", "application/ld+json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.write(json.dumps(catalog, ensure_ascii=False, indent=1))


class DownloadHandler(tornado.web.StaticFileHandler):
    """An open layer's GeoPackage, or the one of them all; 404 for any other name.

    The files are replaced whole by the ETL, so a file's tag is its time and size (Tornado's
    own, a hash kept for the life of the process, would outlive the file), and a download
    resumed from a replaced file starts again from the beginning.
    """

    def initialize(self, path: str, withheld: set[str]) -> None:
        super().initialize(path)
        self.withheld = withheld

    async def get(self, path: str, include_body: bool = True) -> None:
        resumed_from = self.request.headers.get("If-Range")
        if resumed_from and "Range" in self.request.headers:
            current = self._tag_of(Path(self.root) / path)
            if current is None or resumed_from.strip('"') != current:
                del self.request.headers["Range"]  # another file now: the whole of it
        await super().get(path, include_body)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        served = {download_name(s) for s in open_layers()} | {ALL_LAYERS_FILE}
        name = Path(absolute_path).name
        if name not in served - self.withheld or Path(absolute_path).parent != Path(root):
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
    catalogued = {
        "engine": engine,
        "folder": folder,
        "profile": profile,
        "settings": settings,
        "withheld": withheld,
    }
    return [
        (r"/catalog\.json", CatalogHandler, catalogued),
        (r"/open-data/(.*)", DownloadHandler, {"path": str(folder), "withheld": withheld}),
    ]
