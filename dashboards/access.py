"""Who may open what: sign-in, roles, routes, and the audit trail. Enforced on the server.

Sign-in is Panel's own authentication. A municipality configures its OpenID Connect provider
(Keycloak, Azure AD, SI-PASS through a broker) with Panel's environment variables, so two-factor
sign-in is the provider's, and maps the provider's groups to roles with ``GIS_OIDC_ROLES``.
Without one, people sign in against the local users file (``dashboards/users.py``).

A route is served only to the roles ``ROUTE_ROLES`` names, at each of its three doors: the page
over HTTP (others get 403), the websocket's handshake (refused unless the connection's own cookie
may open that route), and the making of a Bokeh session (refused unless the identity the session
token carries may). A token taken from one page therefore never opens another page's document.
Inside a page, every layer query, report and export checks the session's role again
(``layers.queries.check_access``), so nothing a role may not see is ever read for it. Sessions of people end after
``GIS_SESSION_HOURS`` (10 h); a wall display's device sign-in lasts a year.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import panel as pn
import tornado.web
from panel.auth import BasicAuthProvider, OAuthProvider
from panel.util import decode_token
from sqlalchemy import Engine
from tornado.websocket import WebSocketHandler

from dashboards.theme import html_pane
from dashboards.users import MAX_PASSWORD, authenticate, load_users
from layers.audit import record_event
from layers.db import ROOT, read_env_file
from layers.roles import ROLES

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
APP_ENV_FILE = ROOT / ".local" / "app.env"
DEVICE_DAYS = 365
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


def session_hours() -> float:
    return float(os.environ.get("GIS_SESSION_HOURS", "10"))


def cookie_secret() -> str:
    """``GIS_COOKIE_SECRET``, else the one in ``.local/app.env`` (made on first use, mode 600)."""
    if os.environ.get("GIS_COOKIE_SECRET"):
        return os.environ["GIS_COOKIE_SECRET"]
    found = read_env_file(APP_ENV_FILE).get("GIS_COOKIE_SECRET")
    if found:
        return found
    APP_ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(APP_ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(
            f"# Written by app.py: signs the session cookies. Keep private.\nGIS_COOKIE_SECRET={secret}\n"
        )
    return secret


# --- roles -------------------------------------------------------------------------------


def oidc_provider() -> str | None:
    """The OpenID Connect provider Panel is configured for (``PANEL_OAUTH_PROVIDER``), if any."""
    return os.environ.get("PANEL_OAUTH_PROVIDER") or None


def parse_role_map(text_map: str) -> dict[str, str]:
    """``"gis-planners=planner, gis-cz=civil_protection"`` → ``{group: role}``."""
    pairs = [item.split("=", 1) for item in text_map.split(",") if "=" in item]
    return {group.strip(): role.strip() for group, role in pairs if role.strip() in ROLES}


def role_from_groups(groups: object, role_map: dict[str, str]) -> str:
    """The most privileged role any of the person's groups maps to; none: public."""
    names = [groups] if isinstance(groups, str) else list(groups or [])
    granted = {role_map[g] for g in names if g in role_map}
    return next((r for r in ROLE_PRIORITY if r in granted), "public")


def role_of(user: str | None, user_info: dict | None) -> str:
    """The role of a signed-in user (from the provider's groups or the users file)."""
    if not user or user == "guest":
        return "public"
    if oidc_provider():
        claim = os.environ.get("GIS_OIDC_GROUPS_CLAIM", "groups")
        role_map = parse_role_map(os.environ.get("GIS_OIDC_ROLES", ""))
        return role_from_groups((user_info or {}).get(claim), role_map)
    found = load_users().get(user)
    return found.role if found else "public"


def session_role() -> str:
    """The role of the session being served."""
    return role_of(pn.state.user, pn.state.user_info)


def may_open(role: str, path: str) -> bool:
    """May ``role`` open the route ``path`` belongs to (``/planner``, ``/planner/ws``, ...)?"""
    allowed = ROUTE_ROLES.get(path.strip("/").split("/")[0])
    return allowed is None or role in allowed


def authorize(user_info: dict | None, path: str) -> bool:
    """Panel's authorize callback: may this session open ``path``?"""
    return may_open(session_role(), path)


def refuse_websocket(handler: tornado.web.RequestHandler, user: str, role: str) -> bool:
    """True (and logged) when a websocket is opened on a route its connection's role may not open.

    Panel checks routes only for the page over HTTP; the websocket beside it must be checked too,
    or a session token taken from a page one may open would be replayed on another route's socket.
    """
    if not isinstance(handler, WebSocketHandler) or may_open(role, handler.request.path):
        return False
    log.warning("refused the websocket %s to %s (%s)", handler.request.path, user, role)
    return True


def for_route(route: str, build: Callable[[], pn.viewable.Viewable]):
    """The page builder of ``route``, which builds nothing for a session whose role may not open it.

    A Bokeh session is made when a websocket presents a token for a session the route does not have
    yet, whoever's page the token came from: this is the door behind the handshake's, checked with
    the identity the token carries.
    """

    def build_if_allowed() -> pn.viewable.Viewable:
        role = session_role()
        if role in ROUTE_ROLES[route]:
            return build()
        log.warning("refused a session of /%s to %s (%s)", route, pn.state.user, role)
        return html_pane(
            "<p class='error-box'>Ni dostopa do te strani. · No access to this page.</p>"
        )

    return build_if_allowed


# --- the audit trail -----------------------------------------------------------------------


def session_address() -> str:
    request = pn.state.curdoc.session_context.request if pn.state.curdoc else None
    return getattr(request, "remote_ip", "") or ""


def record_session(engine: Engine, action: str, detail: str) -> None:
    """Record an action of the session being served (an export, a report download)."""
    user = pn.state.user
    record_event(engine, action, user, role_of(user, pn.state.user_info), detail, session_address())


# --- the handlers ---------------------------------------------------------------------------


def _render(name: str, **values) -> str:
    from jinja2 import Template

    return Template((TEMPLATES / name).read_text(encoding="utf-8"), autoescape=True).render(
        **values
    )


def set_user_cookie(handler: tornado.web.RequestHandler, name: str, days: float) -> None:
    """The signed session cookie: HttpOnly, SameSite=Lax, Secure behind TLS."""
    secure = handler.request.protocol == "https" or os.environ.get("GIS_TLS") == "1"
    handler.clear_cookie("is_guest")
    handler.set_signed_cookie(
        "user", name, expires_days=days, httponly=True, samesite="Lax", secure=secure, path="/"
    )


def _next_url(handler: tornado.web.RequestHandler, role: str) -> str:
    wanted = handler.get_cookie("next_url", "")
    route = wanted.strip("/").split("/")[0].split("?")[0]
    # only our own routes, and only those the role may open: never an address elsewhere
    if (
        wanted.startswith("/")
        and not wanted.startswith("//")
        and role in ROUTE_ROLES.get(route, ())
    ):
        return wanted
    return HOME[role]


class LoginHandler(tornado.web.RequestHandler):
    """The sign-in form and its check against the users file; every attempt is audited."""

    engine: Engine | None = None

    def get(self) -> None:
        error = self.get_argument("error", "")
        next_url = self.get_argument("next", "")
        if next_url.startswith("/") and not next_url.startswith("//"):
            self.set_cookie("next_url", next_url, httponly=True, samesite="Lax")
        message = (
            "Napačno uporabniško ime ali geslo. · Wrong user name or password." if error else ""
        )
        self.write(_render("login.html", login_endpoint="/login", errormessage=message))

    def post(self) -> None:
        name = self.get_argument("username", "")[:200]
        password = self.get_argument("password", "")[: MAX_PASSWORD + 1]
        user = authenticate(name, password)
        if user is None or user.device:  # a device signs in by its link only
            record_event(self.engine, "sign_in_failed", name, None, "", self.request.remote_ip)
            self.redirect("/login?error=1")
            return
        set_user_cookie(self, user.name, session_hours() / 24)
        record_event(self.engine, "sign_in", user.name, user.role, "", self.request.remote_ip)
        self.clear_cookie("next_url")
        self.redirect(_next_url(self, user.role))


class DeviceHandler(tornado.web.RequestHandler):
    """A wall display signs in once with its link, and stays signed in for a year."""

    engine: Engine | None = None

    def get(self) -> None:
        name = self.get_argument("name", "")[:200]
        user = authenticate(name, self.get_argument("token", "")[: MAX_PASSWORD + 1])
        if user is None or not user.device:
            record_event(
                self.engine, "sign_in_failed", name, None, "device", self.request.remote_ip
            )
            raise tornado.web.HTTPError(403)
        set_user_cookie(self, user.name, DEVICE_DAYS)
        record_event(
            self.engine, "device_sign_in", user.name, user.role, "", self.request.remote_ip
        )
        self.redirect(HOME[user.role])


def cookie_user(
    handler: tornado.web.RequestHandler, max_age_days: float = DEVICE_DAYS
) -> str | None:
    """The user name in a valid signed session cookie no older than ``max_age_days``."""
    raw = handler.get_signed_cookie("user", max_age_days=max_age_days)
    return raw.decode("utf-8") if raw else None


class LogoutHandler(tornado.web.RequestHandler):
    engine: Engine | None = None

    def get(self) -> None:
        name = cookie_user(self)
        if name:
            record_event(
                self.engine, "sign_out", name, role_of(name, None), "", self.request.remote_ip
            )
        for cookie in ("user", "id_token", "access_token", "refresh_token", "is_guest", "next_url"):
            self.clear_cookie(cookie, path="/")
        self.write(_render("logout.html"))


class HomeHandler(tornado.web.RequestHandler):
    """``/``: the home page of the visitor's role (the public map for everyone else)."""

    def get(self) -> None:
        self.redirect(HOME[role_of(cookie_user(self), None)])


class LocalUsersProvider(BasicAuthProvider):
    """Panel's basic authentication, checked against the users file, with expiring sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # before Panel's constructor, which asks for the handlers
        super().__init__(guest_endpoints=list(GUEST_ROUTES))

    @property
    def get_user(self):
        def get_user(handler: tornado.web.RequestHandler) -> str | None:
            user = self._signed_in(handler)
            if user is None and self._allow_guest(handler.request.path):
                user = "guest"
                handler.request.cookies["is_guest"] = "1"
            if user and refuse_websocket(handler, user, role_of(user, None)):
                return None  # Panel answers the handshake with 403
            if user and isinstance(handler, WebSocketHandler):
                pn.state._active_users[user] += 1  # as Panel's provider counts them
            return user

        return get_user

    @staticmethod
    def _signed_in(handler: tornado.web.RequestHandler) -> str | None:
        """The user of a valid, unexpired session cookie whose account still exists."""
        user = load_users().get(cookie_user(handler) or "")
        if user is None:
            return None
        fresh = cookie_user(handler, session_hours() / 24)
        return user.name if user.device or fresh else None

    @property
    def login_handler(self):
        return type("BoundLoginHandler", (LoginHandler,), {"engine": self.engine})

    @property
    def logout_handler(self):
        return type("BoundLogoutHandler", (LogoutHandler,), {"engine": self.engine})


def token_claims(handler: tornado.web.RequestHandler) -> dict:
    """The claims of the provider's ID token in the request's cookie (none: empty)."""
    if handler.request.cookies.get("is_guest"):
        return {}
    raw = handler.get_signed_cookie("id_token", max_age_days=pn.config.oauth_expiry)
    if not raw:
        return {}
    token = pn.state.encryption.decrypt(raw) if pn.state.encryption else raw
    return decode_token(token.decode("utf-8"))


class AuditedOAuthProvider(OAuthProvider):
    """Panel's OpenID Connect sign-in, with each sign-in through the provider audited."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        super().__init__(guest_endpoints=list(GUEST_ROUTES))

    @property
    def get_user_async(self):
        signed_in = super().get_user_async

        async def get_user(handler: tornado.web.RequestHandler) -> str | None:
            user = await signed_in(handler)
            if user and refuse_websocket(handler, user, role_of(user, token_claims(handler))):
                pn.state._active_users[user] -= 1  # Panel counted the connection we refuse
                return None
            return user

        return get_user

    @property
    def login_handler(self):
        engine = self.engine

        class AuditedLogin(super().login_handler):
            async def get(self) -> None:
                returning = self.get_argument("code", None) is not None  # back from the provider
                try:
                    await super().get()
                except tornado.web.HTTPError:
                    if returning:
                        record_event(
                            engine, "sign_in_failed", None, None, "oidc", self.request.remote_ip
                        )
                    raise
                if returning:
                    user, claims = self._signed_in_now()
                    record_event(
                        engine,
                        "sign_in",
                        user,
                        role_of(user, claims),
                        "oidc",
                        self.request.remote_ip,
                    )

            def _signed_in_now(self) -> tuple[str | None, dict]:
                """The user and the token's claims this response signs in (from its cookies)."""
                outgoing = getattr(self, "_new_cookie", {})
                secret = self.application.settings["cookie_secret"]

                def value(name: str) -> str | None:
                    raw = outgoing.get(name)
                    found = raw and tornado.web.decode_signed_value(secret, name, raw.value)
                    return found.decode("utf-8") if found else None

                token = value("id_token")
                return value("user"), decode_token(token) if token else {}

        return AuditedLogin


def auth_options(engine: Engine) -> dict:
    """What ``pn.serve`` needs for sign-in, access and the extra pages, from the environment."""
    pn.config.authorize_callback = authorize
    pn.config.auth_template = str(TEMPLATES / "denied.html")
    patterns = [
        (r"/", HomeHandler),
        (r"/auth-static/(page\.css)", tornado.web.StaticFileHandler, {"path": str(TEMPLATES)}),
    ]
    options = {"cookie_secret": cookie_secret(), "extra_patterns": patterns}
    if oidc_provider():
        pn.config.oauth_expiry = session_hours() / 24
        options["auth_provider"] = AuditedOAuthProvider(engine)
    else:
        patterns.append((r"/device", type("BoundDevice", (DeviceHandler,), {"engine": engine})))
        options["auth_provider"] = LocalUsersProvider(engine)
    return options
