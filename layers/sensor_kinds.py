"""The sensor kinds (``sensor_kinds.toml``): what each measures, in which unit, within which range."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE = Path(__file__).with_name("sensor_kinds.toml")
AGGREGATES = ("count", "mean", "max")
OPEN_FAMILY = "zrak"  # the air's hourly means are open data; nothing of a sensor in a home is


@dataclass(frozen=True)
class SensorKind:
    """One kind of sensor as the catalogue declares it (see the top of ``sensor_kinds.toml``)."""

    id: str
    family: str
    name_sl: str
    name_en: str
    unit: str
    valid: tuple[float, float]
    colormap: str
    aggregate: str
    cadence_s: float
    limit: float | None = None  # the value that matters (an EU limit value), if any
    limit_sl: str = ""
    limit_en: str = ""

    @property
    def title(self) -> str:
        """The kind's name in both languages, ``name_sl · name_en``."""
        return f"{self.name_sl} · {self.name_en}"


@cache
def sensor_kinds() -> dict[str, SensorKind]:
    """Every kind by id, in the catalogue's order."""
    raw = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    kinds = {k["id"]: SensorKind(**{**k, "valid": tuple(k["valid"])}) for k in raw["kind"]}
    for kind in kinds.values():
        if kind.aggregate not in AGGREGATES:
            raise ValueError(
                f"sensor kind {kind.id}: aggregate {kind.aggregate!r} not in {AGGREGATES}"
            )
    return kinds


def open_sensor_kinds() -> list[str]:
    """The kinds whose hourly means anyone may have: the air's (``OPEN_FAMILY``)."""
    return [k.id for k in sensor_kinds().values() if k.family == OPEN_FAMILY]
