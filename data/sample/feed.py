"""The sample's sensors, live: ``python -m data.sample.feed`` publishes their readings over MQTT
from now on, as a municipality's sensor network would (started by ``make run``).

Each sensor of the sample in the database reports at its kind's cadence (``cadence_s`` in
``layers/sensor_kinds.toml``) to ``<profile>/sensors/<code>/readings``, one JSON reading a
message, valued by the sample's own model (``data.sample.sensor_models.model``), so the daily and
weekly cycles go on. So do the faults: sensors out of order or removed stay silent, and a
working one now and then falls silent for a while, sticks at one value or spikes. On start every
working sensor sends the reading of its last due time, so the wall is live at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import threading
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from data.sample.sensor_models import LOCAL_ZONE, SampleSensor, model
from etl.broker import Broker
from layers.db import database_urls, get_engine
from layers.sensor_kinds import sensor_kinds
from layers.settings import read_settings

log = logging.getLogger(__name__)

SILENT = ("v okvari", "odstranjen")  # out of order, removed: they send nothing
FALLS_SILENT = 0.002  # the chance, at each reading, that a sensor stops for a while
STICKS = 0.003  # ... that it repeats one value for a while
SPIKES = 0.0005  # ... that a reading is three times what it should be


@dataclass
class Live:
    """A sensor of the feed: what it is, when it reports next, and the fault it is in."""

    sensor: SampleSensor
    cadence_s: float
    due: float  # seconds since 1970
    silent_for: int = 0  # readings not sent
    stuck_for: int = 0  # readings that repeat ``stuck_at``
    stuck_at: float = 0.0


def live_sensors(engine: Engine, now: float) -> list[Live]:
    """The sample's working sensors, each due at its last time on its cadence up to ``now``,
    or at the next one if that reading is stored already (the feed ran a moment ago).

    Sensors start at their own offset within the cadence, so they do not all report at once.
    """
    kinds = sensor_kinds()
    longest = max(kind.cadence_s for kind in kinds.values())
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT code, kind, status, ST_X(geom), ST_Y(geom),"
                " (SELECT extract(epoch FROM max(observed_at))::float8 FROM sensor_reading r"
                "   WHERE r.sensor_id = s.id"
                "   AND observed_at > now() - make_interval(secs => :longest))"
                " FROM sensor s ORDER BY code"
            ),
            {"longest": longest},
        ).all()
    sensors = []
    for code, kind, status, x, y, newest in rows:
        if status in SILENT or kind not in kinds:
            continue
        cadence = kinds[kind].cadence_s
        offset = zlib.crc32(code.encode()) % int(cadence)
        due = (now - offset) // cadence * cadence + offset
        if newest is not None and newest >= due:
            due += cadence
        sample = SampleSensor(
            code, kind, shapely.Point(x, y), status, dt.date.today(), cadence / 60, 0, 1.0
        )
        sensors.append(Live(sample, cadence, due))
    return sensors


def reading(live: Live, rng: np.random.Generator) -> dict | None:
    """The sensor's reading at its due time (a JSON object), or None while it is silent."""
    if live.silent_for or rng.random() < FALLS_SILENT:
        live.silent_for = live.silent_for - 1 if live.silent_for else int(rng.integers(3, 30))
        return None
    at = pd.DatetimeIndex([pd.Timestamp(live.due, unit="s", tz="UTC")])
    value = float(model(live.sensor, at, rng)[0])
    if live.stuck_for:
        live.stuck_for -= 1
        value = live.stuck_at
    elif rng.random() < STICKS:
        live.stuck_for, live.stuck_at = int(rng.integers(5, 20)), value
    elif rng.random() < SPIKES:
        value = min(value * 3, sensor_kinds()[live.sensor.kind].valid[1])
    local = at[0].tz_convert(LOCAL_ZONE)
    return {"observed_at": local.isoformat(), "value": round(value, 3)}


def run(engine: Engine, broker: Broker, root: str, stop: threading.Event) -> int:
    """Publish until ``stop`` is set; returns how many readings were published."""
    client = broker.client(f"obcinski-zemljevid-feed-{root}")
    client.max_queued_messages_set(0)  # while the broker is away, readings wait in memory
    client.connect_async(broker.host, broker.port, keepalive=30)
    client.loop_start()
    rng = np.random.default_rng()
    sensors = live_sensors(engine, dt.datetime.now(dt.UTC).timestamp())
    log.info("feed: %d sensors reporting to %s/sensors/+/readings", len(sensors), root)
    published = 0
    try:
        while not stop.is_set():
            now = dt.datetime.now(dt.UTC).timestamp()
            for live in sensors:
                while live.due <= now:
                    body = reading(live, rng)
                    if body is not None:
                        topic = f"{root}/sensors/{live.sensor.code}/readings"
                        client.publish(topic, json.dumps(body), qos=1)
                        published += 1
                    live.due += live.cadence_s
            stop.wait(max(0.05, min(live.due for live in sensors) - now) if sensors else 1.0)
    finally:
        client.disconnect()
        client.loop_stop()
    return published


def main(argv: list[str] | None = None) -> None:
    """The command line: publish the sample's readings until SIGTERM or SIGINT."""
    settings = read_settings()
    parser = argparse.ArgumentParser(
        prog="python -m data.sample.feed",
        description="Publish the sample sensors' readings over MQTT (GIS_MQTT_FEED_URL).",
    )
    parser.add_argument("--root", default=settings.profile, help="the topics' first level")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    engine = get_engine(database_urls().reader, "feed")
    published = run(engine, Broker.from_url(settings.mqtt_feed_url), args.root, stop)
    print(f"feed stopped: {published} readings published / simulator ustavljen")


if __name__ == "__main__":
    main()
