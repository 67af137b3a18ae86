"""The live feed's ingest (``python -m etl listen``) against the project's own mosquitto and
PostGIS: what it stores, what it refuses and why, and that nothing acknowledged is lost or
stored twice when it is killed, or the broker or the database goes away."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from layers.db import ROOT
from layers.readings import TOP_UP_SECONDS, reading_cache
from layers.registry import LAYERS
from tests.dashboards.test_wall_browser import project_cluster
from tests.etl.feeding import (
    Ingest,
    Sensors,
    brokers,
    dead_letters,
    distinct_stored,
    handled,
    ingesting,
    new_root,
    stored,
    wait_until,
)
from tests.etl.killing import is_running

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
EMPTY = SimpleNamespace(t=())


def at(minutes: float) -> str:
    return (NOW - dt.timedelta(minutes=minutes)).isoformat()


def in_messages(messages: int, per_message: int, step: dt.timedelta) -> list[list[dict]]:
    """Distinct readings of one sensor, ``step`` apart back from now, ``per_message`` a message."""
    return [
        [
            {"observed_at": (NOW - step * (m * per_message + r)).isoformat(), "value": r}
            for r in range(per_message)
        ]
        for m in range(messages)
    ]


def test_good_readings_are_stored_and_each_refusal_is_kept_with_its_reason(sensors):
    root = new_root()
    publisher = Sensors(root)
    big = b"[" + b"1," * (5 << 20) + b"1]"  # 10 MB
    with ingesting(sensors, root) as ingest:
        publisher.publish("ZRAK-T1", {"observed_at": at(30), "value": 21.5})
        wait_until(lambda: handled(sensors) == 1, "the first message committed")
        publisher.publish(
            "PARK-T1", [{"observed_at": at(m), "value": 100 * (m % 2)} for m in range(10)]
        )
        publisher.publish("ZRAK-T1", {"observed_at": at(30), "value": 21.5})  # sent again
        publisher.publish("ZRAK-T1", b"{not json")
        publisher.publish("ZRAK-T1", big)
        publisher.publish("", {}, topic=f"{root}/sensors/ZRAK-T1/status")
        publisher.publish("NI-GA", {"observed_at": at(1), "value": 3})
        publisher.publish("ZRAK-T1", {"observed_at": "1970-01-01T00:00:00Z", "value": 3})
        publisher.publish("ZRAK-T1", {"observed_at": at(-60 * 24 * 365), "value": 3})
        publisher.publish("ZRAK-T1", {"observed_at": at(2), "value": 5000})
        publisher.publish("ZRAK-T1", {"observed_at": at(3), "value": "veliko"})
        publisher.publish("PARK-T1", {"observed_at": "2025-01-01T12:00:00", "value": 0})
        wait_until(lambda: handled(sensors) == 12, "every message committed")
        assert ingest.process.poll() is None  # it runs on
    publisher.close()

    assert stored(sensors) == 11
    assert distinct_stored(sensors) == 11
    assert dead_letters(sensors) == {
        "duplicate: already loaded": 1,
        "malformed JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)": 1,
        f"payload of {len(big)} bytes, over 1048576": 1,
        f"topic outside {root}/sensors/+/readings": 1,
        "unknown sensor": 1,
        "before 2000: the sensor's clock was not set": 1,
        "in the future": 1,
        "outside what the sensor's kind can measure": 1,
        "not a number": 1,
        "before the sensor was installed": 1,
    }
    with sensors.writer.connect() as conn:
        payload, size = conn.execute(
            text("SELECT payload, payload_bytes FROM feed_dead_letter WHERE reason LIKE 'payload%'")
        ).one()
        totals = conn.execute(text("SELECT messages, readings, refused FROM feed_state")).one()
        means = conn.execute(text("SELECT station, mean, readings FROM open_air_quality_hourly"))
        public = [tuple(m) for m in means]
    assert len(payload) == 4096 and size > 10_000_000  # the evidence kept, bounded
    assert tuple(totals) == (12, 11, 10)
    assert public == [("ZRAK-T1", 21.5, 1)]  # the air station's hour, not the parking bay's


def test_a_reading_sent_by_a_client_of_others_is_stored(sensors):
    """mosquitto's own publisher, as a sensor network's gateway would send."""
    root = new_root()
    _, feed_url = brokers()
    with ingesting(sensors, root):
        subprocess.run(
            [
                "mosquitto_pub",
                "-L",
                f"{feed_url}/{root}/sensors/ZRAK-T1/readings",
                "-q",
                "1",
                "-m",
                f'{{"observed_at": "{at(5)}", "value": "17,25"}}',
            ],
            check=True,
            timeout=30,
        )
        wait_until(lambda: stored(sensors) == 1, "the reading stored")
    with sensors.writer.connect() as conn:
        value = conn.scalar(text("SELECT value FROM sensor_reading"))
    assert value == pytest.approx(17.25)  # a decimal comma, as files may have it


def test_a_flooding_sensor_is_absorbed_and_the_others_still_arrive(sensors):
    root = new_root()
    publisher = Sensors(root)
    flood = [
        {"observed_at": (NOW - dt.timedelta(seconds=3600 - i / 1000)).isoformat(), "value": 20}
        for i in range(3000)
    ]
    with ingesting(sensors, root) as ingest:
        for reading in flood:  # one message each, as fast as the broker takes them
            publisher.send("ZRAK-T1", reading)
        publisher.publish("PARK-T1", {"observed_at": at(1), "value": 100})
        wait_until(lambda: handled(sensors) == 3001, "the flood committed")
        assert ingest.process.poll() is None
    publisher.close()
    assert stored(sensors) == 3001
    assert dead_letters(sensors) == {}


def test_killed_mid_batch_it_loses_nothing_and_stores_nothing_twice(sensors):
    """SIGKILL with a batch written but not committed (held at its record by a lock), then
    again at a random moment of a stream; the broker delivers what was not acknowledged."""
    root = new_root()
    publisher = Sensors(root)
    readings = in_messages(200, 50, dt.timedelta(seconds=1))  # 10,000 readings
    first = Ingest(sensors, root).start()
    with sensors.writer.connect() as blocker:
        blocker.execute(text("LOCK TABLE feed_state IN SHARE MODE"))
        for batch in readings[:100]:
            publisher.publish("ZRAK-T1", batch)
        wait_until(lambda: is_running(sensors, "INSERT INTO feed_state"), "the batch at its record")
        first.kill()
        blocker.rollback()
    assert stored(sensors) == 0  # nothing of the killed batch was committed
    second = Ingest(sensors, root).start()
    for batch in readings[100:]:
        publisher.publish("ZRAK-T1", batch)
    wait_until(lambda: stored(sensors) >= 2000, "a part stored")
    second.kill()  # wherever it is
    with ingesting(sensors, root):
        wait_until(lambda: stored(sensors) == 10_000, "every reading stored", 120)
    publisher.close()
    assert distinct_stored(sensors) == 10_000
    assert set(dead_letters(sensors)) <= {"duplicate: already loaded"}  # redelivered, refused


@pytest.mark.outage
def test_the_broker_and_the_database_going_away_lose_nothing(sensors):
    root = new_root()
    publisher = Sensors(root)
    batches = in_messages(30, 60, dt.timedelta(minutes=1))  # 1,800 readings
    with ingesting(sensors, root) as ingest:
        for batch in batches[:10]:
            publisher.publish("ZRAK-T1", batch)
        broker("stop")
        for batch in batches[10:20]:  # kept by the publisher until the broker is back
            publisher.send("ZRAK-T1", batch)
        broker("start")
        wait_until(lambda: stored(sensors) == 1200, "what was sent around the broker's restart")
        project_cluster("stop")
        try:
            for batch in batches[20:]:
                publisher.publish("ZRAK-T1", batch)
            ingest.wait_for("batch not stored")  # it holds the batch and tries again
        finally:
            project_cluster("start")
        wait_until(lambda: stored(sensors) == 1800, "what came while the database was away", 120)
        assert ingest.process.poll() is None
    publisher.close()
    assert distinct_stored(sensors) == 1800


def test_the_maps_readings_have_a_fed_reading_within_seconds(sensors):
    """The dashboards' cache hears of each batch (NOTIFY) instead of looking every 30 s."""
    cache = reading_cache(sensors.reader, LAYERS["sensor_readings"])
    root = new_root()
    publisher = Sensors(root)
    with ingesting(sensors, root):
        publisher.publish("ZRAK-T1", {"observed_at": at(1), "value": 42})
        wait_until(lambda: handled(sensors) == 1, "the reading committed")
        committed = time.monotonic()
        wait_until(lambda: len(cache.snapshot.kinds.get("pm10", EMPTY).t) == 1, "in the cache", 20)
        waited = time.monotonic() - committed
    publisher.close()
    assert waited < TOP_UP_SECONDS / 3, f"{waited:.1f} s: the cache looked on its own, not told"
    assert cache.snapshot.kinds["pm10"].value[0] == 42


def broker(action: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "mqtt.sh"), action], check=True, timeout=60)


def test_without_a_broker_it_says_how_to_start_one(database):
    result = subprocess.run(
        [sys.executable, "-m", "etl", "listen"],
        cwd=ROOT,
        env={**database.environment(), "GIS_MQTT_URL": "http://nowhere"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "make mqtt" in result.stderr and "posrednik" in result.stderr
