"""``/audit`` for admins: the audit trail, the sessions signed in now (each of which an admin may
end), and the accounts and addresses that sign-in limits hold back."""

from __future__ import annotations

import pandas as pd
import panel as pn
from sqlalchemy import Engine

from dashboards.planner import header
from dashboards.theme import html_pane
from data.profiles import Profile
from layers.audit import end_session, live_sessions, recent_events, sign_in_limits
from layers.sessions import session_identity

COLUMNS = {
    "at": "Čas · Time",
    "username": "Uporabnik · User",
    "role": "Vloga · Role",
    "action": "Dejanje · Action",
    "detail": "Podrobnosti · Detail",
    "address": "Naslov · Address",
    "id": "Seja · Session",
    "kind": "Vrsta · Kind",
    "started_at": "Od · Since",
    "seen_at": "Nazadnje · Last seen",
    "expires_at": "Poteče · Expires",
    "subject": "Račun ali naslov · Account or address",
    "failures": "Neuspeli poskusi · Failures",
    "first_at": "Prvi · First",
    "next_try": "Naslednji poskus · Next try",
    "locked_until": "Zaklenjeno do · Locked until",
}


def table_html(frame: pd.DataFrame, empty: str) -> str:
    if frame.empty:
        return f"<p>{empty}</p>"
    return frame.rename(columns=COLUMNS).to_html(
        index=False, escape=True, classes="report report-text", border=0, na_rep=""
    )


def section(title: str) -> pn.viewable.Viewable:
    return html_pane(f"<div class='panel-title'>{title}</div>")


class AuditPage(pn.viewable.Viewer):
    """What an admin's session (of ``token``) sees; any other session is refused by the database."""

    def __init__(self, engine: Engine, profile: Profile, token: str, **params) -> None:
        super().__init__(**params)
        self.engine, self.profile, self.token = engine, profile, token
        self.own_session = session_identity(engine, token)
        self.events_pane = html_pane("", sizing_mode="stretch_width")
        self.sessions_pane = html_pane("", sizing_mode="stretch_width")
        self.limits_pane = html_pane("", sizing_mode="stretch_width")
        self.to_end = pn.widgets.Select(label="Seja · Session", width=420)
        self.end_button = pn.widgets.Button(
            label="Končaj sejo · End the session", color="danger", align="end"
        )
        self.end_button.on_click(self.end_chosen)
        self.refresh()  # the database refuses any session but an admin's

    def refresh(self) -> None:
        self.events = recent_events(self.engine, self.token)
        self.sessions = live_sessions(self.engine, self.token)
        self.limits = sign_in_limits(self.engine, self.token)
        others = self.sessions[self.sessions["id"] != self.own_session.session_id]
        self.to_end.options = {
            f"#{row.id} {row.username} · {row.role} · {row.address} · {row.started_at}": int(row.id)
            for row in others.itertuples()
        }
        if self.to_end.value not in self.to_end.options.values():
            self.to_end.value = next(iter(self.to_end.options.values()), None)
        self.end_button.disabled = others.empty
        self.events_pane.object = table_html(self.events, "Ni dogodkov. · No events.")
        self.sessions_pane.object = table_html(self.sessions, "Ni sej. · No sessions.")
        self.limits_pane.object = table_html(self.limits, "Nihče ni omejen. · No one is held back.")

    def end_chosen(self, _event: object = None) -> None:
        if self.to_end.value is not None:
            end_session(self.engine, self.token, self.to_end.value)
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            header("Revizijska sled", "Audit trail", self.profile, "admin"),
            section("Prijavljeni zdaj · Signed in now"),
            self.sessions_pane,
            pn.Row(self.to_end, self.end_button),
            section("Omejitve prijave · Sign-in limits"),
            self.limits_pane,
            section("Dogodki · Events"),
            self.events_pane,
            sizing_mode="stretch_both",
            margin=0,
            scroll=True,
        )
