"""The live feed in tests: the project's own broker, the ingest as its own process, a sensor's
publisher, and counts of what the database holds."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from itertools import count

import pytest
from sqlalchemy import text

from etl.broker import Broker
from layers.db import ROOT
from layers.settings import read_settings

DEADLINE_S = 60
ROOTS = count()


def brokers() -> tuple[str, str]:
    """The ingest's and the sensors' broker URLs; the test fails without a broker."""
    settings = read_settings()
    if not (settings.mqtt_url and settings.mqtt_feed_url):
        pytest.fail(
            "no MQTT broker: run `make mqtt` (or `make test`), or set GIS_MQTT_URL and GIS_MQTT_FEED_URL"
        )
    return settings.mqtt_url, settings.mqtt_feed_url


def new_root() -> str:
    """A topic root of the test's own, so no other test's messages (or session) reach it."""
    return f"t{os.getpid()}x{next(ROOTS)}x{time.time_ns() % 10**6}"


class Ingest:
    """``python -m etl listen`` against ``database``, its output read line by line."""

    def __init__(self, database, root: str) -> None:
        self.database, self.root = database, root
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process: subprocess.Popen | None = None

    def start(self) -> Ingest:
        ingest_url, _ = brokers()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "etl", "listen", "--root", self.root],
            cwd=ROOT,
            env={**self.database.environment(), "GIS_MQTT_URL": ingest_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        self.wait_for("subscribed to")
        return self

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, words: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                if words in self.lines.get(timeout=1):
                    return
            except queue.Empty:
                assert self.process.poll() is None, f"the ingest ended: {''.join(self.output)}"
        pytest.fail(f"the ingest never said {words!r}: {''.join(self.output)}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> str:
        """Stop it as the service manager would (SIGTERM); what it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        return "".join(self.output)


@contextlib.contextmanager
def ingesting(database, root: str) -> Iterator[Ingest]:
    ingest = Ingest(database, root).start()
    try:
        yield ingest
    finally:
        ingest.stop()


class Sensors:
    """A publisher with the sensors' account, every message at QoS 1 and waited for."""

    def __init__(self, root: str) -> None:
        _, feed_url = brokers()
        self.root = root
        self.broker = Broker.from_url(feed_url)
        self.client = self.broker.client(f"test-sensors-{root}")
        self.client.max_queued_messages_set(0)
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()

    def publish(self, code: str, body: object, topic: str | None = None) -> None:
        """Send and wait until the broker has it."""
        self.send(code, body, topic).wait_for_publish(DEADLINE_S)

    def send(self, code: str, body: object, topic: str | None = None):
        """Send without waiting: while the broker is away the message waits in the client."""
        payload = body if isinstance(body, bytes) else json.dumps(body)
        return self.client.publish(topic or f"{self.root}/sensors/{code}/readings", payload, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def stored(database) -> int:
    with database.writer.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM sensor_reading"))


def distinct_stored(database) -> int:
    with database.writer.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT DISTINCT sensor_id, observed_at FROM sensor_reading) d"
            )
        )


def dead_letters(database) -> dict[str, int]:
    with database.writer.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT reason, count(*) FROM feed_dead_letter GROUP BY reason")
            ).all()
        )


def handled(database) -> int:
    """Messages the ingest has committed (stored or refused), by its totals."""
    with database.writer.connect() as conn:
        return conn.scalar(text("SELECT coalesce(sum(messages), 0) FROM feed_state")) or 0


def wait_until(condition, what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)
