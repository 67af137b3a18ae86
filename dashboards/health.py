"""``/health``: JSON for the municipality's monitoring: is the database reachable, how old is
each layer's newest data. No sign-in needed, and nothing secret in it."""

from __future__ import annotations

import datetime as dt
import json

import tornado.web
from sqlalchemy import Engine, text

from layers.db import DATABASE_ERRORS


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, engine: Engine) -> None:
        self.engine = engine

    def get(self) -> None:
        now = dt.datetime.now(dt.UTC)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT layer, max(loaded_at) FROM dataset_load GROUP BY layer ORDER BY layer"
                    )
                ).all()
            reachable = True
        except DATABASE_ERRORS:
            rows, reachable = [], False
        body = {
            "status": "ok" if reachable else "database unreachable",
            "checked_at": now.isoformat(timespec="seconds"),
            "database": {"reachable": reachable},
            "layers": {
                layer: {
                    "newest_data": loaded.isoformat(timespec="seconds"),
                    "age_hours": round((now - loaded).total_seconds() / 3600, 2),
                }
                for layer, loaded in rows
            },
        }
        self.set_status(200 if reachable else 503)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(body, ensure_ascii=False))
