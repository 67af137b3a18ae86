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

Who a request or a page session is comes from its session on the server (``layers.sessions``),
found by the token in the signed ``session`` cookie: signing out, an admin, a changed role or a
removed account ends it, and every copy of the cookie with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import panel as pn
import tornado.web
from sqlalchemy import Engine
from tornado.websocket import WebSocketHandler

from dashboards.theme import html_pane, page_column
from dashboards.users import load_users
from layers.audit import record_action
from layers.db import DATABASE_ERRORS
from layers.roles import ROLES
from layers.sessions import Identity, close_session, session_identity
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
SESSION_COOKIE = "session"
DEVICE_DAYS = 365  # a wall display's sign-in; a person's lasts GIS_SESSION_HOURS
# How long a process trusts what it last read of a session. Within the process an ended session
# is forgotten at once; another process of the same site sees the end within this time.
IDENTITY_SECONDS = 5.0
SESSION_CHECK_SECONDS = 10.0  # how soon an open page sees that its session has ended
UNVERIFIED_CHECK_SECONDS = 2.0  # ... and one opened while the database was away
SESSION_ENDED = (
    "<p class='error-box'>Seja je končana. <a href='/login?next=/{route}'>Prijavite se znova</a>."
    " · Your session has ended. <a href='/login?next=/{route}'>Sign in again</a>.</p>"
)


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


def role_of(found: Identity | None) -> str:
    """The role of a live session, and public without one."""
    return found.role if found else "public"


def decode_cookie(
    name: str, raw: str | bytes | None, max_age_days: float = DEVICE_DAYS
) -> str | None:
    """The value of a cookie the server signed, or None when it is missing, forged or too old."""
    value = raw and tornado.web.decode_signed_value(
        pn.config.cookie_secret, name, raw, max_age_days=max_age_days
    )
    return value.decode("utf-8") if value else None


def off_loop(function: Callable, *args: object) -> asyncio.Future:
    """``function(*args)`` on a worker thread, awaited: the event loop serves others meanwhile."""
    return asyncio.get_running_loop().run_in_executor(None, function, *args)


class Access:
    """The server's rules of access, from its settings; one per server, passed to what needs it."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self._role_map = parse_role_map(settings.oidc_roles)
        self._identities: dict[str, tuple[float, Identity | None]] = {}

    def provider_role(self, claims: dict) -> str:
        """The role the provider's groups in an ID token's ``claims`` give (none: public)."""
        return role_from_groups(claims.get(self.settings.oidc_groups_claim), self._role_map)

    def identity(self, token: str | None, named: str | None = None) -> Identity | None:
        """Who the live session of ``token`` is; None when there is none.

        ``named`` is the person the request's signed ``user`` cookie names, used only while the
        database cannot be reached (``_while_away``). A session whose person has since been
        removed from the users file, or given another role, is ended here, the first time it is
        used after the change.
        """
        if not token:
            return None
        now = time.monotonic()
        seen = self._identities.get(token)
        if seen and now - seen[0] < IDENTITY_SECONDS:
            return seen[1]
        try:
            found = session_identity(self.engine, token)
        except DATABASE_ERRORS:
            return self._while_away(seen, named)
        if found and found.kind != "oidc":
            user = load_users(self.settings.users_file).get(found.user)
            if user is None or user.role != found.role:
                self.end(token, "user_removed" if user is None else "role_changed")
                return None
        if len(self._identities) > 10_000:  # tokens of sessions long gone
            self._identities.clear()
        self._identities[token] = (now, found)
        return found

    def _while_away(
        self, seen: tuple[float, Identity | None] | None, named: str | None
    ) -> Identity | None:
        """Who a session is while the database cannot be reached: as this process last saw it,
        or, for one it has not seen (it started during the outage), the person of the signed
        cookie, unverified (session 0), so that a wall display switched on now opens by itself
        once the database is back. Nothing can be read meanwhile, and the page checks its session
        again every few seconds (``until_ended``)."""
        log.warning("the database cannot be reached: a session is trusted as last seen")
        if seen:
            return seen[1]
        user = load_users(self.settings.users_file).get(named or "")
        if user is None or self.settings.oidc_provider:
            return None
        return Identity(0, user.name, user.role, "unverified")

    def end(self, token: str, why: str) -> None:
        """End the session of ``token`` now (audited)."""
        close_session(self.engine, token, why)
        self._identities.pop(token, None)

    def session_token(self) -> str | None:
        """The token of the session being served (from the cookies its page was opened with)."""
        return decode_cookie(SESSION_COOKIE, pn.state.cookies.get(SESSION_COOKIE))

    def session_identity(self) -> Identity | None:
        """Who the session being served is, from its server-side session."""
        return self.identity(self.session_token(), pn.state.user)

    def session_role(self) -> str:
        """The role of the session being served: its server-side session's, else public."""
        return role_of(self.session_identity())

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
            found = self.session_identity()
            role = role_of(found)
            if role not in ROUTE_ROLES[route]:
                log.warning("refused a session of /%s to %s (%s)", route, pn.state.user, role)
                return html_pane(
                    "<p class='error-box'>Ni dostopa do te strani. · No access to this page.</p>"
                )
            page = build()
            return self.until_ended(page, found, route) if found else page

        return build_if_allowed

    def until_ended(self, page: pn.viewable.Viewable, found: Identity, route: str) -> pn.Column:
        """``page``, which gives way to a notice once its session on the server has ended (signed
        out in another tab, ended by an admin): an open page keeps nothing its session lost. A
        session not yet verified (opened while the database was away) is checked more often."""
        holder = page_column(page)
        token, named = self.session_token(), pn.state.user

        async def check() -> None:
            if await off_loop(self.identity, token, named) is None:
                holder.objects = [html_pane(SESSION_ENDED.format(route=route))]
                watch.stop()

        seconds = SESSION_CHECK_SECONDS if found.session_id else UNVERIFIED_CHECK_SECONDS
        watch = pn.state.add_periodic_callback(check, period=int(seconds * 1000))
        return holder

    def record_session(self, action: str, detail: str) -> None:
        """Record an export of the session being served, under its server-side identity."""
        record_action(self.engine, self.session_token() or "", action, detail)
