"""The flood exposure report: what lies in each hazard class of a scenario, computed in PostGIS.

One statement answers every section (``layers.exposure_sql``); for the whole municipality it
adds up the hits kept by the loads (``layers.exposure_store``) when they are current. The list
of exposed addresses and their evacuation are computed for each report. A section whose layer
the role may not see is left out, never computed; the addresses are given only to the roles
their declaration names.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from layers.evacuation import Evacuation, plan_evacuation
from layers.exposure_sql import ZONE_AREA, addresses_sql, report_params, report_sql
from layers.exposure_store import hits_current
from layers.queries import check_access
from layers.registry import (
    HAZARD_CLASSES,
    address_layer,
    exposed_layers,
    layer_for,
    network_layer,
)
from layers.report_area import at_points
from layers.settings import LJUBLJANA


@dataclass
class ExposureReport:
    """The answer to "who is in harm's way" for one scenario over one area."""

    scenario: str
    area_name: str
    made_at: dt.datetime
    # by layer id (and ZONE_AREA); None: a layer the role may not see
    sections: dict[str, list[dict] | None] = field(default_factory=dict)
    # each exposed address (``layers.registry.address_layer``) at a point on its feature in
    # EPSG:3794, most severe first; None: the role may not read them
    addresses: gpd.GeoDataFrame | None = None
    # where the addresses' occupants go and who cannot be reached (``layers.evacuation``), for
    # the roles that read the addresses, when the registry declares a road network
    evacuation: Evacuation | None = None

    def rows(self, section: str) -> list[dict]:
        """The rows of ``section``; none for a section that is empty or was left out."""
        return self.sections.get(section) or []

    def total(self, section: str, column: str, hazard_class: str | None = None) -> float:
        """The sum of ``column`` over a section, for one class or for all."""
        return sum(
            row[column]
            for row in self.rows(section)
            if hazard_class is None or row["hazard_class"] == hazard_class
        )

    def classes(self) -> list[str]:
        """The hazard classes with any zone in the area, most severe first."""
        present = {row["hazard_class"] for row in self.rows(ZONE_AREA)}
        return [c for c in HAZARD_CLASSES if c in present]

    @cached_property
    def cared(self) -> pd.DataFrame:
        """The exposed features that hold people (``in_care``), read once: the summary asks
        for each class.
        """
        return in_care(self.sections)

    def people(self, hazard_class: str | None = None) -> tuple[int, int]:
        """How many people are exposed by day and by night, in a class or in all: the
        institutions that hold them by day (``Presence.day``), and by night the residents at
        home with those that hold them then (``Presence.night``).
        """
        residents = address_layer().exposure.occupants
        night = int(self.total(address_layer().id, residents.name, hazard_class))
        cared = self.cared
        if hazard_class is not None:
            cared = cared[cared["hazard_class"] == hazard_class]
        return int(cared["day"].sum()), night + int(cared["night"].sum())

    def by_district(self) -> pd.DataFrame:
        """Exposed addresses and their occupants per district and hazard class (InaSAFE's
        aggregation by area), from the address list; empty without one.
        """
        spec = address_layer()
        sums = spec.exposure.sums
        if self.addresses is None or self.addresses.empty:
            return pd.DataFrame(
                columns=["district", "hazard_class", "count", *(m.name for m in sums)]
            )
        frame = self.addresses.assign(district=self.addresses["district"].fillna("—"))
        grouped = frame.groupby(["district", "rank", "hazard_class"], sort=True)
        figures = grouped.agg(count=("id", "size"), **{m.name: (m.column, "sum") for m in sums})
        return figures.reset_index().drop(columns="rank")


CARED_COLUMNS = ["layer", "id", "name", "hazard_class", "rank", "day", "night"]


def in_care(sections: dict[str, list[dict] | None]) -> pd.DataFrame:
    """The exposed features that hold people (``Presence``: schools by day, a hospital day and
    night), a row each: its layer, key, name, class and rank, and the people it holds by day
    and by night.
    """
    rows = []
    for spec in (s for s in exposed_layers() if s.exposure.presence):
        presence = spec.exposure.presence
        for row in sections.get(spec.id) or []:
            held = row[presence.column] or 0
            day = held if row[presence.by] in presence.day else 0
            night = held if row[presence.by] in presence.night else 0
            if day or night:
                name = row[spec.label_field]
                rows.append(
                    [spec.id, row["id"], name, row["hazard_class"], row["rank"], day, night]
                )
    return pd.DataFrame(rows, columns=CARED_COLUMNS)


def exposure_report(
    engine: Engine,
    scenario: str,
    role: str,
    area: shapely.Geometry | None = None,
    area_name: str = "Vsa občina · Whole municipality",
) -> ExposureReport:
    """Compute the report of ``scenario``; ``area`` (EPSG:3794) limits it to a drawn or chosen area.

    Raises
    ------
    LayerAccessError
        ``role`` may not see the flood hazard layer.
    """
    check_access(layer_for("hazard"), role)
    allowed = [spec for spec in exposed_layers() if role in spec.roles]
    params = report_params(scenario, area)
    # one snapshot for every statement: a load that commits meanwhile (the roads' graph is
    # numbered anew with each, the kept hits filled afresh) never mixes into the report
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        stored = area is None and hits_current(conn)
        found = conn.execute(text(report_sql(allowed, stored)), params).scalar_one()
        data = found if isinstance(found, dict) else json.loads(found)
        sections = {ZONE_AREA: data.get(ZONE_AREA) or []}
        sections |= {
            spec.id: (data.get(spec.id) or []) if spec in allowed else None
            for spec in exposed_layers()
        }
        addresses = _addresses(conn, role, params)
        evacuation = None
        if addresses is not None and network_layer():
            cared = in_care(sections)
            evacuation = plan_evacuation(conn, scenario, params, addresses, cared)
    made_at = dt.datetime.now(LJUBLJANA)
    return ExposureReport(scenario, area_name, made_at, sections, addresses, evacuation)


def address_list(
    engine: Engine, scenario: str, role: str, area: shapely.Geometry | None = None
) -> gpd.GeoDataFrame | None:
    """The exposed addresses of ``scenario`` alone, as the report lists them (for timing it)."""
    with engine.connect() as conn:
        return _addresses(conn, role, report_params(scenario, area))


def may_read_addresses(role: str) -> bool:
    """Whether ``role`` may read the exposed addresses (the declaration's ``address_roles``)."""
    spec = address_layer()
    return role in spec.exposure.address_roles and role in spec.roles


def _addresses(conn: Connection, role: str, params: dict) -> gpd.GeoDataFrame | None:
    """The exposed addresses, for a role that may read them."""
    if not may_read_addresses(role):
        return None
    spec = address_layer()
    districts = layer_for("report_areas")
    sql = addresses_sql(spec, districts)
    return at_points(pd.read_sql(text(sql), conn, params=params))
