"""Serve the dashboards: ``python app.py [--port 5006]``.

It reads the settings, checks the layer registry against the live database and serves each
dashboard at its route. Everything the pages need is served from here; nothing from elsewhere.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import sys

import panel as pn

from dashboards.access import auth_options, for_route, session_role
from dashboards.audit import AuditPage
from dashboards.civil_protection import CivilProtectionDashboard
from dashboards.health import HealthHandler
from dashboards.planner import PlannerDashboard
from dashboards.theme import html_pane
from dashboards.wall import wall_or_wait
from data.profiles import load_profile
from layers.checks import check_database
from layers.db import database_urls, get_engine, safe_url
from layers.errors import GisError
from layers.store import FeatureStore

log = logging.getLogger("app")


def build_routes(store: FeatureStore, profile_name: str | None, basemap_url: str | None) -> dict:
    """The routes and the function that builds each page for a new session, in its role."""
    profile = load_profile(profile_name)
    engine = store.engine
    builders = {
        "planner": lambda: page(
            PlannerDashboard, store, profile, session_role(), basemap_url=basemap_url
        ),
        "civil-protection": lambda: page(
            CivilProtectionDashboard, store, profile, session_role(), basemap_url=basemap_url
        ),
        "public": lambda: page(
            PlannerDashboard,
            store,
            profile,
            "public",
            basemap_url=basemap_url,
            title=("Javni zemljevid", "Public map"),
        ),
        "audit": lambda: page(AuditPage, engine, profile, session_role()),
        "wall": lambda: page(wall_or_wait, store, profile, session_role(), basemap_url=basemap_url),
    }
    return {route: for_route(route, build) for route, build in builders.items()}


def page(dashboard, *args, **kwargs) -> pn.viewable.Viewable:
    """A dashboard for a new session, or the error a user can act on instead of a blank page."""
    try:
        return dashboard(*args, **kwargs)
    except GisError as exc:
        log.exception("a page could not be built")
        return html_pane(f"<pre class='error-box'>{html.escape(str(exc))}</pre>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("GIS_PORT", "5006")))
    parser.add_argument("--address", default=os.environ.get("GIS_ADDRESS", "127.0.0.1"))
    parser.add_argument("--profile", default=None, help="municipality profile (GIS_PROFILE)")
    parser.add_argument(
        "--basemap-url",
        default=os.environ.get("GIS_BASEMAP_URL") or None,
        help="XYZ tile URL for an online basemap; none by default (offline)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        urls = database_urls()
        log.info("reading from %s", safe_url(urls.reader))
        engine = get_engine(urls.reader, "dashboards")
        check_database(engine)
        routes = build_routes(FeatureStore(engine), args.profile, args.basemap_url)
        access = auth_options(engine)
        access["extra_patterns"].append((r"/health", HealthHandler, {"engine": engine}))
    except GisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    origins = [f"localhost:{args.port}", f"127.0.0.1:{args.port}", f"{args.address}:{args.port}"]
    log.info("serving http://localhost:%d (/planner, /civil-protection, /wall, /public)", args.port)
    pn.serve(
        routes,
        **access,
        port=args.port,
        address=args.address,
        show=False,
        title="Občinski zemljevid",
        websocket_origin=origins,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
