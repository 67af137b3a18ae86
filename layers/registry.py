"""The layer registry: the layers declared in ``layers.toml``, one frozen spec each.

The declarations are read and checked once, when this module is imported: a declaration that
contradicts itself (a hover field the layer lacks, an unknown kind) stops the server and the
ETL with an error naming the file and the layer. The map, the exposure report and its exports,
the wall's views and the ETL all read the specs; nothing in the dashboards names a layer.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from layers.errors import ConfigurationError
from layers.roles import EVERYONE, STAFF
from layers.sensor_kinds import sensor_kinds
from layers.spec import (
    Dense,
    Exposure,
    Field,
    Geometry,
    LayerSpec,
    Measure,
    Network,
    Presence,
    Search,
)

LAYERS_FILE = Path(__file__).with_name("layers.toml")
ROLE_SETS = {"everyone": EVERYONE, "staff": STAFF}
# value lists kept in catalogues of their own, named in a field's ``allowed``
ALLOWED_FROM = {"sensor_kinds": lambda: tuple(sensor_kinds())}


def _labels(raw: dict[str, Any]) -> tuple[str, str]:
    return raw["sl"], raw["en"]


def _field(raw: dict[str, Any]) -> Field:
    allowed = raw.get("allowed", ())
    return Field(
        raw["name"],
        raw["type"],
        *_labels(raw),
        required=raw.get("required", False),
        aliases=tuple(raw.get("aliases", ())),
        loaded=raw.get("loaded", True),
        allowed=ALLOWED_FROM[allowed]() if isinstance(allowed, str) else tuple(allowed),
    )


def _exposure(raw: dict[str, Any]) -> Exposure:
    measures = tuple(
        Measure(
            m["name"],
            m["kind"],
            *_labels(m),
            column=m.get("column"),
            unit=m.get("unit", ""),
            decimals=m.get("decimals", 0),
        )
        for m in raw.get("measures", ())
    )
    return Exposure(
        *_labels(raw["title"]),
        measures=measures,
        group_by=raw.get("group_by"),
        listed=tuple(raw.get("listed", ())),
        on_map=raw.get("on_map", False),
        addresses=tuple(raw.get("addresses", ())),
        address_roles=frozenset(raw.get("address_roles", ())),
        presence=_presence(raw["presence"]) if "presence" in raw else None,
    )


def _presence(raw: dict[str, Any]) -> Presence:
    return Presence(raw["column"], raw["by"], tuple(raw["day"]), tuple(raw["night"]))


def _spec(raw: dict[str, Any]) -> LayerSpec:
    roles = raw["roles"]
    return LayerSpec(
        id=raw["id"],
        title_sl=raw["title"]["sl"],
        title_en=raw["title"]["en"],
        load_table=raw["table"],
        read_table=raw.get("read_table", raw["table"]),
        geometry=Geometry(raw["geometry"]),
        fields=tuple(_field(f) for f in raw["fields"]),
        label_field=raw["label"],
        hover_fields=tuple(raw["hover"]),
        style_key=raw["style"],
        roles=ROLE_SETS[roles] if isinstance(roles, str) else frozenset(roles),
        basemap=raw.get("basemap", False),
        visible=raw.get("visible", True),
        purpose=raw.get("purpose"),
        partition_column=raw.get("partition_column"),
        partition_order=raw.get("partition_order"),
        renderer=raw.get("renderer", "vector"),
        loader=raw.get("loader", "vector"),
        exposure=_exposure(raw["exposure"]) if "exposure" in raw else None,
        dense=Dense(**raw["dense"]) if "dense" in raw else None,
        network=Network(**raw["network"]) if "network" in raw else None,
        search=Search(**raw["search"]) if "search" in raw else None,
        filters=tuple(raw.get("filters", ())),
        totals=tuple(raw.get("totals", ())),
        drawn_from=raw.get("drawn_from"),
    )


def read_layers(path: Path = LAYERS_FILE) -> dict[str, LayerSpec]:
    """Every layer declared in ``path``, by id, in its order.

    Raises
    ------
    ConfigurationError
        A declaration is incomplete or contradicts itself; the message names the layer.
    """
    specs = {}
    for raw in tomllib.loads(path.read_text(encoding="utf-8"))["layer"]:
        name = raw.get("id", f"#{len(specs) + 1}")
        try:
            spec = _spec(raw)
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigurationError(
                f"{path}: layer {name}: {problem}",
                f"{path}: sloj {name}: {problem}",
                "complete the declaration (see the comments at the top of the file)",
                "dopolnite opis sloja (glejte opombe na vrhu datoteke)",
            ) from exc
        if spec.id in specs:
            raise ConfigurationError(
                f"{path}: layer {spec.id} is declared twice",
                f"{path}: sloj {spec.id} je opisan dvakrat",
            )
        specs[spec.id] = spec
    for spec in (s for s in specs.values() if s.drawn_from):
        source = specs.get(spec.drawn_from)
        if source is None or source.load_table != spec.load_table or source.drawn_from:
            raise ConfigurationError(
                f"{path}: layer {spec.id} is drawn from {spec.drawn_from!r}, which is no layer"
                " loaded into the same table",
                f"{path}: sloj {spec.id} je izrisan iz {spec.drawn_from!r}, ki ni sloj,"
                " naložen v isto tabelo",
            )
    _check_network(path, specs)
    return specs


def _check_network(path: Path, specs: dict[str, LayerSpec]) -> None:
    """A road network names a shelters layer with its capacity field, a settlements layer and a
    layer of areas its roads cross on bridges.
    """
    for spec in (s for s in specs.values() if s.network):
        network = spec.network
        shelters, settlements = specs.get(network.shelters), specs.get(network.settlements)
        fields = {f.name: f.type for f in shelters.fields} if shelters else {}
        readers = next(
            (
                s.exposure.address_roles
                for s in specs.values()
                if s.exposure and s.exposure.addresses
            ),
            frozenset(),
        )
        if shelters and not readers <= spec.roles & shelters.roles:
            raise ConfigurationError(
                f"{path}: layer {spec.id}: the roles that read the exposed addresses are given"
                " their evacuation, so they must see the roads and the shelters",
                f"{path}: sloj {spec.id}: vloge, ki berejo izpostavljene naslove, dobijo"
                " njihovo evakuacijo, zato morajo videti ceste in zbirna mesta",
            )
        bridged = specs.get(network.bridged)
        if bridged is None or bridged.geometry != Geometry.POLYGON:
            raise ConfigurationError(
                f"{path}: layer {spec.id}: its network's bridged {network.bridged!r} is no"
                " layer of areas",
                f"{path}: sloj {spec.id}: bridged {network.bridged!r} njegovega omrežja ni"
                " sloj območij",
            )
        if fields.get(network.capacity) != "integer" or settlements is None:
            raise ConfigurationError(
                f"{path}: layer {spec.id}: its network names no shelters layer with an integer"
                f" field {network.capacity!r}, or no settlements layer",
                f"{path}: sloj {spec.id}: omrežje ne navaja sloja zatočišč s celoštevilskim"
                f" poljem {network.capacity!r} ali sloja naselij",
            )


LAYERS: dict[str, LayerSpec] = read_layers()


def layer(layer_id: str) -> LayerSpec:
    """Return the spec of ``layer_id``; the error lists the layers there are."""
    try:
        return LAYERS[layer_id]
    except KeyError:
        known = ", ".join(LAYERS)
        raise ConfigurationError(
            f"unknown layer {layer_id!r}",
            f"neznan sloj {layer_id!r}",
            f"use one of: {known}",
            f"uporabite enega od: {known}",
        ) from None


def layer_for(purpose: str) -> LayerSpec:
    """The layer that serves ``purpose`` (``layers.spec.PURPOSES``): the boundary, the areas a
    report may be limited to (the districts), the flood hazard zones.
    """
    return next(s for s in LAYERS.values() if s.purpose == purpose)


def exposed_layers() -> list[LayerSpec]:
    """The layers the flood exposure report counts, in the registry's order."""
    return [s for s in LAYERS.values() if s.exposure]


def address_layer() -> LayerSpec:
    """The layer whose exposed features are listed one by one, for warning and evacuation."""
    return next(s for s in exposed_layers() if s.exposure.addresses)


def network_layer() -> LayerSpec | None:
    """The layer driven as the road network in an evacuation, if one is declared."""
    return next((s for s in LAYERS.values() if s.network), None)


def visible_to(role: str) -> list[LayerSpec]:
    """The layers a session of ``role`` may see, basemap first, in drawing order."""
    specs = [s for s in LAYERS.values() if role in s.roles]
    return sorted(specs, key=lambda s: not s.basemap)


# the hazard layer's classes, most severe first: the report ranks them in this order
HAZARD_CLASSES: tuple[str, ...] = layer_for("hazard").field("hazard_class").allowed
# the hazard layer's water depths, as raster tiles per scenario (etl/migrations/0015_flood_depth.sql)
DEPTH_TABLE = "flood_depth"
