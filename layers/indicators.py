"""The wall's indicators: the catalogue (``indicators.toml``), their values, freshness and trend.

Every value is computed by the catalogue's query from the database. The time of the data is the
newest load of the indicator's source layers, or for readings the newest reading it counts; data
older than the indicator's cadence is stale.
The trend compares with the value the ETL recorded before the newest data arrived.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from layers.catalog import newest_times
from layers.registry import LAYERS

CATALOGUE = Path(__file__).with_name("indicators.toml")


@dataclass(frozen=True)
class Indicator:
    """An indicator of the wall as ``indicators.toml`` declares it (see the top of that file)."""

    id: str
    iso: str
    name_sl: str
    name_en: str
    definition: str
    query: str
    unit: str
    decimals: int
    target: str
    good: str  # "up" or "down"
    cadence_days: float
    refresh_s: float
    sources: tuple[str, ...]
    # SQL giving the time the value describes (column "data_time"), for data with times of its
    # own (sensor readings); without it, the time of the newest load of the sources
    data_time_query: str = ""


@dataclass(frozen=True)
class Reading:
    """One indicator's value now, the time of its data, and the value before that data."""

    indicator: Indicator
    value: float | None
    data_time: dt.datetime
    computed_at: dt.datetime
    previous: float | None = None

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        """How old the data is at ``now`` (else at this moment)."""
        return (now or dt.datetime.now(dt.UTC)) - self.data_time

    def stale(self, now: dt.datetime | None = None) -> bool:
        """Whether the data is older than the indicator's cadence at ``now`` (else now)."""
        return self.age(now) > dt.timedelta(days=self.indicator.cadence_days)

    @property
    def change(self) -> float | None:
        """The value less the one before the newest data; None while either is missing."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@cache
def catalogue() -> tuple[Indicator, ...]:
    """Every indicator of ``indicators.toml``, in the file's order; read once per process."""
    raw = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    return tuple(
        Indicator(**{**entry, "sources": tuple(entry["sources"])}) for entry in raw["indicator"]
    )


def indicator(indicator_id: str) -> Indicator:
    """The indicator ``indicator_id`` of the catalogue; ``StopIteration`` when there is none."""
    return next(i for i in catalogue() if i.id == indicator_id)


def data_time(conn: Connection, item: Indicator) -> dt.datetime | None:
    """The newest load of the indicator's sources; None while any of them holds no data."""
    loaded = newest_times(conn, item.sources)
    if len(loaded) < len(item.sources):
        return None
    if item.data_time_query:
        return conn.execute(text(item.data_time_query)).mappings().one()["data_time"]
    return max(loaded.values())


def available(conn: Connection) -> list[Indicator]:
    """The indicators whose source layers all exist in this product and hold data."""
    return [
        i
        for i in catalogue()
        if all(s in LAYERS for s in i.sources) and data_time(conn, i) is not None
    ]


def compute(conn: Connection, item: Indicator) -> Reading:
    """The indicator's value from its query, with the time of its data and the value before."""
    found = conn.execute(text(item.query)).mappings().one()["value"]
    when = data_time(conn, item)
    previous = conn.scalar(
        text(
            "SELECT value FROM indicator_snapshot WHERE indicator = :id AND data_time < :t"
            " ORDER BY data_time DESC, id DESC LIMIT 1"
        ),
        {"id": item.id, "t": when},
    )
    return Reading(
        item,
        None if found is None else float(found),
        when,
        dt.datetime.now(dt.UTC),
        None if previous is None else float(previous),
    )


def record_snapshots(engine: Engine) -> int:
    """Record the value of every available indicator whose data changed since its last record.

    Run by the ETL (the writer) after a load; returns how many were recorded.
    """
    recorded = 0
    with engine.begin() as conn:
        for item in available(conn):
            reading = compute(conn, item)
            latest = conn.scalar(
                text("SELECT max(data_time) FROM indicator_snapshot WHERE indicator = :id"),
                {"id": item.id},
            )
            if latest is None or latest < reading.data_time:
                conn.execute(
                    text(
                        "INSERT INTO indicator_snapshot (indicator, value, data_time)"
                        " VALUES (:id, :v, :t)"
                    ),
                    {"id": item.id, "v": reading.value, "t": reading.data_time},
                )
                recorded += 1
    return recorded
