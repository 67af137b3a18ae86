"""The planner's dashboard at ``/planner``: every layer the role may see, on one map."""

from __future__ import annotations

import html
from collections.abc import Callable

import panel as pn
from sqlalchemy import Engine

from dashboards.alerts import AlertList
from dashboards.feature_table import FeatureTable
from dashboards.history import SensorHistory, readings_at
from dashboards.map import MAP_HEIGHT_PX, LayerMap
from dashboards.map_scale import add_cursor_position
from dashboards.measure import Measure
from dashboards.permalink import Permalink
from dashboards.search import SearchBox
from dashboards.theme import columns_row, html_pane, page_column
from dashboards.view_pdf import PrintPanel
from data.profiles import Profile
from layers.errors import ConfigurationError
from layers.queries import layer_extent
from layers.registry import layer_for, visible_to
from layers.store import FeatureStore


def municipality_extent(engine: Engine) -> tuple[float, float, float, float]:
    """The municipality's extent in EPSG:3857; an empty database is an error that says so."""
    extent = layer_extent(engine, layer_for("boundary"))
    if extent is None:
        raise ConfigurationError(
            "the database holds no municipality boundary",
            "v bazi ni meje občine",
            "load a profile: `python -m etl load-profile`",
            "naložite profil: `python -m etl load-profile`",
        )
    return extent


def header(title_sl: str, title_en: str, profile: Profile, role: str) -> pn.pane.HTML:
    """The page's title, the municipality, and who is signed in (or a way to sign in)."""
    user = pn.state.user
    if user and user != "guest":
        who = f"{html.escape(user)} ({html.escape(role)}) · <a href='/logout'>Odjava · Sign out</a>"
    else:
        who = "<a href='/login'>Prijava · Sign in</a>"
    who = f"<a href='/open-data/'>Odprti podatki · Open data</a> · {who}"
    return html_pane(
        f"<div class='app-header'><div class='who'>{who}</div>"
        f"<h1>{html.escape(title_sl)} · {html.escape(title_en)}</h1>"
        f"<div class='sub'>{html.escape(profile.name)} · {html.escape(profile.name_en)}</div></div>",
        sizing_mode="stretch_width",
        margin=0,
    )


def link_arguments() -> dict[str, str]:
    """The query string the page was opened with, each name's first value as text."""
    return {
        name: values[0].decode("utf-8", "replace")
        for name, values in (pn.state.session_args or {}).items()
        if values
    }


class PlannerDashboard(pn.viewable.Viewer):
    """Layers to toggle, restyle and inspect: every layer ``role`` may see, and nothing else.

    The same page serves the public at ``/public``, where the role sees only the open layers.
    ``audit`` records each export (``Access.record_session`` on the server; the public's
    exports of open data have no one to record).
    """

    def __init__(
        self,
        store: FeatureStore,
        profile: Profile,
        role: str = "planner",
        basemap_url: str | None = None,
        title: tuple[str, str] = ("Prostorski pregledovalnik", "Planner's map"),
        audit: Callable[[str, str], None] | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.profile, self.role, self.title = profile, role, title
        self.map = LayerMap(
            store, visible_to(role), role, municipality_extent(store.engine), basemap_url,
            height=MAP_HEIGHT_PX,
        )  # fmt: skip
        self.search = SearchBox(self.map, role)
        # the alerts concern the sensors: for whoever may see their readings
        sees_readings = any(spec.dense for spec in visible_to(role))
        self.alerts = AlertList(self.map) if sees_readings else None
        self.measure = Measure(self.map.figure)
        self.table = FeatureTable(self.map, role, audit)
        self.print = PrintPanel(self.map, role, f"{profile.name} · {profile.name_en}")
        add_cursor_position(self.map.figure)
        self.link = Permalink(self.map, link_arguments())
        self.store = store
        self.history = pn.Column(sizing_mode="stretch_width", css_classes=["sensor-history"])
        self.map.param.watch(self._show_history, "details")

    def _show_history(self, event) -> None:
        """Below a clicked sensor's details, its readings over time (when the role sees them)."""
        found = event.new
        readings = found and readings_at(found["spec"], self.role)
        self.history.objects = (
            [SensorHistory(self.store.readings(readings), found["spec"], found["attributes"])]
            if readings
            else []
        )

    def __panel__(self) -> pn.viewable.Viewable:
        sidebar = pn.Column(
            self.search,
            *([self.alerts] if self.alerts else []),
            self.link,
            self.measure,
            self.print,
            pn.Card(
                self.map.layer_list(),
                title="Sloji · Layers",
                sizing_mode="stretch_width",
                css_classes=["layer-list"],
            ),
            width=300,
            sizing_mode="stretch_height",
            css_classes=["side-panel"],
        )
        details = pn.Column(
            html_pane("<div class='panel-title'>Podrobnosti · Details</div>"),
            self.map.details_pane,
            self.history,
            width=320,
            sizing_mode="stretch_height",
            scroll=True,
            css_classes=["details-column"],
        )
        centre = pn.Column(
            self.map, self.table, sizing_mode="stretch_both", margin=0, css_classes=["map-column"]
        )
        body = columns_row(sidebar, centre, details)
        return page_column(header(*self.title, self.profile, self.role), body)
