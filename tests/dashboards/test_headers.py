"""Every response carries the security headers, and none names the server's software."""

from __future__ import annotations

import pytest

from dashboards.headers import content_security_policy
from tests.dashboards.test_access import Browser, signed_in

PATHS = [
    "/",
    "/login",
    "/logout",
    "/public",
    "/planner",
    "/health",
    "/catalog.json",
    "/static/js/bokeh.min.js",
    "/auth-static/page.css",
    "/no-such-page",
]


@pytest.mark.parametrize("role", ["public", "planner"])
def test_every_route_carries_the_headers_and_no_server_version(server, role):
    visitor = signed_in(server.url, role)
    for path in PATHS:
        status, headers, body = visitor.request(path)
        assert status in (200, 302, 403, 404), (path, status)
        assert "Server" not in headers, path
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, path
        assert "http" not in policy, path  # no other origin: there is no basemap here
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert "Strict-Transport-Security" not in headers, path  # not behind TLS
        if path in ("/public", "/planner") and status == 200:
            assert '<html lang="sl"' in body, path  # the pages' language, not the template's


def test_a_failed_sign_in_and_a_refusal_carry_them_too(server, fresh_limits):
    visitor = Browser(server.url)
    status, headers, _ = visitor.sign_in("ana", "not-her-password")
    assert status == 302 and "Server" not in headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    status, headers, _ = signed_in(server.url, "mayor_office").request("/planner")
    assert status == 403 and headers["X-Frame-Options"] == "DENY"


def test_a_configured_basemap_is_the_one_other_host_images_may_come_from():
    policy = content_security_policy("https://tiles.example.si/{z}/{x}/{y}.png")
    images = next(d for d in policy.split("; ") if d.startswith("img-src"))
    assert images == "img-src 'self' data: blob: https://tiles.example.si"
    assert policy.count("example.si") == 1  # nowhere but images
