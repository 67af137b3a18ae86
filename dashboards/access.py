"""Who may open what: roles, routes and the audit trail of a session. Enforced on the server.

Sign-in is Panel's own authentication (``dashboards.signin``). A municipality configures its
OpenID Connect provider (Keycloak, Azure AD, SI-PASS through a broker) with Panel's environment
variables, so two-factor sign-in is the provider's, and maps the provider's groups to roles with
``GIS_OIDC_ROLES``. Without one, people sign in against the local users file
(``dashboards/users.py``).

A route is served only to the roles ``ROUTE_ROLES`` names, at each of its three doors: the page
over HTTP (others get 403), the websocket's handshake (refused unless the connection's own cookie
may open that route), and the making of a Bokeh session (refused unless the identity the session
token carries may). A token taken from one page therefore never opens another page's document.
Inside a page, every layer query, report and export checks the session's role again
(``layers.queries.check_access``), so nothing a role may not see is ever read for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import panel as pn
import tornado.web
from sqlalchemy import Engine
from tornado.websocket import WebSocketHandler

from dashboards.theme import html_pane
from dashboards.users import load_users
from layers.audit import record_event
from layers.roles import ROLES
from layers.settings import Settings

log = logging.getLogger(__name__)

ROUTE_ROLES = {
    "planner": frozenset({"planner", "admin"}),
    "civil-protection": frozenset({"civil_protection", "admin"}),
    "audit": frozenset({"admin"}),
    "wall": frozenset({"mayor_office", "admin"}),
    "public": frozenset(ROLES),
}
GUEST_ROUTES = ("/public",)
HOME = {
    "admin": "/planner",
    "planner": "/planner",
    "civil_protection": "/civil-protection",
    "mayor_office": "/wall",
    "public": "/public",
}
ROLE_PRIORITY = ("admin", "civil_protection", "planner", "mayor_office")  # one role per person


def parse_role_map(text_map: str) -> dict[str, str]:
    """``"gis-planners=planner, gis-cz=civil_protection"`` → ``{group: role}``."""
    pairs = [item.split("=", 1) for item in text_map.split(",") if "=" in item]
    return {group.strip(): role.strip() for group, role in pairs if role.strip() in ROLES}


def role_from_groups(groups: object, role_map: dict[str, str]) -> str:
    """The most privileged role any of the person's groups maps to; none: public."""
    names = [groups] if isinstance(groups, str) else list(groups or [])
    granted = {role_map[g] for g in names if g in role_map}
    return next((r for r in ROLE_PRIORITY if r in granted), "public")


def may_open(role: str, path: str) -> bool:
    """May ``role`` open the route ``path`` belongs to (``/planner``, ``/planner/ws``, ...)?"""
    allowed = ROUTE_ROLES.get(path.strip("/").split("/")[0])
    return allowed is None or role in allowed


def session_address() -> str:
    request = pn.state.curdoc.session_context.request if pn.state.curdoc else None
    return getattr(request, "remote_ip", "") or ""


class Access:
    """The server's rules of access, from its settings; one per server, passed to what needs it."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self._role_map = parse_role_map(settings.oidc_roles)

    def role_of(self, user: str | None, user_info: dict | None) -> str:
        """The role of a signed-in user (from the provider's groups or the users file)."""
        if not user or user == "guest":
            return "public"
        if self.settings.oidc_provider:
            claim = (user_info or {}).get(self.settings.oidc_groups_claim)
            return role_from_groups(claim, self._role_map)
        found = load_users(self.settings.users_file).get(user)
        return found.role if found else "public"

    def session_role(self) -> str:
        """The role of the session being served."""
        return self.role_of(pn.state.user, pn.state.user_info)

    def authorize(self, user_info: dict | None, path: str) -> bool:
        """Panel's authorize callback: may this session open ``path``?"""
        return may_open(self.session_role(), path)

    def refuse_websocket(self, handler: tornado.web.RequestHandler, user: str, role: str) -> bool:
        """True (and logged) when a websocket is opened on a route its connection's role may
        not open.

        Panel checks routes only for the page over HTTP; the websocket beside it must be checked
        too, or a session token taken from a page one may open would be replayed on another
        route's socket.
        """
        if not isinstance(handler, WebSocketHandler) or may_open(role, handler.request.path):
            return False
        log.warning("refused the websocket %s to %s (%s)", handler.request.path, user, role)
        return True

    def for_route(self, route: str, build: Callable[[], pn.viewable.Viewable]):
        """The page builder of ``route``, which builds nothing for a session whose role may not
        open it.

        A Bokeh session is made when a websocket presents a token for a session the route does
        not have yet, whoever's page the token came from: this is the door behind the
        handshake's, checked with the identity the token carries.
        """

        def build_if_allowed() -> pn.viewable.Viewable:
            role = self.session_role()
            if role in ROUTE_ROLES[route]:
                return build()
            log.warning("refused a session of /%s to %s (%s)", route, pn.state.user, role)
            return html_pane(
                "<p class='error-box'>Ni dostopa do te strani. · No access to this page.</p>"
            )

        return build_if_allowed

    def record_session(self, action: str, detail: str) -> None:
        """Record an action of the session being served (an export, a report download)."""
        user = pn.state.user
        role = self.role_of(user, pn.state.user_info)
        record_event(self.engine, action, user, role, detail, session_address())
