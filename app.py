"""Serve the dashboards: ``python app.py [--port 5006]``.

It reads the settings once, checks the layer registry against the live database and serves each
dashboard at its route, every page reading through the one engine and feature store made here.
Everything the pages need is served from here; nothing from elsewhere.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

# The server runs on jemalloc, for Python's small objects too: a closed page's memory then goes
# back to the system. Python's own allocator keeps each megabyte it took for as long as one
# object in it lives, and a page leaves a few long-lived ones behind; glibc's, after a busy
# minute, keeps what it freed. Fifty planners' pages opened and closed left 250-270 MiB behind
# under Python's, 110-140 MiB under glibc's, 35 MiB under jemalloc returning what it has not
# used for a second.
ALLOCATOR = {
    "PYTHONMALLOC": "malloc",
    "LD_PRELOAD": "libjemalloc.so.2",
    "MALLOC_CONF": "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0",
}
if __name__ == "__main__" and os.environ.get("PYTHONMALLOC") != "malloc":
    if ctypes.util.find_library("jemalloc"):
        os.execve(sys.executable, sys.orig_argv, {**os.environ, **ALLOCATOR})
    print(
        "warning: libjemalloc2 is missing (scripts/system-packages.sh jemalloc): the memory of"
        " closed pages is given back less well",
        file=sys.stderr,
    )

import argparse
import dataclasses
import html
import logging

import panel as pn
from bokeh.settings import settings as bokeh_settings

from dashboards.access import Access
from dashboards.audit import AuditPage
from dashboards.civil_protection import CivilProtectionDashboard
from dashboards.footprints import warm_up
from dashboards.headers import header_transform
from dashboards.health import HealthHandler, LoopWatch
from dashboards.memory import freeze_startup_heap, release_memory
from dashboards.ogc import ogc_routes
from dashboards.open_data import open_data_routes
from dashboards.outage import log_exception
from dashboards.page_scripts import JS_FILES, script_routes
from dashboards.pages import applications, send_documents_off_loop
from dashboards.planner import PlannerDashboard
from dashboards.signin import auth_options
from dashboards.theme import html_pane
from dashboards.vector import read_overviews
from dashboards.wall import wall_or_wait
from data.profiles import load_profile
from layers.checks import check_database
from layers.db import database_urls, get_engine, safe_url
from layers.errors import GisError
from layers.settings import Settings, read_settings
from layers.store import FeatureStore

SWITCH_SECONDS = 0.001
log = logging.getLogger("app")


def build_routes(store: FeatureStore, access: Access, settings: Settings) -> dict:
    """The routes and the function that builds each page for a new session, in its role."""
    profile = load_profile(settings.profile)
    basemap, role = settings.basemap_url, access.session_role
    builders = {
        "planner": lambda: page(
            PlannerDashboard,
            store,
            profile,
            role(),
            basemap_url=basemap,
            audit=access.record_session,
        ),
        "civil-protection": lambda: page(
            CivilProtectionDashboard,
            store,
            profile,
            role(),
            basemap_url=basemap,
            audit=access.record_session,
        ),
        "public": lambda: page(
            PlannerDashboard,
            store,
            profile,
            "public",
            basemap_url=basemap,
            title=("Javni zemljevid", "Public map"),
        ),
        "audit": lambda: page(AuditPage, store.engine, profile, access.session_token()),
        "wall": lambda: page(
            wall_or_wait, store, profile, role(), basemap_url=basemap, settings=settings
        ),
    }
    return {route: access.for_route(route, build) for route, build in builders.items()}


def page(dashboard, *args, **kwargs) -> pn.viewable.Viewable:
    """A dashboard for a new session, or the error a user can act on instead of a blank page."""
    try:
        return dashboard(*args, **kwargs)
    except GisError as exc:
        log.exception("a page could not be built")
        return html_pane(f"<pre class='error-box'>{html.escape(str(exc))}</pre>")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = read_settings()
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--port", type=int, default=settings.port)
        parser.add_argument("--address", default=settings.address)
        parser.add_argument("--profile", default=settings.profile, help="(GIS_PROFILE)")
        parser.add_argument(
            "--basemap-url",
            default=settings.basemap_url,
            help="XYZ tile URL for an online basemap; none by default (offline)",
        )
        args = parser.parse_args(argv)
        settings = dataclasses.replace(
            settings,
            port=args.port,
            address=args.address,
            profile=args.profile,
            basemap_url=args.basemap_url,
        )
        urls = database_urls()
        log.info("reading from %s", safe_url(urls.reader))
        engine = get_engine(urls.reader, "dashboards")
        check_database(engine)
        access = Access(settings, engine)
        store = FeatureStore(engine)
        routes = build_routes(store, access, settings)
        options = auth_options(access)
        pn.config.exception_handler = log_exception  # no error text to any browser
        pn.state.on_session_destroyed(release_memory)
        # Bokeh's check of each new page's layout (a tenth of a second of the event loop per
        # page) finds mistakes of the code, the same in every page: checking once is enough
        bokeh_settings.perform_document_validation.set_value(False)
        warm_up()
        read_overviews(store)
        watch = LoopWatch()
        options["extra_patterns"] += [
            (r"/health", HealthHandler, {"engine": engine, "watch": watch}),
            *open_data_routes(
                engine, settings.open_data_dir, load_profile(settings.profile), settings
            ),
            *ogc_routes(engine, urls.reader, settings, load_profile(settings.profile)),
            *script_routes(),
        ]
        pn.config.js_files = JS_FILES
        # every page loads Tabulator's scripts: the table below the map is made only when a
        # person opens it, after the page has loaded what its first models needed
        pn.extension("tabulator")
    except GisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    port = settings.port
    origins = [f"localhost:{port}", f"127.0.0.1:{port}", f"{settings.address}:{port}"]
    log.info("serving http://localhost:%d (/planner, /civil-protection, /wall, /public)", port)
    server = pn.serve(
        applications(routes, title="Občinski zemljevid"),
        **options,
        port=port,
        address=settings.address,
        show=False,
        websocket_origin=origins,
        transforms=[header_transform(settings)],
        # deflate at its fastest: a planner's first document of 1.8 MB goes as 0.12 MB, for 5 ms
        websocket_compression_level=1,
        start=False,
    )
    server.io_loop.add_callback(watch.start)
    freeze_startup_heap()
    send_documents_off_loop()
    # The event loop waits for the interpreter's lock behind the threads building pages, up to
    # the switch interval at each hand-over, and a request takes a dozen: at Python's 5 ms,
    # /health took 160 ms while five pages were built; at 1 ms, 30 ms.
    sys.setswitchinterval(SWITCH_SECONDS)
    server.start()
    server.io_loop.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
