"""``/health``: JSON for the municipality's monitoring: is the database reachable, how old is
each layer's newest data. No sign-in needed, and nothing secret in it."""

from __future__ import annotations

import datetime as dt
import json

import tornado.web
from sqlalchemy import Engine

from layers.catalog import newest_times
from layers.db import DATABASE_ERRORS


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, engine: Engine) -> None:
        self.engine = engine

    def get(self) -> None:
        now = dt.datetime.now(dt.UTC)
        try:
            with self.engine.connect() as conn:
                loaded = newest_times(conn)
            reachable = True
        except DATABASE_ERRORS:
            loaded, reachable = {}, False
        body = {
            "status": "ok" if reachable else "database unreachable",
            "checked_at": now.isoformat(timespec="seconds"),
            "database": {"reachable": reachable},
            "layers": {
                layer: {
                    "newest_data": when.isoformat(timespec="seconds"),
                    "age_hours": round((now - when).total_seconds() / 3600, 2),
                }
                for layer, when in loaded.items()
            },
        }
        self.set_status(200 if reachable else 503)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(body, ensure_ascii=False))
