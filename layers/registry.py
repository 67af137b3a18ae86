"""The layer registry: one frozen spec per layer, registered in one place.

Adding a layer is a table (a migration), a spec here and a style in ``styles/styles.toml``;
nothing in the dashboards changes. The ETL maps source fields to a layer's columns through the
same spec, so the map, the popups and the loader agree on every column.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.sensor_kinds import sensor_kinds

ROLES = ("public", "planner", "civil_protection", "mayor_office", "admin")
STAFF = frozenset({"planner", "civil_protection", "mayor_office", "admin"})
EVERYONE = frozenset(ROLES)
STORAGE_SRID = 3794  # Slovenia 1996 / D96/TM: metres, so areas and lengths are true.

FIELD_TYPES = ("text", "integer", "real", "date", "timestamp")
LAYER_KINDS = ("vector", "dense_points")  # how a layer is drawn and loaded; see dashboards/
# Flood hazard classes of Slovenian practice, most severe first (velika, srednja, majhna
# poplavna nevarnost; preostala = residual, flooded only by rare, catastrophic floods).
HAZARD_CLASSES = ("velika", "srednja", "majhna", "preostala")
CRITICAL_SITE_KINDS = (
    "bolnišnica",
    "zdravstveni dom",
    "dom starejših",
    "vrtec",
    "šola",
    "gasilski dom",
    "črpališče",
)


SENSOR_KINDS = tuple(sensor_kinds())
SENSOR_STATUSES = ("deluje", "v okvari", "odstranjen")  # working, faulty, removed


@dataclass(frozen=True)
class Field:
    """A column of a layer.

    ``aliases`` are the source field names the ETL accepts for it (matched case-insensitively),
    so a utility's ``PREMER`` lands in ``diameter_mm``. A field with ``loaded=False`` is derived
    in the database (a view) and is never read from a file.
    """

    name: str
    type: str
    label_sl: str
    label_en: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    loaded: bool = True
    allowed: tuple[object, ...] = ()  # the only values accepted, when the column is a code

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: type {self.type!r} not in {FIELD_TYPES}")


@dataclass(frozen=True)
class LayerSpec:
    """Everything the map and the ETL need to know about one layer."""

    id: str
    title_sl: str
    title_en: str
    load_table: str  # the table the ETL writes
    read_table: str  # the table or view the map reads (a view adds derived columns)
    geometry_kind: str  # PostGIS type of the column: MultiPolygon, MultiLineString, Point
    fields: tuple[Field, ...]
    label_field: str
    hover_fields: tuple[str, ...]
    style_key: str
    roles: frozenset[str]
    basemap: bool = False  # context beneath the thematic layers, drawn first
    visible: bool = True  # shown when a dashboard opens
    refresh_seconds: int = 300
    # A layer held in parts (a flood scenario each): the map shows one part at a time, and a
    # load replaces one part. ``partition_order`` sorts the parts (by return period).
    partition_column: str | None = None
    partition_order: str | None = None
    takes_rasters: bool = False  # GeoTIFF loads are classed into this layer's polygons
    # "vector": features drawn one by one; "dense_points": millions of readings aggregated per
    # pixel by datashader, loaded by appending (etl/readings.py)
    kind: str = "vector"
    srid: int = STORAGE_SRID
    id_column: str = "id"
    geometry_column: str = "geom"

    @property
    def title(self) -> str:
        return f"{self.title_sl} · {self.title_en}"

    @property
    def loaded_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.loaded)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _f(
    name: str,
    type_: str,
    sl: str,
    en: str,
    *aliases: str,
    required: bool = False,
    loaded: bool = True,
    allowed: tuple[object, ...] = (),
) -> Field:
    return Field(name, type_, sl, en, required, tuple(aliases), loaded, allowed)


LAYERS: dict[str, LayerSpec] = {
    spec.id: spec
    for spec in (
        LayerSpec(
            id="districts",
            title_sl="Četrtne skupnosti",
            title_en="District communities",
            load_table="district",
            read_table="district_with_residents",
            geometry_kind="MultiPolygon",
            fields=(
                _f("code", "integer", "Šifra", "Code", "ODO_ID", required=True),
                _f("name", "text", "Ime", "Name", "ODO_UIME", "IME", required=True),
                _f(
                    "residents",
                    "integer",
                    "Prebivalci (iz stavb)",
                    "Residents (from buildings)",
                    loaded=False,
                ),
            ),
            label_field="name",
            hover_fields=("name", "residents"),
            style_key="districts",
            roles=EVERYONE,
            basemap=True,
            refresh_seconds=86400,
        ),
        LayerSpec(
            id="water_bodies",
            title_sl="Vodotoki in jezera",
            title_en="Rivers and lakes",
            load_table="water_body",
            read_table="water_body",
            geometry_kind="MultiPolygon",
            fields=(
                _f("name", "text", "Ime", "Name", "IME", required=True),
                _f("kind", "text", "Vrsta", "Kind", "VRSTA", required=True),
            ),
            label_field="name",
            hover_fields=("name", "kind"),
            style_key="water_bodies",
            roles=EVERYONE,
            basemap=True,
            refresh_seconds=86400,
        ),
        LayerSpec(
            id="municipality",
            title_sl="Meja občine",
            title_en="Municipality boundary",
            load_table="municipality",
            read_table="municipality",
            geometry_kind="MultiPolygon",
            fields=(
                _f(
                    "code",
                    "integer",
                    "Šifra občine",
                    "Municipality code",
                    "OB_ID",
                    "SIFRA",
                    required=True,
                ),
                _f("name", "text", "Ime", "Name", "OB_UIME", "OB_IME", "IME", required=True),
            ),
            label_field="name",
            hover_fields=(),  # the boundary is everywhere: a tooltip there would cover every other
            style_key="boundary",
            roles=EVERYONE,
            basemap=True,
            refresh_seconds=86400,
        ),
        LayerSpec(
            id="natura2000",
            title_sl="Natura 2000",
            title_en="Natura 2000 sites",
            load_table="natura2000_site",
            read_table="natura2000_site",
            geometry_kind="MultiPolygon",
            fields=(
                _f(
                    "site_code",
                    "text",
                    "Šifra območja",
                    "Site code",
                    "SITECODE",
                    "KODA",
                    required=True,
                ),
                _f("name", "text", "Ime", "Name", "SITENAME", "IME", required=True),
                _f(
                    "site_type",
                    "text",
                    "Vrsta (POO/PVO)",
                    "Type (SAC/SPA)",
                    "SITETYPE",
                    "VRSTA",
                    required=True,
                    allowed=("SAC", "SPA"),
                ),
            ),
            label_field="name",
            hover_fields=("name", "site_code", "site_type"),
            style_key="natura2000",
            roles=EVERYONE,
        ),
        LayerSpec(
            id="degraded_land",
            title_sl="Degradirana območja",
            title_en="Degraded land",
            load_table="degraded_land",
            read_table="degraded_land",
            geometry_kind="MultiPolygon",
            fields=(
                _f("name", "text", "Ime", "Name", "IME", "NAZIV", required=True),
                _f("land_type", "text", "Vrsta", "Type", "VRSTA", "TIP", required=True),
                _f("area_ha", "real", "Površina (ha)", "Area (ha)", "POVRSINA_HA", "POV_HA"),
                _f("status", "text", "Stanje", "Status", "STANJE", required=True),
            ),
            label_field="name",
            hover_fields=("name", "land_type", "status"),
            style_key="degraded_land",
            roles=STAFF,
        ),
        LayerSpec(
            id="flood_hazard",
            title_sl="Poplavna nevarnost",
            title_en="Flood hazard",
            load_table="flood_zone",
            read_table="flood_zone",
            geometry_kind="MultiPolygon",
            fields=(
                _f("scenario", "text", "Scenarij", "Scenario", "SCENARIJ", required=True),
                _f(
                    "return_period",
                    "integer",
                    "Povratna doba (let)",
                    "Return period (years)",
                    "POVRATNA_DOBA",
                    "PD",
                    required=True,
                ),
                _f(
                    "hazard_class",
                    "text",
                    "Razred nevarnosti",
                    "Hazard class",
                    "RAZRED",
                    "NEVARNOST",
                    required=True,
                    allowed=HAZARD_CLASSES,
                ),
                _f("depth_from_m", "real", "Globina od (m)", "Depth from (m)", "GLOBINA_OD"),
                _f("depth_to_m", "real", "Globina do (m)", "Depth to (m)", "GLOBINA_DO"),
            ),
            label_field="hazard_class",
            hover_fields=("scenario", "hazard_class", "depth_from_m", "depth_to_m"),
            style_key="flood_hazard",
            roles=frozenset({"planner", "civil_protection", "mayor_office", "admin"}),
            visible=False,
            partition_column="scenario",
            partition_order="return_period",
            takes_rasters=True,
        ),
        LayerSpec(
            id="water_mains",
            title_sl="Vodovodno omrežje",
            title_en="Water mains",
            load_table="water_main",
            read_table="water_main",
            geometry_kind="MultiLineString",
            fields=(
                _f("material", "text", "Material", "Material", "MATERIAL", "MAT", required=True),
                _f(
                    "diameter_mm",
                    "integer",
                    "Premer (mm)",
                    "Diameter (mm)",
                    "PREMER",
                    "DN",
                    required=True,
                ),
                _f("year_laid", "integer", "Leto vgradnje", "Year laid", "LETO", "LETO_VGR"),
                _f("pressure_zone", "text", "Tlačna cona", "Pressure zone", "CONA", "TLACNA_CONA"),
            ),
            label_field="material",
            hover_fields=("material", "diameter_mm", "year_laid", "pressure_zone"),
            style_key="water_mains",
            roles=frozenset({"planner", "civil_protection", "admin"}),
            visible=False,
        ),
        LayerSpec(
            id="roads",
            title_sl="Stanje cest",
            title_en="Road condition",
            load_table="road_segment",
            read_table="road_segment",
            geometry_kind="MultiLineString",
            fields=(
                _f("name", "text", "Ime ceste", "Road name", "IME", "NAZIV", required=True),
                _f(
                    "category", "text", "Kategorija", "Category", "KATEGORIJA", "KAT", required=True
                ),
                _f("surface", "text", "Vozišče", "Surface", "VOZISCE", "PODLAGA"),
                _f(
                    "condition",
                    "integer",
                    "Stanje (1-5)",
                    "Condition (1-5)",
                    "STANJE",
                    required=True,
                    allowed=(1, 2, 3, 4, 5),
                ),
                _f("last_survey", "date", "Zadnji pregled", "Last survey", "PREGLED", "DAT_PREG"),
            ),
            label_field="name",
            hover_fields=("name", "category", "condition", "last_survey"),
            style_key="road_condition",
            roles=STAFF,
        ),
        LayerSpec(
            id="buildings",
            title_sl="Stavbe",
            title_en="Buildings",
            load_table="building",
            read_table="building",
            geometry_kind="MultiPolygon",
            fields=(
                _f("address", "text", "Naslov", "Address", "NASLOV", required=True),
                _f("use_class", "text", "Namembnost", "Use", "NAMEMBNOST", "RABA", required=True),
                _f(
                    "floor_area_m2",
                    "real",
                    "Uporabna površina (m²)",
                    "Floor area (m²)",
                    "POVRSINA",
                    "UP_POV",
                ),
                _f("year_built", "integer", "Leto izgradnje", "Year built", "LETO_IZGR", "LETO"),
                _f("occupants", "integer", "Prebivalci", "Occupants", "ST_PREB", "PREBIVALCI"),
                _f("energy_class", "text", "Energijski razred", "Energy class", "EN_RAZRED"),
            ),
            label_field="address",
            hover_fields=("address", "use_class", "year_built", "occupants"),
            style_key="buildings",
            roles=STAFF,
        ),
        LayerSpec(
            id="critical_sites",
            title_sl="Objekti posebnega pomena",
            title_en="Critical sites",
            load_table="critical_site",
            read_table="critical_site",
            geometry_kind="Point",
            fields=(
                _f("name", "text", "Ime", "Name", "IME", "NAZIV", required=True),
                _f(
                    "kind",
                    "text",
                    "Vrsta",
                    "Kind",
                    "VRSTA",
                    required=True,
                    allowed=CRITICAL_SITE_KINDS,
                ),
                _f("address", "text", "Naslov", "Address", "NASLOV"),
                _f(
                    "capacity",
                    "integer",
                    "Zmogljivost (oseb)",
                    "Capacity (people)",
                    "ZMOGLJIVOST",
                    "KAPACITETA",
                ),
            ),
            label_field="name",
            hover_fields=("name", "kind", "address", "capacity"),
            style_key="critical_sites",
            roles=frozenset({"planner", "civil_protection", "admin"}),
        ),
        LayerSpec(
            id="sensors",
            title_sl="Senzorji",
            title_en="Sensors",
            load_table="sensor",
            read_table="sensor",
            geometry_kind="Point",
            fields=(
                _f("code", "text", "Oznaka", "Code", "ID", "SIFRA", "OZNAKA", required=True),
                _f(
                    "kind",
                    "text",
                    "Vrsta",
                    "Kind",
                    "VRSTA",
                    required=True,
                    allowed=SENSOR_KINDS,
                ),
                _f("unit", "text", "Enota", "Unit", "ENOTA", required=True),
                _f("installed", "date", "Nameščen", "Installed", "NAMESCEN", "DATUM"),
                _f(
                    "status",
                    "text",
                    "Stanje",
                    "Status",
                    "STANJE",
                    required=True,
                    allowed=SENSOR_STATUSES,
                ),
            ),
            label_field="code",
            hover_fields=("code", "kind", "status"),
            style_key="sensors",
            roles=STAFF,
            visible=False,
            refresh_seconds=3600,
        ),
        LayerSpec(
            id="sensor_readings",
            title_sl="Meritve senzorjev",
            title_en="Sensor readings",
            load_table="sensor_reading",
            read_table="sensor_reading_located",
            geometry_kind="Point",
            fields=(
                _f(
                    "sensor",
                    "text",
                    "Senzor",
                    "Sensor",
                    "SENSOR_ID",
                    "SENZOR",
                    "CODE",
                    "OZNAKA",
                    "DEVICE",
                    required=True,
                ),
                _f(
                    "observed_at",
                    "timestamp",
                    "Čas meritve",
                    "Observed at",
                    "TIME",
                    "TIMESTAMP",
                    "DATETIME",
                    "CAS",
                    "ČAS",
                    required=True,
                ),
                _f("value", "real", "Vrednost", "Value", "VREDNOST", "MERITEV", required=True),
            ),
            label_field="sensor",
            hover_fields=(),
            style_key="sensor_readings",
            roles=STAFF,
            refresh_seconds=60,
            kind="dense_points",
        ),
        LayerSpec(
            id="wifi_hotspots",
            title_sl="Točke WiFi4EU",
            title_en="Wi-Fi hotspots",
            load_table="wifi_hotspot",
            read_table="wifi_hotspot",
            geometry_kind="Point",
            fields=(
                _f(
                    "location_name",
                    "text",
                    "Lokacija",
                    "Location",
                    "LOKACIJA",
                    "NAME",
                    required=True,
                ),
                _f("status", "text", "Stanje", "Status", "STANJE", required=True),
            ),
            label_field="location_name",
            hover_fields=("location_name", "status"),
            style_key="wifi_hotspots",
            roles=EVERYONE,
        ),
    )
}


def layer(layer_id: str) -> LayerSpec:
    """Return the spec of ``layer_id``; the error lists the layers there are."""
    from layers.errors import ConfigurationError

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


def visible_to(role: str) -> list[LayerSpec]:
    """The layers a session of ``role`` may see, basemap first, in drawing order."""
    specs = [s for s in LAYERS.values() if role in s.roles]
    return sorted(specs, key=lambda s: not s.basemap)
