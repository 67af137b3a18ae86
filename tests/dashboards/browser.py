"""Helpers of the browser tests: Debian's Chromium, where screenshots go, watching a page."""

from __future__ import annotations

import time
from urllib.parse import urlparse

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


def wait_for(condition, seconds: float = 15.0, step: float = 0.25):
    """Poll ``condition`` until it returns something true, or give up and return its last value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(step)
    return value


def open_page(browser, url: str, width: int = 1600, height: int = 1000):
    """A page that records console errors and any request to a host other than ours."""
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.console_errors, page.foreign_requests = [], []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    host = urlparse(url).hostname
    page.on(
        "request",
        lambda r: (
            r.url.startswith(("http:", "https:", "ws:", "wss:"))
            and urlparse(r.url).hostname != host
            and page.foreign_requests.append(r.url)
        ),
    )
    page.goto(url)
    return page
