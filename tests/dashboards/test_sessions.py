"""Sessions kept on the server and a sign-in that resists attack, against the running app."""

from __future__ import annotations

import statistics
import time
import urllib.parse

import pytest
from sqlalchemy import text

from dashboards.users import User, add_user, load_users, save_users
from layers.sessions import session_identity
from tests.dashboards.bokeh_client import cookie_header, page_token, replay
from tests.dashboards.test_access import Browser, audit, session_token, signed_in

NEW_PASSWORD = "mojca-geslo-2026"


def copy_of(visitor: Browser) -> Browser:
    """Another client holding copies of ``visitor``'s cookies, as a thief would."""
    thief = Browser(visitor.url)
    for cookie in visitor.cookies:
        thief.cookies.set_cookie(cookie)
    return thief


def eventually(check, seconds: float = 30) -> bool:
    """Whether ``check()`` comes true within ``seconds`` (another process sees an end within its
    few seconds of trust)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def test_a_cookie_copied_before_sign_out_opens_nothing_after(server, sample_database):
    visitor = signed_in(server.url, "planner")
    thief = copy_of(visitor)
    assert thief.request("/planner")[0] == 200
    token, cookies = page_token(thief, "/planner"), cookie_header(thief)
    visitor.request("/logout")
    assert thief.request("/planner")[0] == 302  # sent to sign in
    assert thief.request("/")[1]["Location"] == "/public"
    assert replay(server.url, "/planner", token, cookies) == 403
    assert ("ana", "planner") in [row[:2] for row in audit(sample_database, "sign_out")]


@pytest.fixture
def mojca(server):
    """A planner added to the server's users file for one test, and removed after it."""
    users_file = server.log.parent / "users.json"
    add_user(users_file, "mojca", "planner", NEW_PASSWORD)
    yield users_file
    users = dict(load_users(users_file))
    users.pop("mojca", None)
    save_users(users, users_file)


def test_a_role_change_or_a_removal_ends_the_session_at_once(server, sample_database, mojca):
    visitor = Browser(server.url)
    assert visitor.sign_in("mojca", NEW_PASSWORD)[0] == 302
    assert visitor.request("/planner")[0] == 200
    users = dict(load_users(mojca))
    users["mojca"] = User("mojca", "admin", users["mojca"].password)
    save_users(users, mojca)
    assert eventually(lambda: visitor.request("/planner")[0] == 302)  # not admin: signed out
    assert visitor.sign_in("mojca", NEW_PASSWORD)[1]["Location"] == "/planner"
    users.pop("mojca")
    save_users(users, mojca)
    assert eventually(lambda: visitor.request("/planner")[0] == 302)
    with sample_database.writer.connect() as conn:
        why = conn.scalars(
            text(
                "SELECT detail FROM audit_event WHERE username = 'mojca' AND action = 'session_ended'"
            )
        ).all()
    assert why[-2:] == ["role_changed", "user_removed"]


def test_an_admin_sees_the_sessions_and_ends_one(server, sample_database):
    from dashboards.audit import AuditPage
    from data.profiles import load_profile

    planner = signed_in(server.url, "planner")
    admin = signed_in(server.url, "admin")
    page = AuditPage(sample_database.reader, load_profile("ptuj"), session_token(admin, server))
    own = page.own_session.session_id
    assert own in set(page.sessions["id"]) and own not in page.to_end.options.values()
    target = session_identity(sample_database.reader, session_token(planner, server)).session_id
    assert target in page.to_end.options.values()
    page.to_end.value = target
    page.end_chosen()
    assert target not in page.to_end.options.values()
    assert "session_ended" in set(page.events["action"])
    assert eventually(lambda: planner.request("/planner")[0] == 302)
    assert admin.request("/audit")[0] == 200  # the admin's own session goes on


def test_the_wrong_passwords_slow_and_then_lock_the_account(server, sample_database, fresh_limits):
    def forgive_the_wait() -> None:  # lets the test go on at once, as if it had waited
        with sample_database.writer.begin() as conn:
            conn.execute(text("UPDATE sign_in_throttle SET next_try = now()"))

    visitor = Browser(server.url)
    answers = [visitor.sign_in("civil", "wrong-password")[1]["Location"] for _ in range(4)]
    assert answers[:3] == ["/login?error=1"] * 3 and answers[3] == "/login?error=1&wait=1"
    with sample_database.writer.begin() as conn:  # the wait, held: a busy machine may outlast 1 s
        conn.execute(text("UPDATE sign_in_throttle SET next_try = now() + interval '30 seconds'"))
    status, headers, body = visitor.sign_in("civil", "civil-geslo-2026")  # right, but too soon
    assert status == 429 and 25 <= int(headers["Retry-After"]) <= 30
    assert "Preveč neuspelih poskusov" in body and "Too many failed attempts" in body
    for _ in range(6):
        forgive_the_wait()
        assert visitor.sign_in("civil", "wrong-password")[0] == 302
    forgive_the_wait()
    status, headers, _ = visitor.sign_in("civil", "civil-geslo-2026")  # the 11th: locked
    assert status == 429 and int(headers["Retry-After"]) > 14 * 60
    assert Browser(server.url).sign_in("ana", "ana-geslo-2026")[0] == 302  # others sign in
    locked = [row for row in audit(sample_database, "sign_in_locked") if row[0] == "civil"]
    assert len(locked) == 1  # once per burst
    with sample_database.writer.begin() as conn:  # fifteen minutes later
        conn.execute(text("UPDATE sign_in_throttle SET locked_until = now(), next_try = now()"))
    assert visitor.sign_in("civil", "civil-geslo-2026")[1]["Location"] == "/civil-protection"


def test_known_and_unknown_names_take_the_same_time(server, sample_database, fresh_limits):
    def timed(name: str) -> float:
        with sample_database.writer.begin() as conn:
            conn.execute(text("DELETE FROM sign_in_throttle"))
        visitor = Browser(server.url)
        visitor.request("/login")
        start = time.perf_counter()
        visitor.sign_in(name, "wrong-password")
        return time.perf_counter() - start

    known, unknown = [], []
    for _ in range(15):
        known.append(timed("ana"))
        unknown.append(timed("neznan-uporabnik"))
    difference = abs(statistics.median(known) - statistics.median(unknown))
    print(
        f"known {statistics.median(known) * 1000:.1f} ms, unknown "
        f"{statistics.median(unknown) * 1000:.1f} ms"
    )
    assert difference < 0.010


def test_a_form_posted_from_another_site_signs_no_one_in(server):
    visitor = Browser(server.url)
    form = {"username": "ana", "password": "ana-geslo-2026"}
    status, headers, body = visitor.request("/login", form)  # no token, as from elsewhere
    assert status == 403 and "Obrazec je potekel" in body and "user=" not in str(headers)
    visitor.request("/login")  # the form's cookie, but another site cannot read its value
    assert visitor.request("/login", {**form, "_xsrf": "2|00|11|22"})[0] == 403
    _, headers, _ = Browser(server.url).request("/login")
    cookie = next(v for v in headers.get_all("Set-Cookie") if v.startswith("_xsrf="))
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert visitor.request("/planner")[0] == 302


def test_a_device_link_opens_a_session_an_admin_can_end(server, sample_database):
    from tests.dashboards.conftest import DEVICE

    device = Browser(server.url)
    query = urllib.parse.urlencode({"name": DEVICE[0], "token": DEVICE[1]})
    assert device.request(f"/device?{query}")[1]["Location"] == "/wall"
    with sample_database.writer.begin() as conn:
        kind, days = conn.execute(
            text(
                "SELECT kind, extract(day FROM expires_at - started_at) FROM app_session"
                " WHERE username = :u ORDER BY id DESC LIMIT 1"
            ),
            {"u": DEVICE[0]},
        ).one()
        assert (kind, days) == ("device", 365)
        conn.execute(
            text(
                "UPDATE app_session SET ended_at = now(), ended_why = 'ended_by_admin'"
                " WHERE username = :u"
            ),
            {"u": DEVICE[0]},
        )
    assert eventually(lambda: device.request("/wall")[0] == 302)


def test_while_the_database_is_away_a_signed_cookie_is_trusted_unverified(tmp_path):
    """A server started during an outage cannot look a session up: a wall display's signed
    cookie opens its waiting page, unverified, and is checked as soon as the database is back."""
    from sqlalchemy import create_engine

    from dashboards.access import Access
    from dashboards.users import hash_password
    from layers.sessions import Identity
    from layers.settings import Settings
    from tests.dashboards.conftest import free_port

    users = tmp_path / "users.json"
    save_users({"stena-1": User("stena-1", "mayor_office", hash_password("x" * 32), True)}, users)
    away = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/gis")
    access = Access(Settings(users_file=users), away)
    token = "a-token-this-process-has-never-seen"
    assert access.identity(token, "stena-1") == Identity(0, "stena-1", "mayor_office", "unverified")
    assert access.identity(token, "someone-else") is None
    assert access.identity(token) is None
