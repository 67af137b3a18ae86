"""Routes over the websocket: a Bokeh session token from one page never opens another's document.

Each page's HTML carries a token for its session; the browser presents it on the route's
websocket and pulls the document. Here tokens are replayed, with Bokeh's own client protocol,
on the websocket of every route, by every role, and with a more privileged person's cookie.
"""

from __future__ import annotations

import pytest

from dashboards.access import ROUTE_ROLES
from tests.dashboards.bokeh_client import REFUSAL, cookie_header, page_token, replay
from tests.dashboards.test_access import EXPECTED, ROUTES, signed_in

# the pages whose tokens each role replays (an admin's: two, or the test would build 25 pages)
TOKEN_PAGES = {
    role: [route for route, status in zip(ROUTES, statuses, strict=True) if status == 200]
    for role, statuses in EXPECTED.items()
}
TOKEN_PAGES["admin"] = ["/audit", "/public"]


@pytest.mark.parametrize("role", EXPECTED)
def test_a_token_opens_only_the_routes_its_role_may_open(server, role):
    visitor = signed_in(server.url, role)
    cookies = cookie_header(visitor)
    for source in TOKEN_PAGES[role]:
        token = page_token(visitor, source)
        for target in ROUTES:
            answer = replay(server.url, target, token, cookies)
            if role in ROUTE_ROLES[target.strip("/")]:
                assert isinstance(answer, str) and REFUSAL not in answer, (source, target)
                assert len(answer) > 10_000, (source, target)  # a whole page's models
            else:
                assert answer == 403, (role, source, target)  # the handshake is refused


@pytest.mark.parametrize("role", ["planner", "civil_protection", "mayor_office", "public"])
def test_a_token_is_judged_by_whom_it_was_given_to_not_by_the_connection(server, role):
    """An admin's cookie passes the handshake anywhere; the token's own identity still decides."""
    visitor = signed_in(server.url, role)
    admin = cookie_header(signed_in(server.url, "admin"))
    token = page_token(visitor, TOKEN_PAGES[role][0])
    for target in ROUTES:
        if role in ROUTE_ROLES[target.strip("/")]:
            continue
        answer = replay(server.url, target, token, admin)
        assert isinstance(answer, str) and REFUSAL in answer, (role, target)
        assert len(answer) < 10_000, (role, target)  # the refusal, and nothing of the page
    assert "refused a session of" in server.log_text()
