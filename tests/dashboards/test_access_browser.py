"""What a session is sent, in real Chromium: the public's payload holds no restricted data."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.dashboards.browser import (
    SCREEN_POINT,
    SCREENSHOTS,
    click_at,
    open_page,
    received_text,
    sign_in,
    wait_for,
)
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser


def restricted_markers(database) -> dict[str, str]:
    """Strings only a staff session may receive: layer ids and titles, addresses, a main's zone."""
    with database.reader.connect() as conn:
        address = conn.scalar(text("SELECT address FROM building ORDER BY occupants DESC LIMIT 1"))
        zone = conn.scalar(
            text("SELECT pressure_zone FROM water_main WHERE pressure_zone IS NOT NULL LIMIT 1")
        )
        site = conn.scalar(text("SELECT name FROM critical_site WHERE kind = 'bolnišnica'"))
    return {
        "water mains layer": "water_mains",
        "water mains title": "Vodovodno omrežje",
        "buildings layer": '"buildings"',
        "a building's address": address,
        "a main's pressure zone": zone,
        "a critical site": site,
    }


def open_map(page, database) -> None:
    """Wait until the page has the open layers' features (they arrive after the page): the
    name of every Wi-Fi hotspot, a layer on for everyone."""
    page.wait_for_selector("canvas", timeout=60_000)
    with database.reader.connect() as conn:
        names = conn.scalars(text("SELECT DISTINCT location_name FROM wifi_hotspot")).all()
    assert wait_for(lambda: all(n in received_text(page) for n in names), seconds=60)


def on_screen(page, name: str, x: float, y: float) -> bool:
    """Whether (x, y) in EPSG:3857 is inside the map drawing ``name``, as the page shows it."""
    sx, sy = page.evaluate(SCREEN_POINT, [name, x, y])
    box = page.locator(".bk-Canvas").first.bounding_box()
    return box["x"] < sx < box["x"] + box["width"] and box["y"] < sy < box["y"] + box["height"]


def test_the_public_page_is_sent_no_restricted_data(browser, server, sample_database):
    page = open_page(browser, server.url + "/public")
    open_map(page, sample_database)
    sent = received_text(page)
    assert "Natura 2000" in sent and "wifi_hotspots" in sent  # the open layers are there
    leaked = {
        name: marker
        for name, marker in restricted_markers(sample_database).items()
        if marker in sent
    }
    assert leaked == {}
    assert page.locator(".layer-buildings").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "public.png")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


def test_a_planner_is_sent_the_staff_layers_the_public_is_not(browser, server, sample_database):
    """The same check on a planner's session finds every marker: the test can tell."""
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    open_map(page, sample_database)
    page.locator(".layer-water_mains input[type=checkbox]").click()
    page.evaluate("window.scrollTo(0, 0)")  # the click scrolled the page to the checkbox: back up
    markers = restricted_markers(sample_database)
    # the municipality's buildings come as an image: the address comes with a click on one
    with sample_database.reader.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 3857)"
                " AS p FROM building ORDER BY occupants DESC LIMIT 1) AS most"
            )
        ).one()
    # the page sets its first view once drawn: click where the building is in that view
    assert wait_for(lambda: on_screen(page, "buildings", x, y), seconds=30)
    click_at(page, "buildings", x, y)
    assert wait_for(lambda: all(m in received_text(page) for m in markers.values()), seconds=20), [
        name for name, m in markers.items() if m not in received_text(page)
    ]
    assert page.locator(".layer-buildings").count() == 1
    assert "ana (planner)" in page.locator(".app-header").inner_text()
    assert page.console_errors == []
    page.close()


def test_an_open_page_gives_way_when_its_session_is_ended_elsewhere(browser, server):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["civil_protection"], "/civil-protection")
    page.wait_for_selector("canvas", timeout=60_000)
    assert page.context.request.get(server.url + "/logout").ok  # another tab, same cookies
    notice = page.get_by_text("Seja je končana")
    notice.wait_for(timeout=60_000)
    assert "Your session has ended" in page.locator(".error-box").inner_text()
    assert page.locator("canvas").count() == 0  # the map and the report are gone
    assert page.console_errors == []
    page.close()
