"""The planner's dashboard at ``/planner``: every layer the role may see, on one map."""

from __future__ import annotations

import html

import panel as pn
from sqlalchemy import Engine

from dashboards.map import LayerMap
from dashboards.theme import html_pane
from data.profiles import Profile
from layers.errors import ConfigurationError
from layers.queries import layer_extent
from layers.registry import layer, visible_to


def municipality_extent(engine: Engine) -> tuple[float, float, float, float]:
    """The municipality's extent in EPSG:3857; an empty database is an error that says so."""
    extent = layer_extent(engine, layer("municipality"))
    if extent is None:
        raise ConfigurationError(
            "the database holds no municipality boundary",
            "v bazi ni meje občine",
            "load a profile: `python -m etl load-profile`",
            "naložite profil: `python -m etl load-profile`",
        )
    return extent


def header(title_sl: str, title_en: str, profile: Profile) -> pn.pane.HTML:
    return html_pane(
        f"<div class='app-header'><h1>{html.escape(title_sl)} · {html.escape(title_en)}</h1>"
        f"<div class='sub'>{html.escape(profile.name)} · {html.escape(profile.name_en)}</div></div>",
        sizing_mode="stretch_width",
        margin=0,
    )


class PlannerDashboard(pn.viewable.Viewer):
    """Layers to toggle, restyle and inspect, for the planners of one municipality."""

    def __init__(
        self,
        engine: Engine,
        profile: Profile,
        role: str = "planner",
        basemap_url: str | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.profile = profile
        self.map = LayerMap(
            engine, visible_to(role), role, municipality_extent(engine), basemap_url
        )

    def __panel__(self) -> pn.viewable.Viewable:
        sidebar = pn.Column(
            html_pane("<div class='panel-title'>Sloji · Layers</div>"),
            self.map.layer_list(),
            width=300,
            sizing_mode="stretch_height",
        )
        details = pn.Column(
            html_pane("<div class='panel-title'>Podrobnosti · Details</div>"),
            self.map.details_pane,
            width=320,
            sizing_mode="stretch_height",
        )
        body = pn.Row(sidebar, self.map, details, sizing_mode="stretch_both")
        return pn.Column(
            header("Prostorski pregledovalnik", "Planner's map", self.profile),
            body,
            sizing_mode="stretch_both",
            margin=0,
        )
