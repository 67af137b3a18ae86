"""/wall in real Chromium through a database outage, refreshing every second for minutes.

The wall display must say plainly that the database is gone, keep its last values, and pick up
by itself when the database is back, without a reload; and after minutes of refreshes its
server must hold no more memory or connections than at the start (within a small bound).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from layers.db import POOL_SIZE, ROOT, read_env_file
from tests.dashboards.browser import SCREENSHOTS, open_page, wait_for
from tests.dashboards.conftest import DEVICE, start_server, stop_server

pytestmark = pytest.mark.browser
# on each side of the outage: half a minute in the suite, as long as asked behind `make soak`
SOAK_SECONDS = float(os.environ.get("GIS_SOAK_SECONDS", "30"))
MEMORY_BOUND_MIB = 80  # over the whole soak, the step when the database is back included
DEVICE_LINK = "/device?" + urllib.parse.urlencode({"name": DEVICE[0], "token": DEVICE[1]})


def project_cluster(action: str) -> None:
    """Stop or start the project's own PostGIS (the one the tests run on)."""
    if os.environ.get("TEST_DATABASE_URL") or not read_env_file().get("TEST_DATABASE_URL"):
        pytest.fail("the outage test stops and starts the project's own PostGIS: run `make test`")
    subprocess.run([str(ROOT / "scripts" / "pgcluster.sh"), action], check=True, timeout=120)


@pytest.fixture(scope="module")
def wall_server(sample_database, tmp_path_factory):
    running = start_server(
        sample_database,
        tmp_path_factory.mktemp("wall"),
        GIS_WALL_TICK_SECONDS="1",
        GIS_WALL_REFRESH_SECONDS="1",
        GIS_WALL_ROTATE_SECONDS="5",
    )
    yield running
    stop_server(running)


def resident_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def server_connections(pid: int, database) -> int:
    """The server process's open TCP connections to PostgreSQL, from the kernel's tables: its
    pool's, and no other server's (the suite runs several, all named ``dashboards``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # a descriptor closed while we look
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    port = f"{database.writer.url.port:04X}"
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            established = fields[3] == "01"
            if established and fields[2].endswith(f":{port}") and fields[9] in inodes:
                found += 1
    return found


def settled_connections(pid: int, database) -> int:
    """The server's connections once those opened beyond its pool at a busy moment (a tick,
    a top-up and a pan at once) were returned, which closes them; at most 15 s later."""
    wait_for(lambda: server_connections(pid, database) <= POOL_SIZE)
    return server_connections(pid, database)


def computed_times(page) -> list[str]:
    return page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.dataset.computed)")


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/health", timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        return answer.code, json.loads(answer.read())


def assert_everything_fits(page) -> None:
    """Nothing to scroll and no tile cut short: a wall has no one to scroll it."""
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    tiles = page.eval_on_selector_all(
        ".tile",
        """tiles => tiles.map(t => ({
            inside: t.getBoundingClientRect().bottom <= window.innerHeight,
            whole: t.scrollHeight <= t.clientHeight + 1}))""",
    )
    assert len(tiles) >= 8
    assert all(t == {"inside": True, "whole": True} for t in tiles), tiles


@pytest.mark.outage
def test_the_wall_survives_an_outage_and_holds_steady(browser, wall_server, sample_database):
    page = open_page(browser, wall_server.url + DEVICE_LINK, 1920, 1080)
    page.wait_for_url(wall_server.url + "/wall", timeout=30_000)
    page.wait_for_selector(".tile", timeout=60_000)
    assert health(wall_server.url)[0] == 200
    time.sleep(15)  # warmed up: first views drawn, caches filled
    memory_before = resident_mib(wall_server.process.pid)
    connections_before = settled_connections(wall_server.process.pid, sample_database)
    first = computed_times(page)
    time.sleep(SOAK_SECONDS)
    assert min(computed_times(page)) > max(first), "the tiles stopped refreshing"
    values_before = page.locator(".tile .value").all_inner_texts()

    project_cluster("stop")
    try:
        banner = page.locator(".banner")
        assert wait_for(lambda: banner.count() and "Baza ni dosegljiva" in banner.inner_text(), 30)
        assert "unreachable" in banner.inner_text()
        status, body = health(wall_server.url)
        assert status == 503 and body["database"]["reachable"] is False
        assert page.locator(".tile .value").all_inner_texts() == values_before  # last values kept
        page.screenshot(path=SCREENSHOTS / "wall-outage.png")
        time.sleep(5)
    finally:
        project_cluster("start")
    back = dt.datetime.now(dt.UTC).isoformat()
    assert wait_for(lambda: page.locator(".banner").count() == 0, 60), "the notice stayed"
    assert wait_for(lambda: min(computed_times(page)) > back, 30), "values did not refresh"
    assert health(wall_server.url)[0] == 200
    memory_back = resident_mib(wall_server.process.pid)

    time.sleep(SOAK_SECONDS)
    memory_after = resident_mib(wall_server.process.pid)
    connections_after = settled_connections(wall_server.process.pid, sample_database)
    print(
        f"wall soak: memory {memory_before:.0f} -> {memory_back:.0f} (the database back)"
        f" -> {memory_after:.0f} MiB, connections {connections_before} -> {connections_after}"
    )
    # coming back costs a step (the pool's connections reopened, the readings read again),
    # paid within the first refreshes after it and the same after 30 s as after 90 s (38-42 MiB
    # on a quiet machine, up to 60 under a busy suite): what the bound holds is the whole
    assert memory_after - memory_before < MEMORY_BOUND_MIB
    # the server's one pool (the pages, the readings cache, /health) may have reopened up to its
    # size at once when the database came back; it keeps no more than that
    assert connections_before <= POOL_SIZE and connections_after <= POOL_SIZE
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "wall-1920.png")
    assert_everything_fits(page)
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


def test_the_wall_reads_at_4k(browser, wall_server):
    page = open_page(browser, wall_server.url + DEVICE_LINK, 3840, 2160)
    page.wait_for_selector(".tile", timeout=60_000)
    # the tiles are redrawn as their figures come: a figure replaced between being found and
    # being measured has no size, so the one on show is measured until it has one
    shown = "v => v.isConnected ? parseFloat(getComputedStyle(v).fontSize) || 0 : 0"
    size = wait_for(lambda: page.eval_on_selector(".tile .value", shown), seconds=30)
    assert size > 100  # the figures are over 100 px tall on a 4K screen
    assert_everything_fits(page)
    page.screenshot(path=SCREENSHOTS / "wall-3840.png")
    assert page.console_errors == []
    page.close()


@pytest.mark.outage
def test_a_wall_switched_on_during_an_outage_opens_by_itself(browser, wall_server):
    project_cluster("stop")
    try:
        # its first sign-in, with its link: the session cannot be opened before the database
        # is back, and the display tries again by itself
        page = open_page(browser, wall_server.url + DEVICE_LINK, 1920, 1080)
        page.wait_for_selector(".banner", timeout=60_000)
        assert "opens by itself" in page.locator(".banner").inner_text()
    finally:
        project_cluster("start")
    page.wait_for_url(wall_server.url + "/wall", timeout=60_000)
    page.wait_for_selector(".tile", timeout=60_000)
    assert page.locator(".tile").count() >= 6
    page.goto("about:blank")

    project_cluster("stop")  # switched off, and on again during the next outage
    try:
        page.goto(wall_server.url + "/wall")
        page.wait_for_selector(".banner", timeout=60_000)
        assert "opens by itself" in page.locator(".banner").inner_text()
    finally:
        project_cluster("start")
    page.wait_for_selector(".tile", timeout=60_000)  # no reload
    assert page.locator(".tile").count() >= 6
    page.close()
