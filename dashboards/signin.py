"""Signing in and out: the sign-in form, a wall display's device link, and Panel's providers.

Each sign-in opens a session on the server (``layers.sessions``) whose token the signed
``session`` cookie carries; signing out ends it, and every copy of the cookie with it. A person's
session lasts ``GIS_SESSION_HOURS`` (10 h), a wall display's a year, unless it is ended sooner.

The form carries an XSRF token, so a form posted from another site signs no one in. Failed
attempts make the account and the address wait longer each time and then lock them for a while
(the rules are the database's, migration 0007), whether or not the name exists; an unknown name
costs the same scrypt work as a known one. The password check (~50 ms of CPU) and the database's
answers are awaited off the event loop, so a sign-in stalls no one else's page.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import panel as pn
import tornado.web
from panel.auth import BasicAuthProvider, OAuthProvider
from panel.util import decode_token
from tornado.websocket import WebSocketHandler

from dashboards.access import (
    DEVICE_DAYS,
    GUEST_ROUTES,
    HOME,
    ROUTE_ROLES,
    SESSION_COOKIE,
    Access,
    decode_cookie,
    off_loop,
    role_of,
)
from dashboards.users import MAX_PASSWORD, User, authenticate
from layers.db import DATABASE_ERRORS, ROOT, read_env_file
from layers.sessions import Identity, open_session, sign_in_failed, sign_in_wait

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
APP_ENV_FILE = ROOT / ".local" / "app.env"
DEVICE_RETRY_SECONDS = 10
# the form's token: never read by scripts, never sent with another site's request
XSRF_COOKIE = {"httponly": True, "samesite": "Strict", "path": "/login"}
MESSAGES = {
    "wrong": "Napačno uporabniško ime ali geslo. · Wrong user name or password.",
    "wait": "Preveč neuspelih poskusov: znova poskusite čez {wait} s. "
    "· Too many failed attempts: try again in {wait} s.",
    "away": "Prijava trenutno ni mogoča, ker baza ni dosegljiva: poskusite čez nekaj minut. "
    "· Signing in is not possible now, the database cannot be reached: try again in a few minutes.",
    "form": "Obrazec je potekel ali ni bil odprt na tej strani: prijavite se znova. "
    "· The form expired or was not opened on this site: please sign in again.",
}


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


def set_session_cookies(
    handler: tornado.web.RequestHandler, user: str, token: str, days: float, access: Access
) -> None:
    """The signed cookies of a new session: HttpOnly, SameSite=Lax, Secure behind TLS.

    ``user`` is the name Panel shows; ``session`` the token of the server's session record.
    """
    secure = handler.request.protocol == "https" or access.settings.tls
    handler.clear_cookie("is_guest")
    for name, value in (("user", user), (SESSION_COOKIE, token)):
        handler.set_signed_cookie(
            name, value, expires_days=days, httponly=True, samesite="Lax", secure=secure, path="/"
        )


@dataclass(frozen=True)
class Attempt:
    """What a sign-in came to: a user and their session's token, or the seconds to wait."""

    user: User | None = None
    token: str = ""
    wait: int = 0
    checked: bool = True  # False: refused unchecked, the wait not yet over


def attempt_sign_in(access: Access, name: str, secret: str, address: str, device: bool) -> Attempt:
    """Check a sign-in against the limits and the users file and open its session (blocking)."""
    engine = access.engine
    wait = sign_in_wait(engine, name, address)
    if wait:
        return Attempt(wait=wait, checked=False)
    user = authenticate(name, secret, access.settings.users_file)
    if user is None or user.device != device:  # a device signs in by its link only
        return Attempt(wait=sign_in_failed(engine, name, address, "device" if device else ""))
    kind, hours = (
        ("device", DEVICE_DAYS * 24) if device else ("person", access.settings.session_hours)
    )
    return Attempt(user, open_session(engine, user.name, user.role, kind, hours, address))


class LoginHandler(tornado.web.RequestHandler):
    """The sign-in form and its check against the users file; every attempt is audited."""

    access: Access

    @property
    def settings(self) -> dict:
        return {**self.application.settings, "xsrf_cookie_kwargs": XSRF_COOKIE}

    def get(self) -> None:
        next_url = self.get_argument("next", "")
        if next_url.startswith("/") and not next_url.startswith("//"):
            self.set_cookie("next_url", next_url, httponly=True, samesite="Lax")
        message = ""
        if self.get_argument("error", ""):
            wait = self.get_argument("wait", "")
            message = MESSAGES["wrong"]
            if wait.isdigit():
                message += " " + MESSAGES["wait"].format(wait=int(wait))
        self.form(message)

    def form(self, message: str, status: int = 200) -> None:
        self.set_status(status)
        self.write(
            _render(
                "login.html",
                login_endpoint="/login",
                errormessage=message,
                xsrf_field=self.xsrf_form_html(),
            )
        )

    async def post(self) -> None:
        try:
            self.check_xsrf_cookie()
        except tornado.web.HTTPError:
            self.form(MESSAGES["form"], 403)
            return
        name = self.get_argument("username", "")[:200]
        password = self.get_argument("password", "")[: MAX_PASSWORD + 1]
        try:
            attempt = await off_loop(
                attempt_sign_in, self.access, name, password, self.request.remote_ip, False
            )
        except DATABASE_ERRORS:
            log.exception("no sign-in while the database cannot be reached")
            self.form(MESSAGES["away"], 503)
            return
        if not attempt.checked:
            self.set_header("Retry-After", str(attempt.wait))
            self.form(MESSAGES["wait"].format(wait=attempt.wait), 429)
        elif attempt.user is None:
            self.redirect("/login?error=1" + (f"&wait={attempt.wait}" if attempt.wait else ""))
        else:
            days = self.access.settings.session_hours / 24
            set_session_cookies(self, attempt.user.name, attempt.token, days, self.access)
            self.clear_cookie("next_url")
            self.redirect(_next_url(self, attempt.user.role))


class DeviceHandler(tornado.web.RequestHandler):
    """A wall display signs in once with its link, and stays signed in for a year."""

    access: Access

    async def get(self) -> None:
        name = self.get_argument("name", "")[:200]
        token = self.get_argument("token", "")[: MAX_PASSWORD + 1]
        try:
            attempt = await off_loop(
                attempt_sign_in, self.access, name, token, self.request.remote_ip, True
            )
        except DATABASE_ERRORS:  # a display switched on in an outage signs in once it is over
            log.exception("a device's sign-in waits for the database")
            self.set_status(503)
            self.set_header("Retry-After", str(DEVICE_RETRY_SECONDS))
            self.write(_render("waiting.html", seconds=DEVICE_RETRY_SECONDS))
            return
        if attempt.user is None:
            raise tornado.web.HTTPError(429 if not attempt.checked else 403)
        set_session_cookies(self, attempt.user.name, attempt.token, DEVICE_DAYS, self.access)
        self.redirect(HOME[attempt.user.role])


def request_token(handler: tornado.web.RequestHandler) -> str | None:
    """The session token in the request's signed ``session`` cookie."""
    return decode_cookie(SESSION_COOKIE, handler.get_cookie(SESSION_COOKIE))


def request_role(handler: tornado.web.RequestHandler, access: Access) -> str:
    return role_of(access.identity(request_token(handler)))


class LogoutHandler(tornado.web.RequestHandler):
    """Ends the session on the server (audited) and clears the browser's cookies."""

    access: Access

    async def get(self) -> None:
        token = request_token(self)
        if token:
            await off_loop(self.access.end, token, "sign_out")
        for cookie in (
            "user",
            SESSION_COOKIE,
            "id_token",
            "access_token",
            "refresh_token",
            "is_guest",
            "next_url",
        ):
            self.clear_cookie(cookie, path="/")
        self.write(_render("logout.html"))


class HomeHandler(tornado.web.RequestHandler):
    """``/``: the home page of the visitor's role (the public map for everyone else)."""

    access: Access

    async def get(self) -> None:
        self.redirect(HOME[await off_loop(request_role, self, self.access)])


def signed_in(handler: tornado.web.RequestHandler, access: Access) -> Identity | None:
    """The live session the request's cookies name (its two cookies must agree)."""
    named = decode_cookie("user", handler.get_cookie("user"))
    found = access.identity(request_token(handler), named)
    return found if found and found.user == named else None


class LocalUsersProvider(BasicAuthProvider):
    """Panel's basic authentication, checked against the server's sessions."""

    def __init__(self, access: Access) -> None:
        self.access = access  # before Panel's constructor, which asks for the handlers
        super().__init__(guest_endpoints=list(GUEST_ROUTES))

    @property
    def get_user(self):
        return None  # the session is looked up off the event loop: get_user_async

    @property
    def get_user_async(self):
        access = self.access

        async def get_user(handler: tornado.web.RequestHandler) -> str | None:
            found = await off_loop(signed_in, handler, access)
            user, role = (found.user if found else None), role_of(found)
            if user is None and self._allow_guest(handler.request.path):
                user = "guest"
                handler.request.cookies["is_guest"] = "1"
            if user and access.refuse_websocket(handler, user, role):
                return None  # Panel answers the handshake with 403
            if user and isinstance(handler, WebSocketHandler):
                pn.state._active_users[user] += 1  # as Panel's provider counts them
            return user

        return get_user

    @property
    def login_handler(self):
        return bound(LoginHandler, self.access)

    @property
    def logout_handler(self):
        return bound(LogoutHandler, self.access)


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


class SessionOAuthProvider(OAuthProvider):
    """Panel's OpenID Connect sign-in, with a session on the server opened (and audited) for
    each sign-in through the provider; the provider keeps its own two-factor sign-in."""

    def __init__(self, access: Access) -> None:
        self.access = access
        super().__init__(guest_endpoints=list(GUEST_ROUTES))

    @property
    def get_user_async(self):
        provider_user, access = super().get_user_async, self.access

        async def get_user(handler: tornado.web.RequestHandler) -> str | None:
            user = await provider_user(handler)
            if user is None or user == "guest":
                return user
            found = await off_loop(signed_in, handler, access)
            if (
                found is None
                or found.user != user
                or access.refuse_websocket(handler, user, found.role)
            ):
                if isinstance(handler, WebSocketHandler):
                    pn.state._active_users[user] -= 1  # Panel counted the connection we refuse
                return None
            return user

        return get_user

    @property
    def login_handler(self):
        access = self.access

        class SessionLogin(super().login_handler):
            async def get(self) -> None:
                try:
                    await super().get()
                except tornado.web.HTTPError:
                    if self.get_argument("code", None) is not None:  # the provider said no
                        address = self.request.remote_ip
                        await off_loop(sign_in_failed, access.engine, "", address, "oidc")
                    raise

            async def get_authenticated_user(self, *args, **kwargs) -> str | None:
                user = await super().get_authenticated_user(*args, **kwargs)
                if user and kwargs.get("code"):  # back from the provider, signed in
                    role = access.provider_role(self._claims_now())
                    hours = access.settings.session_hours
                    address = self.request.remote_ip
                    token = await off_loop(
                        open_session, access.engine, user, role, "oidc", hours, address
                    )
                    set_session_cookies(self, user, token, hours / 24, access)
                return user

            def _claims_now(self) -> dict:
                """The claims of the ID token this response is setting in its cookie."""
                raw = getattr(self, "_new_cookie", {}).get("id_token")
                secret = self.application.settings["cookie_secret"]
                found = raw and tornado.web.decode_signed_value(secret, "id_token", raw.value)
                if not found:
                    return {}
                token = pn.state.encryption.decrypt(found) if pn.state.encryption else found
                return decode_token(token.decode("utf-8"))

        return SessionLogin

    @property
    def logout_handler(self):
        return bound(LogoutHandler, self.access)


DEVICE_TOKEN = re.compile(r"([?&]token=)[^&\s]+")


def hide_device_tokens(record: logging.LogRecord) -> bool:
    """The access log keeps a device link's path and name, never its token (a password)."""
    message = record.getMessage()
    if "token=" in message:
        record.msg, record.args = DEVICE_TOKEN.sub(r"\1***", message), ()
    return True


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
        options["auth_provider"] = SessionOAuthProvider(access)
    else:
        patterns.append((r"/device", bound(DeviceHandler, access)))
        logging.getLogger("tornado.access").addFilter(hide_device_tokens)
        options["auth_provider"] = LocalUsersProvider(access)
    return options
