"""Signing in and out: the sign-in form, a wall display's device link, and Panel's providers.

Every attempt is audited. People's sessions end after ``GIS_SESSION_HOURS`` (10 h); a wall
display's device sign-in lasts a year. The handlers and providers check routes and roles through
the server's ``Access`` (``dashboards.access``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import panel as pn
import tornado.web
from panel.auth import BasicAuthProvider, OAuthProvider
from panel.util import decode_token
from tornado.websocket import WebSocketHandler

from dashboards.access import GUEST_ROUTES, HOME, ROUTE_ROLES, Access
from dashboards.users import MAX_PASSWORD, authenticate, load_users
from layers.audit import record_event
from layers.db import ROOT, read_env_file

TEMPLATES = Path(__file__).parent / "templates"
APP_ENV_FILE = ROOT / ".local" / "app.env"
DEVICE_DAYS = 365


def cookie_secret(access: Access) -> str:
    """``GIS_COOKIE_SECRET``, else the one in ``.local/app.env`` (made on first use, mode 600)."""
    if access.settings.cookie_secret:
        return access.settings.cookie_secret
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


def _render(name: str, **values) -> str:
    from jinja2 import Template

    return Template((TEMPLATES / name).read_text(encoding="utf-8"), autoescape=True).render(
        **values
    )


def set_user_cookie(
    handler: tornado.web.RequestHandler, name: str, days: float, access: Access
) -> None:
    """The signed session cookie: HttpOnly, SameSite=Lax, Secure behind TLS."""
    secure = handler.request.protocol == "https" or access.settings.tls
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

    access: Access

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
        user = authenticate(name, password, self.access.settings.users_file)
        engine = self.access.engine
        if user is None or user.device:  # a device signs in by its link only
            record_event(engine, "sign_in_failed", name, None, "", self.request.remote_ip)
            self.redirect("/login?error=1")
            return
        set_user_cookie(self, user.name, self.access.settings.session_hours / 24, self.access)
        record_event(engine, "sign_in", user.name, user.role, "", self.request.remote_ip)
        self.clear_cookie("next_url")
        self.redirect(_next_url(self, user.role))


class DeviceHandler(tornado.web.RequestHandler):
    """A wall display signs in once with its link, and stays signed in for a year."""

    access: Access

    def get(self) -> None:
        name = self.get_argument("name", "")[:200]
        token = self.get_argument("token", "")[: MAX_PASSWORD + 1]
        user = authenticate(name, token, self.access.settings.users_file)
        engine, address = self.access.engine, self.request.remote_ip
        if user is None or not user.device:
            record_event(engine, "sign_in_failed", name, None, "device", address)
            raise tornado.web.HTTPError(403)
        set_user_cookie(self, user.name, DEVICE_DAYS, self.access)
        record_event(engine, "device_sign_in", user.name, user.role, "", address)
        self.redirect(HOME[user.role])


def cookie_user(
    handler: tornado.web.RequestHandler, max_age_days: float = DEVICE_DAYS
) -> str | None:
    """The user name in a valid signed session cookie no older than ``max_age_days``."""
    raw = handler.get_signed_cookie("user", max_age_days=max_age_days)
    return raw.decode("utf-8") if raw else None


class LogoutHandler(tornado.web.RequestHandler):
    access: Access

    def get(self) -> None:
        name = cookie_user(self)
        if name:
            role = self.access.role_of(name, None)
            record_event(self.access.engine, "sign_out", name, role, "", self.request.remote_ip)
        for cookie in ("user", "id_token", "access_token", "refresh_token", "is_guest", "next_url"):
            self.clear_cookie(cookie, path="/")
        self.write(_render("logout.html"))


class HomeHandler(tornado.web.RequestHandler):
    """``/``: the home page of the visitor's role (the public map for everyone else)."""

    access: Access

    def get(self) -> None:
        self.redirect(HOME[self.access.role_of(cookie_user(self), None)])


class LocalUsersProvider(BasicAuthProvider):
    """Panel's basic authentication, checked against the users file, with expiring sessions."""

    def __init__(self, access: Access) -> None:
        self.access = access  # before Panel's constructor, which asks for the handlers
        super().__init__(guest_endpoints=list(GUEST_ROUTES))

    @property
    def get_user(self):
        def get_user(handler: tornado.web.RequestHandler) -> str | None:
            user = self._signed_in(handler)
            if user is None and self._allow_guest(handler.request.path):
                user = "guest"
                handler.request.cookies["is_guest"] = "1"
            if user and self.access.refuse_websocket(
                handler, user, self.access.role_of(user, None)
            ):
                return None  # Panel answers the handshake with 403
            if user and isinstance(handler, WebSocketHandler):
                pn.state._active_users[user] += 1  # as Panel's provider counts them
            return user

        return get_user

    def _signed_in(self, handler: tornado.web.RequestHandler) -> str | None:
        """The user of a valid, unexpired session cookie whose account still exists."""
        settings = self.access.settings
        user = load_users(settings.users_file).get(cookie_user(handler) or "")
        if user is None:
            return None
        fresh = cookie_user(handler, settings.session_hours / 24)
        return user.name if user.device or fresh else None

    @property
    def login_handler(self):
        return bound(LoginHandler, self.access)

    @property
    def logout_handler(self):
        return bound(LogoutHandler, self.access)


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

    def __init__(self, access: Access) -> None:
        self.access = access
        super().__init__(guest_endpoints=list(GUEST_ROUTES))

    @property
    def get_user_async(self):
        signed_in, access = super().get_user_async, self.access

        async def get_user(handler: tornado.web.RequestHandler) -> str | None:
            user = await signed_in(handler)
            role = access.role_of(user, token_claims(handler)) if user else "public"
            if user and access.refuse_websocket(handler, user, role):
                pn.state._active_users[user] -= 1  # Panel counted the connection we refuse
                return None
            return user

        return get_user

    @property
    def login_handler(self):
        access = self.access
        engine = access.engine

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
                        access.role_of(user, claims),
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


def bound(handler: type, access: Access) -> type:
    """``handler`` with the server's ``access`` (Tornado makes a handler per request)."""
    return type(f"Bound{handler.__name__}", (handler,), {"access": access})


def auth_options(access: Access) -> dict:
    """What ``pn.serve`` needs for sign-in, access and the extra pages."""
    pn.config.authorize_callback = access.authorize
    pn.config.auth_template = str(TEMPLATES / "denied.html")
    patterns = [
        (r"/", bound(HomeHandler, access)),
        (r"/auth-static/(page\.css)", tornado.web.StaticFileHandler, {"path": str(TEMPLATES)}),
    ]
    options = {"cookie_secret": cookie_secret(access), "extra_patterns": patterns}
    if access.settings.oidc_provider:
        pn.config.oauth_expiry = access.settings.session_hours / 24
        options["auth_provider"] = AuditedOAuthProvider(access)
    else:
        patterns.append((r"/device", bound(DeviceHandler, access)))
        options["auth_provider"] = LocalUsersProvider(access)
    return options
