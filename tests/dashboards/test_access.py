"""Sign-in, routes and roles over HTTP against the running app: what each role may open."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import tornado.web
from sqlalchemy import text

from dashboards.signin import TEMPLATES
from tests.dashboards.bokeh_client import REFUSAL, cookie_header, page_token, replay
from tests.dashboards.browser import wait_for
from tests.dashboards.conftest import ACCOUNTS, DEVICE, start_server, stop_server

ROUTES = ("/planner", "/civil-protection", "/wall", "/audit", "/public")
# what each role gets at each route: 200 the page, 403 refused, 302 sent to sign in
EXPECTED = {
    "planner": (200, 403, 403, 403, 200),
    "civil_protection": (403, 200, 403, 403, 200),
    "mayor_office": (403, 403, 200, 403, 200),
    "admin": (200, 200, 200, 200, 200),
    "public": (302, 302, 302, 302, 200),
}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie jar and no redirects followed: every answer is seen as the server gave it."""

    def __init__(self, url: str) -> None:
        self.url, self.cookies = url, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def request(self, path: str, form: dict | None = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            response = self.opener.open(self.url + path, data=data, timeout=60)
        except urllib.error.HTTPError as answer:  # 3xx and 4xx arrive here
            return answer.code, answer.headers, answer.read().decode(errors="replace")
        return response.status, response.headers, response.read().decode(errors="replace")

    def sign_in(self, name: str, password: str):
        """Open the form (for its XSRF token, as a browser does) and post it."""
        form = self.request("/login")[2]
        token = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
        return self.request("/login", {"username": name, "password": password, "_xsrf": token})


def signed_in(url: str, role: str) -> Browser:
    visitor = Browser(url)
    if role != "public":
        status, headers, _ = visitor.sign_in(*ACCOUNTS[role])
        assert status == 302 and "error" not in headers["Location"], role
    return visitor


def audit(database, action: str) -> list[tuple]:
    with database.writer.connect() as conn:
        return conn.execute(
            text("SELECT username, role, address FROM audit_event WHERE action = :a ORDER BY id"),
            {"a": action},
        ).all()


@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_opens_exactly_its_routes(server, role):
    visitor = signed_in(server.url, role)
    for route, expected in zip(ROUTES, EXPECTED[role], strict=True):
        status, headers, body = visitor.request(route)
        assert status == expected, (role, route)
        if status == 302:
            assert "/login?next=" in headers["Location"]  # sent to sign in
        if status == 403:
            assert "Ni dostopa" in body and "No access" in body


def test_home_sends_each_role_to_its_page(server):
    assert (
        signed_in(server.url, "civil_protection").request("/")[1]["Location"] == "/civil-protection"
    )
    assert signed_in(server.url, "public").request("/")[1]["Location"] == "/public"


def test_a_sign_in_is_audited_and_its_cookie_is_httponly_and_samesite(server, sample_database):
    status, headers, _ = Browser(server.url).sign_in(*ACCOUNTS["planner"])
    assert status == 302 and headers["Location"] == "/planner"
    cookie = next(v for v in headers.get_all("Set-Cookie") if v.startswith("user="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert ("ana", "planner", "127.0.0.1") in audit(sample_database, "sign_in")


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("ana", "wrong-password"),
        ("nobody", "whatever-password"),
        ("ana' OR '1'='1", "x' OR '1'='1"),
        ("ana'; DROP TABLE audit_event; --", "anything-at-all"),
        ("a" * 20_000, "p" * 20_000),
        ("\u202eana\u0000\U0001f600", "ž\u200b" * 50),
        # a device's token does not open the form (named: the token is new each session)
        pytest.param(DEVICE[0], DEVICE[1], id="device-token"),
    ],
)
def test_a_failed_sign_in_is_refused_audited_and_breaks_nothing(
    server, sample_database, fresh_limits, name, password
):
    visitor = Browser(server.url)
    status, headers, _ = visitor.sign_in(name, password)
    assert status == 302 and headers["Location"] == "/login?error=1"
    assert visitor.request("/planner")[0] == 302  # still not signed in
    failed = audit(sample_database, "sign_in_failed")
    assert failed and len(failed[-1][0]) <= 200  # recorded, and cut to size
    assert Browser(server.url).sign_in(*ACCOUNTS["admin"])[0] == 302  # the app still works


def test_sign_out_ends_the_session(server, sample_database):
    visitor = signed_in(server.url, "planner")
    assert visitor.request("/planner")[0] == 200
    status, _, body = visitor.request("/logout")
    assert status == 200 and "Odjavljeni ste" in body
    assert visitor.request("/planner")[0] == 302
    assert ("ana", "planner") in [row[:2] for row in audit(sample_database, "sign_out")]


def test_a_forged_or_foreign_cookie_opens_nothing(server):
    visitor = Browser(server.url)
    forged = http.cookiejar.Cookie(
        0,
        "user",
        "YWRtaW4=|boss",
        None,
        False,
        "127.0.0.1",
        False,
        False,
        "/",
        True,
        False,
        None,
        False,
        None,
        None,
        {},
    )
    visitor.cookies.set_cookie(forged)
    assert visitor.request("/audit")[0] == 302


def session_token(visitor: Browser, server) -> str:
    """The token of a visitor's session, from its signed cookie (as the server reads it)."""
    raw = next(c.value for c in visitor.cookies if c.name == "session").strip('"')
    return tornado.web.decode_signed_value(server.secrets["cookie"], "session", raw).decode()


def test_admin_reads_the_audit_trail_and_no_one_else(server, sample_database, fresh_limits):
    from dashboards.audit import AuditPage
    from data.profiles import load_profile
    from layers.errors import LayerAccessError

    Browser(server.url).sign_in("ana", "not-her-password")
    admin = session_token(signed_in(server.url, "admin"), server)
    page = AuditPage(sample_database.reader, load_profile("ptuj"), admin)
    assert "sign_in_failed" in set(page.events["action"])
    assert list(page.events.columns) == ["at", "username", "role", "action", "detail", "address"]
    for role in ("planner", "civil_protection", "mayor_office"):
        token = session_token(signed_in(server.url, role), server)
        with pytest.raises(LayerAccessError):
            AuditPage(sample_database.reader, load_profile("ptuj"), token)


def test_no_secret_reaches_the_log(server, sample_database):
    for role in EXPECTED:
        signed_in(server.url, role).request("/public")
    device_link = urllib.parse.urlencode({"name": DEVICE[0], "token": DEVICE[1]})
    assert Browser(server.url).request(f"/device?{device_link}")[0] == 302  # logged, token hidden
    # the server logs a request once it has answered it: the line may come a moment later
    hidden = "GET /device?name=stena-1&token=***"
    assert wait_for(lambda: hidden in server.log_text(), seconds=10)
    log = server.log_text()
    assert "GET /public" in log  # the log is there to read
    forbidden = [password for _, password in ACCOUNTS.values()] + [
        DEVICE[1],
        server.secrets["cookie"],
    ]
    forbidden.append(sample_database.reader.url.password)
    forbidden.append(sample_database.writer.url.password)
    assert not [s for s in forbidden if s and s in log]


@pytest.fixture(scope="module")
def short_sessions(sample_database, tmp_path_factory):
    """A second app where a person's session lasts two seconds."""
    running = start_server(
        sample_database, tmp_path_factory.mktemp("short"), GIS_SESSION_HOURS=str(2 / 3600)
    )
    yield running
    stop_server(running)


def test_a_session_expires_but_a_wall_display_stays_signed_in(short_sessions, fresh_limits):
    person = signed_in(short_sessions.url, "planner")
    device = Browser(short_sessions.url)
    query = urllib.parse.urlencode({"name": DEVICE[0], "token": DEVICE[1]})
    assert device.request(f"/device?{query}")[0] == 302
    assert person.request("/planner")[0] == 200
    time.sleep(3)
    assert person.request("/planner")[0] == 302  # expired: sign in again
    assert device.request("/audit")[0] == 403  # still signed in (as the mayor's office)
    assert Browser(short_sessions.url).request(f"/device?name={DEVICE[0]}&token=wrong")[0] == 403


def test_behind_tls_the_cookie_is_secure(sample_database, tmp_path_factory):
    running = start_server(sample_database, tmp_path_factory.mktemp("tls"), GIS_TLS="1")
    try:
        _, headers, _ = Browser(running.url).sign_in(*ACCOUNTS["planner"])
    finally:
        stop_server(running)
    cookie = next(v for v in headers.get_all("Set-Cookie") if v.startswith("user="))
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.fixture(scope="module")
def oidc(sample_database, tmp_path_factory):
    """The app signing people in through an OpenID Connect provider (a fake one, on this host)."""
    from tests.dashboards.conftest import free_port
    from tests.dashboards.fake_oidc import FakeProvider

    provider = FakeProvider()
    port = free_port()
    running = start_server(
        sample_database,
        tmp_path_factory.mktemp("oidc"),
        port=port,
        PANEL_OAUTH_PROVIDER="generic",
        PANEL_OAUTH_KEY="obcinski-zemljevid",
        PANEL_OAUTH_SECRET="client-secret-for-tests",
        PANEL_OAUTH_AUTHORIZE_URL=provider.url + "/authorize",
        PANEL_OAUTH_TOKEN_URL=provider.url + "/token",
        PANEL_OAUTH_REDIRECT_URI=f"http://127.0.0.1:{port}/login",
        GIS_OIDC_ROLES="gis-cz=civil_protection,gis-planerji=planner",
    )
    yield running, provider
    stop_server(running)
    provider.close()


def follow(visitor: Browser, path: str, hops: int = 6) -> tuple[int, str]:
    """Follow redirects across hosts (to the provider and back), keeping cookies."""
    url = visitor.url + path
    for _ in range(hops):
        try:
            response = visitor.opener.open(url, timeout=60)
            return response.status, url
        except urllib.error.HTTPError as answer:
            if answer.code not in (301, 302, 303, 307):
                return answer.code, url
            url = urllib.parse.urljoin(url, answer.headers["Location"])
    raise AssertionError(f"too many redirects, last {url}")


def test_a_provider_signs_people_in_and_their_groups_give_their_role(oidc, sample_database):
    running, provider = oidc
    provider.claims = {"email": "maja@ptuj.si", "groups": ["gis-cz"]}
    visitor = Browser(running.url)
    status, url = follow(visitor, "/civil-protection")
    assert status == 200 and url.endswith("/civil-protection")
    assert visitor.request("/planner")[0] == 403
    assert visitor.request("/public")[0] == 200
    provider.claims = {"email": "nejc@ptuj.si", "groups": ["drugi"]}
    stranger = Browser(running.url)
    assert follow(stranger, "/civil-protection")[0] == 403  # signed in, but no role of ours
    signed = audit(sample_database, "sign_in")
    assert ("maja@ptuj.si", "civil_protection", "127.0.0.1") in signed
    assert ("nejc@ptuj.si", "public", "127.0.0.1") in signed


def test_through_a_provider_a_token_opens_no_other_routes_websocket(oidc):
    running, provider = oidc
    provider.claims = {"email": "maja@ptuj.si", "groups": ["gis-cz"]}
    visitor = Browser(running.url)
    assert follow(visitor, "/civil-protection")[0] == 200
    token, cookies = page_token(visitor, "/civil-protection"), cookie_header(visitor)
    assert replay(running.url, "/planner", token, cookies) == 403
    assert REFUSAL not in replay(running.url, "/civil-protection", token, cookies)


@pytest.mark.parametrize(
    ("wanted", "lands"),
    [
        ("/civil-protection", "/civil-protection"),
        ("//evil.example/steal", "/civil-protection"),
        ("https://evil.example/", "/civil-protection"),
        ("/audit", "/civil-protection"),  # not this role's: its own home instead
    ],
)
def test_after_sign_in_only_our_own_permitted_pages_are_returned_to(server, wanted, lands):
    visitor = Browser(server.url)
    visitor.request("/login?" + urllib.parse.urlencode({"next": wanted}))
    status, headers, _ = visitor.sign_in(*ACCOUNTS["civil_protection"])
    assert status == 302 and headers["Location"] == lands


def test_the_refusal_page_reads_the_same_in_any_locale():
    """Panel opens it without naming an encoding: under an ASCII locale, one č was a 500."""
    (TEMPLATES / "denied.html").read_bytes().decode("ascii")
