"""Alerts on the live readings: the rules (``alerts.toml``) and the open alerts as pages read them.

The ingest raises and clears them (``etl.alerts``); a rule is evaluated as one SQL query that
gives each subject (a sensor's code, a district's name) it holds for, with its value and place.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, text

from layers.registry import layer
from layers.sensor_kinds import sensor_kinds

CATALOGUE = Path(__file__).with_name("alerts.toml")
RULES = ("threshold", "area", "silence")
STATISTICS = {  # SQL over one sensor's readings in the window
    "mean": "avg(r.value)",
    "max": "max(r.value)",
    "latest": "(array_agg(r.value ORDER BY r.observed_at DESC))[1]",
}


@dataclass(frozen=True)
class AlertRule:
    """One rule as the catalogue declares it (see the top of ``alerts.toml``)."""

    id: str
    name_sl: str
    name_en: str
    rule: str
    sensor_kind: str | None = None
    statistic: str = "latest"
    window_hours: float = 1.0
    above: float | None = None
    below: float | None = None
    at_least: int = 1
    area: str | None = None
    cadences: float = 2.0

    @property
    def title(self) -> str:
        """The rule's name in both languages, ``name_sl · name_en``."""
        return f"{self.name_sl} · {self.name_en}"

    def query(self) -> str:
        """SQL giving ``subject``, ``value`` and ``geom`` (a point, EPSG:3794) of every
        subject the rule holds for now; parameters ``:kind``, ``:hours``, ``:limit``.
        """
        if self.rule == "silence":
            return SILENCE
        beyond = ">" if self.above is not None else "<"
        per_sensor = (
            f"SELECT s.code, s.geom, {STATISTICS[self.statistic]} AS value"  # noqa: S608 (declared names)
            " FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id"
            " WHERE s.kind = :kind AND r.observed_at > now() - make_interval(hours => :hours)"
            " GROUP BY s.code, s.geom"
        )
        if self.rule == "threshold":
            return (
                f"SELECT code AS subject, value, geom FROM ({per_sensor}) v"  # noqa: S608
                f" WHERE value {beyond} :limit"
            )
        area = layer(self.area)
        return (
            f'SELECT a."{area.label_field}" AS subject, count(*)::float8 AS value,'  # noqa: S608 (registry names)
            f' ST_PointOnSurface(a."{area.geometry_column}") AS geom'
            f' FROM ({per_sensor}) v JOIN "{area.load_table}" a'
            f' ON ST_Contains(a."{area.geometry_column}", v.geom)'
            f" WHERE v.value {beyond} :limit"
            f' GROUP BY a."{area.label_field}", a."{area.geometry_column}"'
            " HAVING count(*) >= :at_least"
        )

    def parameters(self) -> dict:
        """The values ``query`` binds: the kind, window, limit, count and cadences."""
        limit = self.above if self.above is not None else self.below
        return {
            "kind": self.sensor_kind,
            "hours": self.window_hours,
            "limit": limit,
            "at_least": self.at_least,
            "cadences": self.cadences,
            "kinds": [kind.id for kind in sensor_kinds().values()],
            "cadence_s": [kind.cadence_s for kind in sensor_kinds().values()],
        }


# A working sensor with no reading within its kind's cadence times ``:cadences``; the
# readings of the longest such span are read once, through the time index.
SILENCE = """
WITH cadence AS (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:cadence_s AS float8[]))
                 AS c(kind, seconds)),
     newest AS (SELECT sensor_id, max(observed_at) AS at FROM sensor_reading
                 WHERE observed_at > now() - make_interval(secs => :cadences *
                       (SELECT max(seconds) FROM cadence))
                 GROUP BY sensor_id)
SELECT s.code AS subject,
       extract(epoch FROM now() - n.at)::float8 AS value, s.geom
  FROM sensor s JOIN cadence c ON c.kind = s.kind LEFT JOIN newest n ON n.sensor_id = s.id
 WHERE s.status = 'deluje'
   AND (n.at IS NULL OR n.at < now() - make_interval(secs => :cadences * c.seconds))
"""


@cache
def alert_rules() -> dict[str, AlertRule]:
    """Every rule by id, in the catalogue's order."""
    raw = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    rules = {a["id"]: AlertRule(**a) for a in raw["alert"]}
    for rule in rules.values():
        if rule.rule not in RULES or rule.statistic not in STATISTICS:
            raise ValueError(f"alert {rule.id}: rule {rule.rule!r} or statistic {rule.statistic!r}")
    return rules


OPEN_ALERTS = text(
    "SELECT id, rule, subject, value, raised_at,"
    " ST_X(ST_Transform(geom, 3857)) AS x, ST_Y(ST_Transform(geom, 3857)) AS y"
    " FROM alert WHERE cleared_at IS NULL ORDER BY raised_at DESC, id DESC"
)


def open_alerts(conn: Connection) -> pd.DataFrame:
    """The alerts raised and not cleared, newest first, with their place in EPSG:3857."""
    return pd.read_sql(OPEN_ALERTS, conn)
