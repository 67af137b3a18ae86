"""``/health``: JSON for the municipality's monitoring: is the database reachable, how old is
each layer's newest data, how the live feed's ingest keeps up (its lag, rate and dead letters),
how long the server's event loop was last held up. No sign-in needed, and nothing secret in it."""

from __future__ import annotations

import collections
import datetime as dt
import json
import time

import tornado.ioloop
import tornado.web
from sqlalchemy import Engine

from dashboards.access import off_loop
from layers.catalog import feed_health, newest_times
from layers.db import DATABASE_ERRORS

TICK_MS = 100
WINDOW_S = 60


class LoopWatch:
    """How long the event loop was held up: a tick every ``TICK_MS`` notes how late it came.

    Every request, every page's websocket and every sign-in wait on this one loop; a tick that
    comes a second late means everyone waited a second. The worst of the last minute is kept.
    """

    def __init__(self) -> None:
        self._last: float | None = None
        self._late: collections.deque[tuple[float, float]] = collections.deque()

    def start(self) -> None:
        """Start ticking on the running loop."""
        tornado.ioloop.PeriodicCallback(self._tick, TICK_MS).start()

    def _tick(self) -> None:
        now = time.monotonic()
        if self._last is not None:
            self._late.append((now, max(0.0, (now - self._last) * 1000 - TICK_MS)))
        self._last = now
        while self._late and self._late[0][0] < now - WINDOW_S:
            self._late.popleft()

    def worst_ms(self) -> float:
        """The longest the loop was held in the last minute, in milliseconds."""
        return max((late for _, late in self._late), default=0.0)


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, engine: Engine, watch: LoopWatch) -> None:
        self.engine, self.watch = engine, watch

    async def get(self) -> None:
        now = dt.datetime.now(dt.UTC)
        try:  # on a worker thread: a slow or vanished database holds up no other request
            (loaded, feeds), reachable = await off_loop(self._read), True
        except DATABASE_ERRORS:
            loaded, feeds, reachable = {}, {}, False
        body = {
            "status": "ok" if reachable else "database unreachable",
            "checked_at": now.isoformat(timespec="seconds"),
            "database": {"reachable": reachable},
            "event_loop": {"held_ms_worst_last_minute": round(self.watch.worst_ms())},
            "layers": {
                layer: {
                    "newest_data": when.isoformat(timespec="seconds"),
                    "age_hours": round((now - when).total_seconds() / 3600, 2),
                }
                for layer, when in loaded.items()
            },
            "feeds": feeds,
        }
        self.set_status(200 if reachable else 503)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(body, ensure_ascii=False))

    def _read(self) -> tuple[dict, dict]:
        with self.engine.connect() as conn:
            return newest_times(conn), feed_health(conn)
