"""The live feed's ingest, ``python -m etl listen``: sensor readings over MQTT into PostGIS.

A sensor (or its network's server) publishes to ``<profile>/sensors/<code>/readings`` one
reading as JSON, ``{"observed_at": "2026-12-02T17:00:00+01:00", "value": 23.4}``, or a batch of
them as a JSON array of such objects. Times without an offset are Slovenian local time, as in
files.

The ingest holds a persistent session at QoS 1 and gathers what arrives into micro-batches (a
second, or ``BATCH_READINGS`` readings). A batch is checked as a file of readings is
(``etl.readings.check_batch``: unknown sensor, no time, not a number, outside the kind's range,
in the future or before the sensor was installed, already stored), and its good readings, its
record and what it refused are written in one transaction; only after the commit are its
messages acknowledged. A message not acknowledged (the ingest killed, the database away) comes
again from the broker, and what of it was stored already is refused as a duplicate by its
(sensor, time): delivered at least once, each reading is stored once.

What is refused goes to ``feed_dead_letter`` with its reason: a whole message (a topic outside
the pattern, more than ``MAX_PAYLOAD`` bytes, not JSON, not readings) or one reading of one.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from etl import pgcopy
from etl.alerts import evaluate_alerts
from etl.broker import Broker
from etl.catalog import reserve_load_id
from etl.load import LoadReport
from etl.readings import (
    begin_staging,
    check_batch,
    copy_rows,
    drop_duplicates,
    insert_staged,
    known_sensors,
    may_repeat,
    pair_hashes,
)
from layers.spec import LayerSpec

log = logging.getLogger(__name__)

BATCH_SECONDS = 1.0
BATCH_READINGS = 10_000
MAX_PAYLOAD = 1 << 20
KEPT_PAYLOAD = 4096  # of a refused message's payload, in the dead-letter table
SESSION_SECONDS = 14 * 86_400  # how long the broker keeps the session and its queue offline
RECEIVE_MAXIMUM = 65_535  # messages the broker may send ahead of their acknowledgements
EVALUATION_SECONDS = 1.0  # alerts are evaluated after a batch, at most this often
SUMMARY_SECONDS = 60  # how often the log says what was stored (a batch a second is too many)
RETRY_SECONDS = (1, 2, 5, 10)  # waits between tries of a batch the database did not take


def topic_pattern(root: str) -> str:
    """The topic every reading is published on, ``+`` standing for the sensor's code."""
    return f"{root}/sensors/+/readings"


@dataclass(frozen=True)
class Message:
    """A message as the broker delivered it, with when it arrived (seconds since 1970)."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: float


@dataclass
class Batch:
    """Messages gathered for one transaction: their readings, and the messages refused whole."""

    messages: list[Message] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # sensor, observed_at, value, message
    refused: list[tuple[int, str]] = field(default_factory=list)  # (message, reason)

    def add(self, message: Message, root: str) -> None:
        """Read ``message`` into the batch: its readings, or why it is refused whole."""
        index = len(self.messages)
        self.messages.append(message)
        readings, reason = read_message(message, root)
        if reason:
            self.refused.append((index, reason))
        for reading in readings:
            self.rows.append({**reading, "message": index})


def read_message(message: Message, root: str) -> tuple[list[dict], str]:
    """The readings of ``message`` (sensor, observed_at, value), or none and why."""
    levels = message.topic.split("/")
    if len(levels) != 4 or [levels[0], levels[1], levels[3]] != [root, "sensors", "readings"]:
        return [], f"topic outside {topic_pattern(root)}"
    if not levels[2]:
        return [], "no sensor code in the topic"
    if len(message.payload) > MAX_PAYLOAD:
        return [], f"payload of {len(message.payload)} bytes, over {MAX_PAYLOAD}"
    try:
        body = json.loads(message.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], f"malformed JSON: {exc}"
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(item, dict) for item in items):
        return [], 'not a reading {"observed_at", "value"} nor a list of them'
    return [
        {
            "sensor": levels[2],
            "observed_at": _text(item.get("observed_at")),
            "value": _number(item.get("value")),
        }
        for item in items
    ], ""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> float | str | None:
    """A JSON number or numeric text as the file path reads it; anything else is no number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return value


@dataclass(frozen=True)
class Written:
    """What one batch stored and refused."""

    batch_id: int
    readings: int
    refused: Counter


def write_batch(conn: Connection, spec: LayerSpec, batch: Batch) -> Written:
    """Check and store ``batch`` in the caller's transaction; see the module's docstring."""
    begin_staging(conn, spec)
    frame = pd.DataFrame(batch.rows, columns=["sensor", "observed_at", "value", "message"])
    frame.insert(0, "row", range(len(frame)))
    good, refused = check_batch(frame.drop(columns="message"), known_sensors(conn), _now())
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy("COPY etl_readings FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(pgcopy.HEADER + copy_rows(good) + pgcopy.TRAILER)
    report = LoadReport(spec.id, Path(spec.id))  # the file path's tally; the feed keeps its own
    duplicates = drop_duplicates(
        conn,
        spec,
        report,
        may_repeat([pair_hashes(good)]),
        repeated="duplicate: the same sensor and time came twice",
    )
    refused = pd.concat([refused, *duplicates], ignore_index=True)
    batch_id = reserve_load_id(conn)
    insert_staged(conn, spec, batch_id)
    stored = len(good) - sum(len(d) for d in duplicates)
    letters = _dead_letters(batch, refused)
    _record(conn, spec, batch, batch_id, stored, len(letters), good)
    _write_dead_letters(conn, spec, letters)
    return Written(batch_id, stored, Counter(letter[2] for letter in letters))


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _dead_letters(batch: Batch, refused: pd.DataFrame) -> list[tuple]:
    """(received_at, topic, reason, payload, payload_bytes) of everything the batch refused."""
    letters = []
    for index, reason in batch.refused:
        message = batch.messages[index]
        kept = message.payload[:KEPT_PAYLOAD].decode("utf-8", errors="replace")
        letters.append((message.received_at, message.topic, reason, kept, len(message.payload)))
    for row, reason in zip(refused["row"], refused["reject_reason"], strict=True):
        source = batch.rows[int(row)]
        message = batch.messages[source["message"]]
        reading = json.dumps({"observed_at": source["observed_at"], "value": source["value"]})
        letters.append((message.received_at, message.topic, reason, reading, len(reading)))
    return letters


def _record(
    conn: Connection,
    spec: LayerSpec,
    batch: Batch,
    batch_id: int,
    stored: int,
    refused: int,
    good: pd.DataFrame,
) -> None:
    """The batch's row and the feed's new totals."""
    newest = pd.to_datetime(good["t"].max(), unit="us", utc=True) if len(good) else None
    values = {
        "id": batch_id,
        "layer": spec.id,
        "messages": len(batch.messages),
        "readings": stored,
        "refused": refused,
        "first": pd.to_datetime(batch.messages[0].received_at, unit="s", utc=True),
        "newest": newest,
    }
    conn.execute(
        text(
            "INSERT INTO feed_batch (id, layer, messages, readings, refused, first_received_at,"
            " newest_observed_at) VALUES (:id, :layer, :messages, :readings, :refused, :first,"
            " :newest)"
        ),
        values,
    )
    conn.execute(
        text(
            "INSERT INTO feed_state AS s (layer, newest_batch, committed_at, messages, readings,"
            " refused) VALUES (:layer, :id, clock_timestamp(), :messages, :readings, :refused)"
            " ON CONFLICT (layer) DO UPDATE SET newest_batch = excluded.newest_batch,"
            " committed_at = excluded.committed_at, messages = s.messages + excluded.messages,"
            " readings = s.readings + excluded.readings, refused = s.refused + excluded.refused"
        ),
        values,
    )


def _write_dead_letters(conn: Connection, spec: LayerSpec, letters: list[tuple]) -> None:
    if not letters:
        return
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(
        "COPY feed_dead_letter (layer, received_at, topic, reason, payload, payload_bytes)"
        " FROM STDIN"
    ) as copy:
        for received_at, topic, reason, payload, size in letters:
            at = pd.to_datetime(received_at, unit="s", utc=True).isoformat()
            # text COPY cannot carry NUL; a payload that has one is kept without it
            copy.write_row((spec.id, at, topic, reason, payload.replace("\0", ""), size))


class Ingest:
    """The service: a persistent MQTT session whose messages are stored a batch at a time.

    Parameters
    ----------
    engine
        The writer's database.
    spec
        The dense layer whose readings arrive.
    broker
        The broker, with the ingest's account.
    root
        The first level of the topics (the profile, ``ptuj``).
    """

    def __init__(self, engine: Engine, spec: LayerSpec, broker: Broker, root: str) -> None:
        self.engine, self.spec, self.root, self.broker = engine, spec, root, broker
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.stopping = threading.Event()
        self.stored = 0
        self.refused: Counter = Counter()
        self._next_summary = self._next_evaluation = 0.0
        # the session is the broker's queue of what the ingest has not acknowledged: its
        # name must stay the same from one run to the next
        self.client = broker.client(f"obcinski-zemljevid-ingest-{root}-{spec.id}", manual_ack=True)
        self.client.on_connect = self._subscribe
        self.client.on_subscribe = self._subscribed
        self.client.on_message = self._receive

    def _subscribe(self, client, _userdata, _flags, reason, _properties) -> None:  # noqa: ANN001
        if reason.is_failure:
            log.error("the broker refused the ingest: %s", reason)
            return
        log.info("connected to %s; reading %s", self.broker.host, topic_pattern(self.root))
        # the whole subtree, so that a topic outside the pattern is refused with its reason
        client.subscribe(f"{self.root}/sensors/#", qos=1)

    def _subscribed(self, _client, _userdata, _mid, reasons, _properties) -> None:  # noqa: ANN001
        if any(reason.is_failure for reason in reasons):
            log.error("the broker refused the subscription: %s", reasons)
        else:
            log.info("subscribed to %s/sensors/#", self.root)

    def _receive(self, _client, _userdata, message) -> None:  # noqa: ANN001
        self.inbox.put(
            Message(message.mid, message.qos, message.topic, message.payload, time.time())
        )

    def run(self) -> None:
        """Read and store until ``stopping`` is set; the batch in hand is finished first."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_SECONDS
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=30,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()
        try:
            while not self.stopping.is_set():
                batch = self._gather()
                if batch.messages:
                    self._store(batch)
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def _evaluate_alerts(self) -> None:
        """Raise and clear the alerts; a failure waits for the next batch (nothing is lost)."""
        try:
            with self.engine.begin() as conn:
                changes = evaluate_alerts(conn)
        except DBAPIError as exc:
            log.warning("alerts not evaluated (%s)", exc.orig)
            return
        for verb, keys in (("raised", changes.raised), ("cleared", changes.cleared)):
            if keys:
                log.info("alerts %s: %s", verb, ", ".join(f"{r} {s}" for r, s in keys[:10]))

    def _gather(self) -> Batch:
        """The messages of the next second (from the first one), or of ``BATCH_READINGS``."""
        batch = Batch()
        try:
            first = self.inbox.get(timeout=0.5)
        except queue.Empty:
            return batch
        batch.add(first, self.root)
        until = time.monotonic() + BATCH_SECONDS
        while len(batch.rows) < BATCH_READINGS and (left := until - time.monotonic()) > 0:
            try:
                batch.add(self.inbox.get(timeout=left), self.root)
            except queue.Empty:
                break
        return batch

    def _store(self, batch: Batch) -> None:
        """Write ``batch``, trying again while the database is away, then acknowledge it."""
        for attempt in itertools.count():
            try:
                with self.engine.begin() as conn:
                    written = write_batch(conn, self.spec, batch)
                break
            except DBAPIError as exc:
                wait = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                log.warning("batch not stored (%s); trying again in %d s", exc.orig, wait)
                if self.stopping.wait(wait):
                    return  # not acknowledged: the broker keeps it for the next run
        for message in batch.messages:
            self.client.ack(message.mid, message.qos)
        self.stored += written.readings
        self.refused.update(written.refused)
        if time.monotonic() >= self._next_evaluation:
            self._next_evaluation = time.monotonic() + EVALUATION_SECONDS
            self._evaluate_alerts()
        log.debug("batch %d: %d messages, %s", written.batch_id, len(batch.messages), written)
        if time.monotonic() >= self._next_summary:
            self._next_summary = time.monotonic() + SUMMARY_SECONDS
            log.info(
                "%d readings stored, %d refused since the start; refused for %s",
                self.stored,
                self.refused.total(),
                dict(self.refused.most_common(5)),
            )
