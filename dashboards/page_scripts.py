"""The scripts every page loads besides Bokeh's and Panel's, each from our own server.

proj4js (the cursor's D96/TM coordinates, ``dashboards.map_scale``) is installed from npm by
`make js-env` at the version of ``dashboards/js/package-lock.json``; ``accessible-names.js``
(names for the controls Bokeh draws without one) is ours, beside it.
"""

from __future__ import annotations

from pathlib import Path

from tornado.web import StaticFileHandler

from layers.errors import GisError

SCRIPTS = Path(__file__).parent / "js"
PROJ4_FOLDER = SCRIPTS / "node_modules" / "proj4" / "dist"
# what a page loads, by name (Panel's js_files): in this order, before Panel's own script
JS_FILES = {
    "proj4": "/vendor/proj4/proj4.js",
    "accessible_names": "/scripts/accessible-names.js",
}


def script_routes() -> list[tuple]:
    """The server's routes to the scripts, or an error saying how to install proj4js."""
    if not (PROJ4_FOLDER / "proj4.js").is_file():
        raise GisError(
            f"proj4js is missing from {PROJ4_FOLDER}",
            f"proj4js manjka v {PROJ4_FOLDER}",
            "run `make js-env` (npm ci in dashboards/js)",
            "zaženite `make js-env` (npm ci v dashboards/js)",
        )
    return [
        (r"/vendor/proj4/(proj4\.js)", StaticFileHandler, {"path": str(PROJ4_FOLDER)}),
        (r"/scripts/(accessible-names\.js)", StaticFileHandler, {"path": str(SCRIPTS)}),
    ]
