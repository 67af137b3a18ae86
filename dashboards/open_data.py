"""``/catalog.json`` and ``/open-data/``: the open layers' catalogue and downloads, for anyone.

No sign-in: what is here is what ``/public`` shows. The files are the ETL's
(``layers.open_data``); only those of the layers open now are served, never another file of the
folder (one being written, say).
"""

from __future__ import annotations

import json
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
)


class CatalogHandler(tornado.web.RequestHandler):
    """The DCAT-AP catalogue of the open layers, as JSON-LD."""

    def initialize(self, engine: Engine, folder: Path, profile: Profile) -> None:
        self.engine, self.folder = engine, folder
        self.publisher = (profile.name, profile.name_en)

    async def get(self) -> None:
        base_url = f"{self.request.protocol}://{self.request.host}"
        try:  # on a worker thread, as every query of the server
            catalog = await off_loop(
                open_catalog, self.engine, self.folder, base_url, self.publisher
            )
        except DATABASE_ERRORS:
            self.set_status(503)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.write({"error": "the database is unreachable / baza ni dosegljiva"})
            return
        self.set_header("Content-Type", "application/ld+json; charset=utf-8")
        self.write(json.dumps(catalog, ensure_ascii=False, indent=1))


class DownloadHandler(tornado.web.StaticFileHandler):
    """An open layer's GeoPackage, or the one of them all; 404 for any other name."""

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        served = {download_name(s) for s in open_layers()} | {ALL_LAYERS_FILE}
        if Path(absolute_path).name not in served:
            raise tornado.web.HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    def get_content_type(self) -> str:
        return GEOPACKAGE_TYPE

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Content-Disposition", f'attachment; filename="{Path(path).name}"')


def open_data_routes(engine: Engine, folder: Path, profile: Profile) -> list[tuple]:
    """The server's routes of the open data."""
    folder.mkdir(parents=True, exist_ok=True)
    catalogued = {"engine": engine, "folder": folder, "profile": profile}
    return [
        (r"/catalog\.json", CatalogHandler, catalogued),
        (r"/open-data/(.*)", DownloadHandler, {"path": str(folder)}),
    ]
