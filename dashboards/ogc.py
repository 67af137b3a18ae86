"""``/ogc``: the open layers as OGC API – Features, served by pygeoapi inside our server.

pygeoapi (the OGC reference implementation) answers every request: its collections are the
layers the public may see, configured here from the registry when the server starts, so no
hand-kept configuration can drift from it. Its provider (``layers.open_api``) reads the views of
``layers.open_data`` (id, declared fields and shape) as the dashboards' read-only role, in
D96/TM, and it gives features in CRS84 or D96/TM (Part 2). Its requests run on threads of their own, never on the event loop
the dashboards' sessions share, and each address gets so many of them a minute (the setting
``GIS_OGC_REQUESTS_PER_MINUTE``).
Its HTML pages are our templates (``dashboards/templates/ogc``): they load scripts from this
server only, where pygeoapi's own load them from CDNs.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import yaml
from pygeoapi.openapi import get_oas
from sqlalchemy import Engine
from tornado.web import FallbackHandler
from tornado.wsgi import WSGIContainer
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from dashboards.headers import security_headers
from data.profiles import Profile
from layers.catalog import newest_loads
from layers.errors import GisError
from layers.open_api import (
    OpenViewProvider,
    air_quality_hours,
    open_extents,
    view_connection,
)
from layers.open_data import (
    AIR_QUALITY,
    AIR_QUALITY_SOURCE,
    AIR_QUALITY_TITLE,
    AIR_QUALITY_VIEW_NAME,
    GEOPACKAGE_TYPE,
    download_name,
    licence_document,
    open_layers,
    view_name,
)
from layers.registry import LAYERS
from layers.settings import Settings
from layers.spec import LayerSpec

log = logging.getLogger(__name__)
PREFIX = "/ogc"
TEMPLATES = Path(__file__).parent / "templates" / "ogc"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
THREADS = 4  # the API's requests at once; a fifth waits for one of them
ITEMS_DEFAULT, ITEMS_MAX = 100, 10_000
ADDRESSES_KEPT = 10_000  # the addresses whose requests are counted, at most, before pruning


def pygeoapi_config(
    engine: Engine, reader_url: str, base_url: str, profile: Profile, basemap_url: str | None
) -> dict:
    """pygeoapi's configuration: the server at ``base_url`` + ``/ogc``, a collection per open
    layer read through ``reader_url``.
    """
    loads, extents = newest_loads(engine), open_extents(engine)
    connection = view_connection(engine, reader_url)
    layers = {
        spec.id: _layer_collection(spec, loads.get(spec.loaded_as), extents, connection, base_url)
        for spec in open_layers()
    }
    air = _air_quality_collection(
        loads.get(LAYERS[AIR_QUALITY_SOURCE].loaded_as),
        extents,
        air_quality_hours(engine),
        connection,
        base_url,
    )
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 0},  # ours binds; pygeoapi does not
            "url": f"{base_url}{PREFIX}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["sl", "en"],
            "limits": {"default_items": ITEMS_DEFAULT, "max_items": ITEMS_MAX},
            "map": {"url": basemap_url or "", "attribution": ""},
            "templates": {"path": str(TEMPLATES), "static": str(TEMPLATES / "static")},
        },
        "logging": {"level": "WARNING"},
        "metadata": _metadata(profile, base_url),
        "resources": {**layers, AIR_QUALITY: air},
    }


def _json(description: str, schema: dict, kind: str = "application/json") -> dict:
    return {"description": description, "content": {kind: {"schema": schema}}}


EXCEPTION = {  # OGC API's exception, as pygeoapi and ApiGate give it
    "type": "object",
    "required": ["code"],
    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
}
LINK = {
    "type": "object",
    "required": ["href"],
    "properties": {n: {"type": "string"} for n in ("href", "rel", "type", "title", "hreflang")},
}
FEATURES = {"type": "object", "required": ["type", "features"]}
# The parts of the OGC standards pygeoapi's OpenAPI document names by their web address: the
# document is whole without them, for a client with no internet as for one with it.
STANDARD_PARTS = {
    "ogcapi-features-1.yaml#/components/responses/InvalidParameter": (
        "responses",
        _json("A query parameter has an invalid value.", EXCEPTION),
    ),
    "ogcapi-features-1.yaml#/components/responses/ServerError": (
        "responses",
        _json("A server error occurred.", EXCEPTION),
    ),
    "ogcapi-features-1.yaml#/components/responses/NotFound": (
        "responses",
        _json("The requested resource does not exist on the server.", EXCEPTION),
    ),
    "responses/NotFound.yaml": ("responses", _json("The resource does not exist.", EXCEPTION)),
    "ogcapi-features-1.yaml#/components/responses/Features": (
        "responses",
        _json("The features of the collection.", FEATURES, "application/geo+json"),
    ),
    "ogcapi-features-1.yaml#/components/responses/Feature": (
        "responses",
        _json("One feature.", {"type": "object", "required": ["type"]}, "application/geo+json"),
    ),
    "ogcapi-features-1.yaml#/components/responses/Collection": (
        "responses",
        _json("A collection's description.", {"type": "object", "required": ["id", "links"]}),
    ),
    "ogcapi-features-1.yaml#/components/responses/LandingPage": (
        "responses",
        _json("The landing page.", {"type": "object", "required": ["links"]}),
    ),
    "ogcapi-features-1.yaml#/components/parameters/featureId": (
        "parameters",
        {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
    ),
    "ogcapi-features-1.yaml#/components/parameters/datetime": (
        "parameters",
        {  # an instant or an interval, RFC 3339, ".." for an open end
            "name": "datetime",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "string"},
        },
    ),
    "parameters/sortby.yaml": (
        "parameters",
        {
            "name": "sortby",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": {"type": "string"}},
        },
    ),
    "ogcapi-tiles-1.yaml#/components/schemas/link": ("schemas", LINK),
    "schemas/exception.yaml": ("schemas", EXCEPTION),
}


def self_contained(document: dict) -> dict:
    """The OpenAPI document with each part of a standard it names by address put in it."""
    added: dict[str, dict] = {}

    def local(node):
        if isinstance(node, list):
            return [local(n) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if not ref.startswith("http"):
            return {k: local(v) for k, v in node.items()}
        part = next((p for p in STANDARD_PARTS if ref.endswith(p)), None)
        if part is None:  # a pygeoapi that names more of the standards: say which to add
            raise GisError(
                f"the OpenAPI document names {ref}, which dashboards.ogc has no copy of",
                f"dokument OpenAPI navaja {ref}, ki ga dashboards.ogc nima",
                "add it to STANDARD_PARTS in dashboards/ogc.py",
                "dodajte ga v STANDARD_PARTS v dashboards/ogc.py",
            )
        kind, definition = STANDARD_PARTS[part]
        name = "ogc-" + part.rsplit("/", 1)[-1].removesuffix(".yaml")
        added.setdefault(kind, {})[name] = definition
        return {"$ref": f"#/components/{kind}/{name}"}

    whole = local(document)
    for kind, parts in added.items():
        whole.setdefault("components", {}).setdefault(kind, {}).update(parts)
    return whole


def _metadata(profile: Profile, base_url: str) -> dict:
    return {
        "identification": {
            "title": {
                "sl": f"Odprti prostorski podatki: {profile.name}",
                "en": f"Open spatial data: {profile.name_en}",
            },
            "description": {
                "sl": "Sloji občinskega zemljevida, ki jih sme videti vsakdo (OGC API – Features).",
                "en": "The municipal map's layers anyone may see (OGC API – Features).",
            },
            "keywords": {"sl": ["odprti podatki", "prostorski podatki"], "en": ["open data"]},
            "url": f"{base_url}/open-data/",
            "terms_of_service": f"{base_url}/open-data/",  # each layer's licence is listed there
        },
        "license": {"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
        "provider": {"name": profile.name, "url": base_url},
        "contact": {"name": profile.name, "url": base_url},
    }


def _layer_collection(
    spec: LayerSpec, load: dict | None, extents: dict, connection: dict, base_url: str
) -> dict:
    download = {  # not "enclosure", for which pygeoapi would ask our own server each file's size
        "type": GEOPACKAGE_TYPE,
        "rel": "alternate",
        "title": "GeoPackage",
        "href": f"{base_url}/open-data/{download_name(spec)}",
    }
    provider = {
        "table": view_name(spec),
        "id_field": spec.id_column,
        "geom_field": spec.geometry_column,
        "title_field": spec.label_field,
        "storage_crs": EPSG.format(spec.srid),
        "crs": [CRS84, EPSG.format(spec.srid)],
    }
    titles = {"sl": spec.title_sl, "en": spec.title_en}
    links = [download, *_licence_links(load, base_url)]
    return _collection(spec.id, titles, links, extents[view_name(spec)], connection, provider)


def _air_quality_collection(
    load: dict | None, extents: dict, hours: list, connection: dict, base_url: str
) -> dict:
    srid = LAYERS[AIR_QUALITY_SOURCE].srid
    provider = {
        "table": AIR_QUALITY_VIEW_NAME,
        "id_field": "id",
        "geom_field": "geom",
        "title_field": "station",
        "time_field": "hour_start",  # datetime= selects hours
        "storage_crs": EPSG.format(srid),
        "crs": [CRS84, EPSG.format(srid)],
    }
    titles = dict(zip(("sl", "en"), AIR_QUALITY_TITLE, strict=True))
    links = _licence_links(load, base_url)
    collection = _collection(
        AIR_QUALITY, titles, links, extents[AIR_QUALITY_VIEW_NAME], connection, provider
    )
    collection["extents"]["temporal"] = {"begin": hours[0], "end": hours[1]}
    return collection


def _licence_links(load: dict | None, base_url: str) -> list[dict]:
    licence = load and load["licence"]
    if not licence:
        return []
    href = licence_document(licence).get("@id", f"{base_url}/open-data/")
    return [{"type": "text/html", "rel": "license", "title": licence, "href": href}]


def _collection(
    key: str, titles: dict, links: list, extent: list, connection: dict, provider: dict
) -> dict:
    return {
        "type": "collection",
        "title": titles,
        "description": titles,
        "keywords": [key],
        "links": links,
        "extents": {"spatial": {"bbox": extent, "crs": CRS84}},
        "providers": [
            {
                "type": "feature",
                "name": f"{OpenViewProvider.__module__}.{OpenViewProvider.__name__}",
                "data": connection,
                **provider,
            }
        ],
    }


def exception(code: str, description: str) -> dict:
    """An error as OGC API's JSON exception, the form pygeoapi gives its own in."""
    return {"code": code, "description": description}


def unexpected(error: Exception) -> tuple[dict, int]:
    """What a client gets of an error pygeoapi leaves to Flask: its kind, never a trace."""
    if isinstance(error, HTTPException):  # a path or method the API has not
        return exception(error.name.replace(" ", ""), error.description), error.code
    log.error("the OGC API failed", exc_info=error)
    return exception("ServerError", "the server failed; it is logged / napaka strežnika"), 500


class ApiGate(FallbackHandler):
    """What reaches pygeoapi: ``per_minute`` requests a minute from each address (more get
    429), and no ``sortby`` with an empty term, on which pygeoapi 0.21 fails (a 400 instead).
    """

    seen: ClassVar[dict[str, deque]] = defaultdict(deque)  # each address's of the last minute

    def initialize(self, fallback: WSGIContainer, per_minute: int) -> None:
        super().initialize(fallback)
        self.per_minute = per_minute

    def prepare(self) -> None:
        if self.too_often():
            self.refuse(
                429,
                "TooManyRequests",
                f"more than {self.per_minute} requests a minute from one address:"
                " wait as Retry-After says / preveč zahtev z enega naslova: počakajte",
            )
        elif not all(t.lstrip("+-") for t in self.get_query_argument("sortby", "x").split(",")):
            self.refuse(
                400,
                "InvalidParameterValue",
                "sortby: a field in each comma-separated term / sortby: polje v vsakem členu",
            )
        else:
            super().prepare()

    def too_often(self) -> bool:
        now = time.monotonic()
        if len(self.seen) > ADDRESSES_KEPT:  # forget the addresses quiet for a minute
            for address in [a for a, t in self.seen.items() if now - t[-1] > 60]:
                del self.seen[address]
        times = self.seen[self.request.remote_ip]
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= self.per_minute:
            self.set_header("Retry-After", str(int(61 - (now - times[0]))))
            return True
        times.append(now)
        return False

    def refuse(self, status: int, code: str, description: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(exception(code, description))


def with_headers(app, headers: dict[str, str]):
    """``app`` answering with ``headers`` too: the server's security headers, which Tornado's
    output transforms do not add to what a WSGI app writes; and without pygeoapi's version.
    """
    names = {name.lower() for name in headers} | {"x-powered-by"}

    def answered(environ, start_response):
        def started(status, own, *rest):
            kept = [(n, v) for n, v in own if n.lower() not in names]
            return start_response(status, kept + list(headers.items()), *rest)

        return app(environ, started)

    return answered


def ogc_routes(
    engine: Engine, reader_url: str, settings: Settings, profile: Profile
) -> list[tuple]:
    """The server's route to the API, pygeoapi configured for the layers open now."""
    base_url = settings.public_url or f"http://localhost:{settings.port}"
    config = pygeoapi_config(engine, reader_url, base_url, profile, settings.basemap_url)
    folder = Path(tempfile.mkdtemp(prefix="ogc-"))  # private to this user: it holds a password
    # YAML, as pygeoapi's own configuration is: its times are read as times, not text
    (folder / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (folder / "openapi.json").write_text(
        json.dumps(self_contained(get_oas(config))), encoding="utf-8"
    )
    # pygeoapi's Flask app reads both files, named by these variables, when it is imported
    os.environ["PYGEOAPI_CONFIG"] = str(folder / "config.yml")
    os.environ["PYGEOAPI_OPENAPI"] = str(folder / "openapi.json")
    flask_app = importlib.import_module("pygeoapi.flask_app")
    shutil.rmtree(folder)  # read once, at the import
    flask_app.APP.register_error_handler(Exception, unexpected)
    mounted = DispatcherMiddleware(NotFound(), {PREFIX: flask_app.APP})  # its links say /ogc
    mounted = with_headers(mounted, security_headers(settings))
    container = WSGIContainer(mounted, executor=ThreadPoolExecutor(THREADS, "ogc"))
    limit = {"fallback": container, "per_minute": settings.ogc_requests_per_minute}
    return [(rf"{PREFIX}(/.*)?", ApiGate, limit)]
