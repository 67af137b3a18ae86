"""The audit trail for admins at ``/audit``: the newest sign-ins, failures and exports."""

from __future__ import annotations

import panel as pn
from sqlalchemy import Engine

from dashboards.planner import header
from dashboards.theme import html_pane
from data.profiles import Profile
from layers.audit import recent_events


class AuditPage(pn.viewable.Viewer):
    def __init__(self, engine: Engine, profile: Profile, role: str, **params) -> None:
        super().__init__(**params)
        self.profile, self.role = profile, role
        self.events = recent_events(engine, role)  # refuses any role but admin

    def __panel__(self) -> pn.viewable.Viewable:
        table = html_pane(
            self.events.to_html(index=False, escape=True, classes="report", border=0),
            sizing_mode="stretch_width",
        )
        return pn.Column(
            header("Revizijska sled", "Audit trail", self.profile, self.role),
            table,
            sizing_mode="stretch_both",
            margin=0,
        )
