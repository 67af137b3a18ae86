"""Open a page in headless Chromium, report console errors and foreign requests, save a PNG.

python scripts/screenshot.py http://localhost:5006/planner planner.png [--wait 8]
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("png")
    parser.add_argument("--wait", type=float, default=8.0, help="seconds to let the page settle")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    host = urlparse(args.url).hostname
    errors, foreign = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: (
                urlparse(r.url).hostname not in (host, None)
                and r.url.startswith("http")
                and foreign.append(r.url)
            ),
        )
        page.goto(args.url)
        page.wait_for_timeout(args.wait * 1000)
        page.screenshot(path=args.png)
        browser.close()
    for line in errors:
        print("console error:", line)
    for url in foreign:
        print("foreign request:", url)
    print(f"{args.png}: {len(errors)} console errors, {len(foreign)} foreign requests")
    return 1 if errors or foreign else 0


if __name__ == "__main__":
    sys.exit(main())
