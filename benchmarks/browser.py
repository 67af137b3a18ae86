"""Benchmark: what a person at the map feels, in Chromium against the served dashboards.

    python benchmarks/browser.py [--gestures 20] [--sessions 1,5,20] [--buildings N | --readings N]
                                                                                 (make bench)

The server runs as ``make run`` serves it (``app.py`` on a free port, over the project's
database with the sample ``make bench`` loads); each session is a planner signed in through the
form, in a Chromium context of its own. For two maps, the sensor readings and the buildings,
at the municipality's extent where the planner opens (with ``--buildings``, the buildings'
map only, over that many buildings in a schema of its own; with ``--readings``, the readings'
map only, over that many PM10 readings of the last week from 2,000 more sensors, the week
shown), printed beside the targets:

- open to map drawn: from the navigation to the paint after the last message of the opening;
- pan-to-paint and zoom-to-paint (a drag of the map, a turn of the mouse wheel): from the
  gesture to the paint after the last message it brought, median and p95, and the bytes it
  brought over the websocket;
- hover-to-tooltip over the buildings drawn as an image: from the pointer brought to rest on a
  house to its tooltip shown, median and p95 over ``--gestures`` houses;
- the same pans with 1, 5 and 20 sessions panning at once (opened one after the other;
  ``--gestures`` pans in all, spread over the sessions, at least three each), and the server's
  resident memory per open session;
- the same with one page in Chromium among 5 and 20 sessions, the others panning without a
  browser (``crowd``: Bokeh's websocket protocol, each pan asking what a page's pan asks, one
  after the other with no pause): twenty Chromium pages on this machine's two cores measure
  mostly their own drawing, where people pan from machines of their own. Printed: the page's
  pans, the others' answers (from a pan sent to its view drawn, at the server's door) and how
  many pans a second the server answered;
- and, over the sample, the wall display opened at 3840×2160 by its sign-in link, to the first
  tile's figure shown (median of 3).

The page itself times what it receives (a wrapper of its WebSocket, installed before Bokeh's
scripts run): a message counts as drawn two animation frames after it arrived, when Bokeh has
painted it. A page is open once nothing more has come for ``QUIET_S``; a gesture is over
once the map says it has drawn the view the page shows (``dashboards.map.drawn_tag``) and
the page has painted that. A gesture the page did not take (its map still where it was: under
the load of twenty pages one now and then lets a drag pass, and sends nothing) is made again,
and timed from the one it took.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from crowd import keep_panning, open_session
from exposure import extra_buildings
from playwright.async_api import async_playwright
from scratch import scratch_schema
from sensors import MUNICIPALITY, box_3857, write_files
from served import served
from sqlalchemy import text

from data.profiles import load_profile
from etl.load import LoadOptions, load_file
from etl.profile import load_profile_data
from layers.db import ROOT, database_urls, get_engine

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / ".local" / "screenshots"
QUIET_S = 1.5  # no message for this long: the gesture's answer is complete
GESTURE_TIMEOUT_S = 120
GESTURE_TRIES = 3  # a gesture the page did not take is made again, and timed from then
MOVE_WAIT_MS = 10_000  # how long a page may take to move its map after a gesture
WALL_TIMEOUT_MS = 120_000
PAN_PX = (100, 250)
MAPS = {  # what the planner shows, as its link in the address bar says it
    "odčitki · readings": "layers=municipality,sensor_readings",
    "stavbe · buildings": "layers=municipality,buildings",
}
WEEK = {"odčitki · readings": MAPS["odčitki · readings"] + "&sensor_readings.window=week"}
TARGETS = {"open": "≤ 2 s", "pan": "≤ 250 / 400 ms", "bytes": "≤ 300 kB", "crowd": "p95 ≤ 1 s"}

# what the page received and when it painted it; the time of the last gesture
WATCH_JS = """
(() => {
  const frames = [];
  window.__bench = {frames, gesture: 0};
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", ({data}) => {
        const size = typeof data === "string" ? data.length : data.byteLength ?? data.size;
        const frame = {at: performance.now(), size, painted: null};
        frames.push(frame);
        requestAnimationFrame(() => requestAnimationFrame(() => {
          frame.painted = performance.now();
        }));
      });
    }
  };
  for (const type of ["pointerup", "wheel"]) {
    addEventListener(type, () => { window.__bench.gesture = performance.now(); }, true);
  }
})();
"""
# once the map's x range carries the tag of its view drawn (``dashboards.map.drawn_tag``) for the view
# it shows, and has painted it: when, by the page's clock
# and that view is not ``before``, the one drawn before the gesture (a wheel's zoom reaches the
# ranges a moment after the wheel turned)
SHOWN_JS = """
  const scale_bar = Bokeh.documents[0].get_model_by_name("scale_bar");
  const plot = Bokeh.index.find_one(scale_bar).parent.model;
  const box = () => [plot.x_range.start, plot.y_range.start, plot.x_range.end, plot.y_range.end];
  const shown = () => "drawn:" + box().map((v) => v.toFixed(3)).join(",");"""
DRAWN_VIEW_JS = (
    """async (before) => {"""
    + SHOWN_JS
    + """
  const drawn = () => shown() !== before && plot.x_range.tags.includes(shown());
  if (before == null) return shown();
  while (!drawn()) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return performance.now();
}"""
)
# whether the page's own view has left ``before`` within ``wait`` ms: a gesture the page took
# (under load a page now and then lets a drag pass without moving, and nothing is sent)
MOVED_JS = (
    """async ([before, wait]) => {"""
    + SHOWN_JS
    + """
  const until = performance.now() + wait;
  while (shown() === before && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return shown() !== before;
}"""
)
# where a point of EPSG:3857 is on the screen; whether a tooltip shows (in Bokeh's shadow roots)
SCREEN_JS = """([x, y]) => {
  const plot = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name("scale_bar")).parent;
  const canvas = plot.canvas_view.el.getBoundingClientRect();
  return [canvas.left + plot.frame.x_scale.compute(x), canvas.top + plot.frame.y_scale.compute(y)];
}"""
TOOLTIP_JS = """() => {
  const shown = (root) => [...root.querySelectorAll("*")].some((e) =>
    (e.classList.contains("bk-Tooltip") && e.checkVisibility()
     && e.shadowRoot?.querySelector(".bk-tooltip-content")?.innerText.trim())
    || (e.shadowRoot && shown(e.shadowRoot)));
  return shown(document);
}"""
# the messages since ``since`` (ms of the page's clock): painted when, how many bytes
SINCE_JS = """(since) => {
  const after = window.__bench.frames.filter((f) => f.at > since);
  return {now: performance.now(), gesture: window.__bench.gesture,
          last: after.length ? after[after.length - 1].at : null,
          painted: after.length ? after[after.length - 1].painted : null,
          bytes: after.reduce((sum, f) => sum + f.size, 0)};
}"""


@dataclass
class Gestures:
    """What gestures took: seconds from each to its paint, and the bytes each brought."""

    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    not_taken: int = 0  # gestures the page let pass however often they were made

    def add(self, other: Gestures) -> None:
        self.seconds += other.seconds
        self.sizes += other.sizes
        self.not_taken += other.not_taken

    def line(self) -> str:
        ms = np.array(self.seconds) * 1000
        missed = f", {self.not_taken} not taken" if self.not_taken else ""
        return (
            f"{np.median(ms):>6.0f} / {np.percentile(ms, 95):>6.0f} ms"
            f"  {statistics.median(self.sizes) / 1000:>8,.0f} kB  ({len(ms)} gestures{missed})"
        )


async def settled(page, since: float) -> tuple[float, int]:
    """Wait until the page has heard nothing for ``QUIET_S`` after ``since``, and painted what
    it heard; return when that paint was (page's clock, ms) and the bytes it heard."""
    deadline = time.monotonic() + GESTURE_TIMEOUT_S
    while time.monotonic() < deadline:
        seen = await page.evaluate(SINCE_JS, since)
        quiet = seen["last"] is not None and seen["now"] - seen["last"] > QUIET_S * 1000
        if quiet and seen["painted"] is not None:
            return seen["painted"], seen["bytes"]
        await page.wait_for_timeout(100)
    raise SystemExit(f"{page.url}: no answer to a gesture within {GESTURE_TIMEOUT_S} s")


async def signed_in(browser, base: str, password: str) -> dict:
    """The cookies of a planner signed in through the form, for every session to share: the
    benchmark times pages, not sign-ins (which are slowed on purpose)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/login?next=/planner")
    await page.fill("#username", "planer")
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/planner*")
    state = await context.storage_state()
    await context.close()
    return state


async def reopened(page, browser, base: str, cookies: dict, query: str):
    """``page`` closed and the map opened anew: back at the view the planner opens on."""
    await page.context.close()
    return await open_map(browser, base, cookies, query)


async def open_map(browser, base: str, cookies: dict, query: str):
    """A planner's page in a context of its own; and the seconds to the map drawn."""
    context = await browser.new_context(
        viewport={"width": 1600, "height": 1000}, storage_state=cookies
    )
    page = await context.new_page()
    page.set_default_timeout(GESTURE_TIMEOUT_S * 1000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.add_init_script(WATCH_JS)
    await page.goto(f"{base}/planner?{query}")
    drawn, _ = await settled(page, 0)  # the page's clock starts at the navigation
    return page, drawn / 1000


async def gesture(page, kind: str, turn: int, rng: np.random.Generator) -> tuple[float, int] | None:
    """One pan (a drag of random direction and length) or zoom (the wheel at a random place
    in the middle of the map, twice in and twice out); seconds to its paint and the bytes it
    brought (None: the page did not take it). A person seldom comes back to the very same
    view: nor do these."""
    box = await page.locator(".bk-Canvas").first.bounding_box()
    before = await page.evaluate(DRAWN_VIEW_JS, None)
    for _ in range(GESTURE_TRIES):
        # each try from a place of its own, in case what lay there (a tooltip) took the last drag
        x, y = (
            box["x"] + box["width"] * rng.uniform(0.3, 0.7),
            box["y"] + box["height"] * rng.uniform(0.3, 0.7),
        )
        await page.mouse.move(x, y)
        if kind == "pan":
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(*PAN_PX)
            await page.mouse.down()
            await page.mouse.move(x + length * np.cos(angle), y + length * np.sin(angle), steps=6)
            await page.mouse.up()
        else:
            await page.mouse.wheel(0, -400 if turn % 4 < 2 else 400)
        if await page.evaluate(MOVED_JS, [before, MOVE_WAIT_MS]):
            break
    else:  # twenty pages on two cores: counted, not timed
        return None
    started = (await page.evaluate(SINCE_JS, 0))["gesture"]  # the gesture the page took
    try:
        painted = await asyncio.wait_for(page.evaluate(DRAWN_VIEW_JS, before), GESTURE_TIMEOUT_S)
    except TimeoutError:
        raise SystemExit(f"{page.url}: a {kind} not drawn within {GESTURE_TIMEOUT_S} s") from None
    return (painted - started) / 1000, (await page.evaluate(SINCE_JS, started))["bytes"]


async def hover_to_tooltip(page, points: list[tuple[float, float]]) -> str:
    """The pointer brought to rest on each of ``points`` (EPSG:3857): seconds to its tooltip."""
    seconds = []
    for point in points:
        await page.mouse.move(5, 5)  # off the map: the last tooltip goes
        await page.wait_for_function(f"() => !({TOOLTIP_JS})()")
        started = time.perf_counter()
        await page.mouse.move(*await page.evaluate(SCREEN_JS, point))
        await page.wait_for_function(TOOLTIP_JS, polling="raf")
        seconds.append(time.perf_counter() - started)
    ms = np.array(seconds) * 1000
    return f"{np.median(ms):>6.0f} / {np.percentile(ms, 95):>6.0f} ms  ({len(ms)} houses)"


def houses(url: str, count: int) -> list[tuple[float, float]]:
    """A point inside each of ``count`` buildings of the municipality, at random among those
    of 400 m² or more (a pixel or two at its zoom: where a person can rest the pointer)."""
    with get_engine(url, "bench").connect() as conn:
        return conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 3857)"
                " AS p FROM building WHERE ST_Area(geom) >= 400 ORDER BY md5(id::text)"
                " LIMIT :count) AS chosen"
            ),
            {"count": count},
        ).all()


async def gestures(page, kind: str, count: int, seed: int) -> Gestures:
    done, rng = Gestures(), np.random.default_rng(seed)
    for turn in range(count):
        taken = await gesture(page, kind, turn, rng)
        if taken is None:
            done.not_taken += 1
            continue
        done.seconds.append(taken[0])
        done.sizes.append(taken[1])
    return done


async def beside_a_crowd(
    browser, base: str, cookies: dict, query: str, count: int, sessions: int
) -> str:
    """One page in Chromium panning while ``sessions`` - 1 others pan over the websocket
    without a browser (``crowd``), as people at machines of their own would load the server:
    the page's pans, and the crowd's answers."""
    header = "; ".join(f"{c['name']}={c['value']}" for c in cookies["cookies"])
    crowd = [await open_session(base, header, query) for _ in range(sessions - 1)]
    page, _ = await open_map(browser, base, cookies, query)
    stop = asyncio.Event()
    panning = [
        asyncio.create_task(keep_panning(s, box_3857(MUNICIPALITY), i, stop))
        for i, s in enumerate(crowd)
    ]
    started = time.perf_counter()
    done = await gestures(page, "pan", count, seed=sessions)
    stop.set()
    answers = np.array([t for task in panning for t in await task]) * 1000
    served = len(answers) / (time.perf_counter() - started)
    if page.errors:
        print(f"  page errors beside the crowd: {page.errors[:1]}")
    await page.context.close()
    return (
        f"  {f'1 of {sessions} (the rest no browser)':<28}{done.line()}  the others' answers"
        f" {np.median(answers):,.0f} / {np.percentile(answers, 95):,.0f} ms, {served:.1f} pans/s"
    )


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no resident memory for process {pid}")


async def measure(
    base: str,
    password: str,
    pid: int,
    count: int,
    crowds: list[int],
    maps: dict[str, str],
    pointed: list[tuple[float, float]],
) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        cookies = await signed_in(browser, base, password)
        warm, _ = await open_map(browser, base, cookies, next(iter(maps.values())))
        await warm.context.close()  # a live server has served pages before
        for name, query in maps.items():
            print(f"\n{name}")
            opened = []
            for _ in range(3):
                page, seconds = await open_map(browser, base, cookies, query)
                opened.append(seconds)
                await page.context.close()
            print(f"  {'open to map drawn':<28}{statistics.median(opened):>6.2f} s"
                  f"  (median of 3; target {TARGETS['open']})")  # fmt: skip
            page, _ = await open_map(browser, base, cookies, query)
            for kind in ("pan", "zoom"):
                done = await gestures(page, kind, count, seed=len(kind))
                print(f"  {kind + '-to-paint, median / p95':<28}{done.line()}")
            errors = page.errors
            if "buildings" in query:  # the municipality's view, drawn as an image
                page, _ = await reopened(page, browser, base, cookies, query)
                print(f"  {'hover-to-tooltip':<28}{await hover_to_tooltip(page, pointed)}")
                errors += page.errors
            SHOTS.mkdir(parents=True, exist_ok=True)  # to look at what was measured
            await page.screenshot(path=SHOTS / f"bench-{query.rsplit(',', 1)[-1]}.png")
            await page.context.close()
            for sessions in crowds:
                before = resident_mib(pid)
                pages = []  # opened one after the other, as people come to work
                for _ in range(sessions):
                    pages.append((await open_map(browser, base, cookies, query))[0])
                after = resident_mib(pid)
                each = max(3, -(-count // sessions))
                crowd = Gestures()
                for done in await asyncio.gather(
                    *(gestures(p, "pan", each, sessions * 100 + i) for i, p in enumerate(pages))
                ):
                    crowd.add(done)
                errors += [e for p in pages for e in p.errors]
                # the server frees closed sessions meanwhile: a rough figure, not a ledger
                print(f"  {f'{sessions} panning at once':<28}{crowd.line()}  server"
                      f" {before:,.0f} → {after:,.0f} MiB with them open")  # fmt: skip
                await asyncio.gather(*(p.context.close() for p in pages))
            for sessions in [n for n in crowds if n > 1]:
                print(await beside_a_crowd(browser, base, cookies, query, count, sessions))
            print(f"  page errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        await browser.close()
    print(
        f"\ntargets: pan-to-paint {TARGETS['pan']}, {TARGETS['bytes']} a pan over the readings,"
        f" 20 sessions {TARGETS['crowd']} and ≤ 15 MiB a session"
    )


async def open_wall(base: str, link: str) -> float:
    """Seconds from opening the wall display at 3840×2160 to its first tile's figure shown."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = await browser.new_context(viewport={"width": 3840, "height": 2160})
        page = await context.new_page()
        started = time.perf_counter()
        await page.goto(base + link)
        await page.wait_for_selector(".tile .value", state="visible", timeout=WALL_TIMEOUT_MS)
        seconds = time.perf_counter() - started
        await browser.close()
    return seconds


def serve_and_measure(
    database: dict[str, str], args, maps: dict[str, str], wall: bool = False
) -> None:
    """Start the server over ``database`` (the project's own when empty) and measure ``maps``,
    and the wall display when ``wall``."""
    crowds = [int(n) for n in args.sessions.split(",") if n]
    pointed = houses(database.get("DATABASE_URL") or database_urls().reader, args.gestures)
    with served(database) as server:
        measured = measure(
            server.base, server.password, server.pid, args.gestures, crowds, maps, pointed
        )
        asyncio.run(measured)
        if wall:
            opened = [asyncio.run(open_wall(server.base, server.device_link)) for _ in range(3)]
            print("\nwall display at 3840×2160")
            print(f"  {'open to first tile shown':<28}{statistics.median(opened):>6.2f} s"
                  "  (median of 3; target ≤ 3 s)")  # fmt: skip


def load_readings(engine, readings: int) -> None:
    """The sample, and ``readings`` PM10 readings of the last week from sensors of their own."""
    load_profile_data(engine, load_profile("ptuj"), progress=False)
    end = pd.Timestamp.now(tz="UTC").floor("min")
    with tempfile.TemporaryDirectory() as folder:
        sensors, parquet = write_files(Path(folder), readings, end, days=7)
        load_file(engine, sensors, "sensors", LoadOptions(mode="append", progress=False))
        load_file(engine, parquet, "sensor_readings", LoadOptions(progress=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gestures", type=int, default=20)
    parser.add_argument("--sessions", default="1,5,20")
    parser.add_argument(
        "--buildings", type=int, default=0,
        help="the buildings' map only, with this many buildings (the sample's and more"
        " scattered over the municipality) in a schema of the benchmark's own",
    )  # fmt: skip
    parser.add_argument(
        "--readings", type=int, default=0,
        help="the readings' map only, over this many readings of the last week",
    )  # fmt: skip
    args = parser.parse_args()
    if args.readings:
        with scratch_schema("browser") as url:
            load_readings(get_engine(url, "bench"), args.readings)
            print(
                f"Chromium against the planner's page, {args.readings:,} readings of the week"
                f" shown, {args.gestures} gestures a measure"
            )
            serve_and_measure({"DATABASE_URL": url, "DATABASE_READER_URL": url}, args, WEEK)
        return
    if not args.buildings:
        print(
            f"Chromium against the planner's page, the sample, {args.gestures} gestures a measure"
        )
        serve_and_measure({}, args, MAPS, wall=True)
        return
    with scratch_schema("browser") as url:
        engine = get_engine(url, "bench")
        load_profile_data(engine, load_profile("ptuj"), progress=False)
        with engine.connect() as conn:
            have = conn.scalar(text("SELECT count(*) FROM building"))
        if args.buildings > have:  # fewer asked for than the sample's: the sample's all
            with tempfile.TemporaryDirectory() as folder:
                extra = extra_buildings(engine, args.buildings - have, Path(folder))
                load_file(engine, extra, "buildings", LoadOptions(mode="append", progress=False))
        print(
            f"Chromium against the planner's page, {max(args.buildings, have):,} buildings,"
            f" {args.gestures} gestures a measure"
        )
        buildings = {k: v for k, v in MAPS.items() if "buildings" in v}
        serve_and_measure({"DATABASE_URL": url, "DATABASE_READER_URL": url}, args, buildings)


if __name__ == "__main__":
    main()
