"""Helpers of the browser tests: Debian's Chromium, where screenshots go, watching a page."""

from __future__ import annotations

import json
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


def open_page(
    browser, url: str, width: int = 1600, height: int = 1000, slowdown: float = 1, **device
):
    """A page that records console errors, requests to any host but ours, and what it receives;
    its scripts run ``slowdown`` times slower than this machine's; ``device`` as Playwright
    describes one (``is_mobile``, ``has_touch``, …)."""
    page = browser.new_page(
        viewport={"width": width, "height": height}, accept_downloads=True, **device
    )
    if slowdown != 1:
        page.context.new_cdp_session(page).send(
            "Emulation.setCPUThrottlingRate", {"rate": slowdown}
        )
    page.console_errors, page.foreign_requests, page.received = [], [], []
    # everything the server sends over the websocket, to check what a session was given
    page.on(
        "websocket", lambda ws: ws.on("framereceived", lambda frame: page.received.append(frame))
    )
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(e.stack or str(e)))  # where it threw
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


def sign_in(page, url: str, name: str, password: str, then: str) -> None:
    """Sign in through the form as a person would, then open ``then``."""
    page.goto(f"{url}/login?next={then}")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{then}", timeout=30_000)


def _readable(frame: str | bytes) -> str:
    """A websocket frame as text, JSON's escapes of non-ASCII letters undone."""
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text


def received_text(page) -> str:
    """What the server sent the page: the document and every websocket message, as text."""
    return page.content() + "\n".join(_readable(f) for f in page.received)


# The place on the screen of a point in EPSG:3857, on the map that draws the model ``name``.
SCREEN_POINT = """([name, x, y]) => {
  const model = Bokeh.documents[0].get_model_by_name(name);
  const plot = Bokeh.index.find_one(model).parent;
  const canvas = plot.canvas_view.el.getBoundingClientRect();
  return [canvas.left + plot.frame.x_scale.compute(x), canvas.top + plot.frame.y_scale.compute(y)];
}"""


# whether the map drawing the model ``name`` has drawn the view it shows (``drawn_tag``): a first
# view the browser moved to its own shape, or a gesture, is drawn then, and nothing is on its way
VIEW_DRAWN = """(name) => {
  const model = window.Bokeh?.documents[0]?.get_model_by_name(name);
  const plot = model && Bokeh.index.find_one(model)?.parent.model;
  if (!plot) return false;
  const box = [plot.x_range.start, plot.y_range.start, plot.x_range.end, plot.y_range.end];
  return plot.x_range.tags.includes("drawn:" + box.map((v) => v.toFixed(3)).join(","));
}"""


def click_at(page, name: str, x: float, y: float) -> None:
    """Click the map drawing the model ``name`` at (x, y) in EPSG:3857, as a person would."""
    page.mouse.click(*page.evaluate(SCREEN_POINT, [name, x, y]))
