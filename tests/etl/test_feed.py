"""The sample's feed simulator through the broker and the ingest: the sample's working sensors
report from now on, the silent ones do not, and /health tells how the feed keeps up."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.request

from sqlalchemy import text

from layers.db import ROOT
from layers.sensor_kinds import sensor_kinds
from tests.dashboards.conftest import start_server, stop_server
from tests.etl.feeding import brokers, handled, ingesting, new_root, stored, wait_until


def test_the_sample_reports_live_and_health_tells_how_the_feed_keeps_up(
    sample_database, database, tmp_path
):
    with database.writer.begin() as conn:
        conn.execute(
            text(f'INSERT INTO sensor SELECT * FROM "{sample_database.schema}".sensor')  # noqa: S608
        )
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM sensor GROUP BY status")).all()
        )
    working = statuses["deluje"]
    assert working > 100 and statuses.keys() > {"deluje"}  # the sample has silent sensors too
    root = new_root()
    _, feed_url = brokers()
    started = dt.datetime.now(dt.UTC)
    with ingesting(database, root):
        feed = subprocess.Popen(
            [sys.executable, "-m", "data.sample.feed", "--root", root],
            cwd=ROOT,
            env={**database.environment(), "GIS_MQTT_FEED_URL": feed_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # on start each working sensor sends the reading of its last due time, except the
            # odd one that has just fallen silent
            wait_until(lambda: stored(database) >= working * 0.95, "the sensors' first readings")
        finally:
            feed.terminate()
            output = feed.communicate(timeout=60)[0]
        wait_until(lambda: handled(database) == stored(database), "every message committed")
        server = start_server(database, tmp_path / "app")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=30) as answer:
                health = json.load(answer)
        finally:
            stop_server(server)
    assert "readings published" in output
    with database.writer.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.code, s.kind, s.status, count(*), min(r.observed_at), max(r.value)"
                " FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id GROUP BY 1, 2, 3"
            )
        ).all()
    assert {status for _, _, status, *_ in rows} == {"deluje"}  # the silent stay silent
    kinds = sensor_kinds()
    for code, kind, _, count, first, highest in rows:
        assert count <= 2, code  # one reading a cadence (a second if its next came meanwhile)
        assert started - dt.timedelta(seconds=kinds[kind].cadence_s) <= first, code
        assert highest <= kinds[kind].valid[1], code
    feed_health = health["feeds"]["sensor_readings"]
    assert feed_health["totals"]["readings"] == stored(database)
    assert feed_health["readings_per_second"] > 0
    assert feed_health["dead_letters_last_hour"] == 0
    assert 0 <= feed_health["lag_seconds"] < 5
    assert health["layers"]["sensor_readings"]["age_hours"] < 0.1
