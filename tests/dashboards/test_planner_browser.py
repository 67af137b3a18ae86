"""/planner in real headless Chromium: drawn, interactive, quiet, and served only from here."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from layers.db import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAP_BACKGROUND = (0xE8, 0xED, 0xF0)
SCREENSHOTS = ROOT / ".local" / "screenshots"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(sample_database):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=sample_database.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited: {process.stdout.read()}")
        try:
            urllib.request.urlopen(url + "/planner", timeout=5)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the app did not answer within 90 s")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.console_errors, page.foreign_requests = [], []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    host = urlparse(server).hostname
    page.on(
        "request",
        lambda r: (
            r.url.startswith(("http:", "https:", "ws:", "wss:"))
            and urlparse(r.url).hostname != host
            and page.foreign_requests.append(r.url)
        ),
    )
    page.goto(server + "/planner")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    yield page
    page.close()


def map_pixels(page) -> np.ndarray:
    canvas = page.locator(".bk-Canvas").first
    return np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))


def wait_for(condition, seconds: float = 15.0, step: float = 0.25):
    """Poll ``condition`` until it returns something true, or give up and return its last value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(step)
    return value


def drawn_share(page) -> float:
    pixels = map_pixels(page)
    return float(np.any(np.abs(pixels.astype(int) - MAP_BACKGROUND) > 6, axis=2).mean())


def test_the_map_is_drawn_with_no_console_error_and_nothing_from_elsewhere(page):
    assert wait_for(lambda: drawn_share(page) > 0.3), (
        "most of the map should be covered by the municipality"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner.png")  # for a person to look at
    pixels = map_pixels(page)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50, "layers in many colours"
    assert page.console_errors == []
    assert page.foreign_requests == []


def test_toggling_a_layer_redraws_the_map(page):
    assert wait_for(lambda: drawn_share(page) > 0.3)
    before = map_pixels(page)
    page.locator(".layer-roads input[type=checkbox]").click()

    def changed() -> float:
        share = float(np.any(before != map_pixels(page), axis=2).mean())
        return share if share > 0.01 else 0.0

    assert wait_for(changed), "hiding the roads did not change the map"
    assert not page.locator(".layer-roads input[type=checkbox]").is_checked()
    assert page.console_errors == []


def test_a_click_on_the_map_shows_the_features_details(page):
    box = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("table.details").wait_for(timeout=10_000)
    assert "Vir · Source" in page.locator(".details-pane .about").inner_text()
    assert page.console_errors == []
