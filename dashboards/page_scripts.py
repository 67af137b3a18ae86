"""The scripts every page loads besides Bokeh's and Panel's, each from our own server.

proj4js (the cursor's D96/TM coordinates, ``dashboards.map_scale``) is installed from npm by
`make js-env` at the version of ``dashboards/js/package-lock.json``; ``accessible-names.js``
(names for the controls Bokeh draws without one) is ours, beside it. Leaflet and Swagger UI, from
the same install, are what the OGC API's pages (``dashboards.ogc``) draw their map and
document with.
"""

from __future__ import annotations

from pathlib import Path

from tornado.web import StaticFileHandler

from layers.errors import GisError

SCRIPTS = Path(__file__).parent / "js"
PROJ4_FOLDER = SCRIPTS / "node_modules" / "proj4" / "dist"
LEAFLET_FOLDER = SCRIPTS / "node_modules" / "leaflet" / "dist"
SWAGGER_FOLDER = SCRIPTS / "node_modules" / "swagger-ui-dist"
# what a page loads, by name (Panel's js_files): in this order, before Panel's own script
JS_FILES = {
    "proj4": "/vendor/proj4/proj4.js",
    "accessible_names": "/scripts/accessible-names.js",
}


def script_routes() -> list[tuple]:
    """The server's routes to the scripts, or an error saying how to install them."""
    for installed in (PROJ4_FOLDER / "proj4.js", LEAFLET_FOLDER / "leaflet.js", SWAGGER_FOLDER):
        if not installed.exists():
            raise GisError(
                f"{installed} is missing",
                f"{installed} manjka",
                "run `make js-env` (npm ci in dashboards/js)",
                "zaženite `make js-env` (npm ci v dashboards/js)",
            )
    swagger = r"/vendor/swagger-ui/(swagger-ui\.css|swagger-ui-bundle\.js|swagger-ui-standalone-preset\.js)"
    return [
        (r"/vendor/proj4/(proj4\.js)", StaticFileHandler, {"path": str(PROJ4_FOLDER)}),
        (
            r"/vendor/leaflet/(leaflet\.js|leaflet\.css|images/.+\.png)",
            StaticFileHandler,
            {"path": str(LEAFLET_FOLDER)},
        ),
        (swagger, StaticFileHandler, {"path": str(SWAGGER_FOLDER)}),
        (r"/scripts/(accessible-names\.js)", StaticFileHandler, {"path": str(SCRIPTS)}),
    ]
