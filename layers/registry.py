"""The layer registry: one frozen spec per layer, registered in one place.

A spec is the one declaration of a layer (``layers.spec``): adding a layer is a table (a
migration), a spec here, a style in ``styles/styles.toml`` and its sample's entry. The map, the
exposure report and its exports, the wall's views and the ETL all read it; nothing in the
dashboards names a layer.
"""

from __future__ import annotations

from layers.roles import EVERYONE, STAFF
from layers.sensor_kinds import sensor_kinds
from layers.spec import Dense, Exposure, Geometry, LayerSpec, Measure
from layers.spec import field as _f

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
HERITAGE_IMPORTANCE = ("državni", "lokalni", "dediščina")  # national, local monument; unit


LAYERS: dict[str, LayerSpec] = {
    spec.id: spec
    for spec in (
        LayerSpec(
            id="districts",
            title_sl="Četrtne skupnosti",
            title_en="District communities",
            load_table="district",
            read_table="district_with_residents",
            geometry=Geometry.POLYGON,
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
            purpose="report_areas",
        ),
        LayerSpec(
            id="water_bodies",
            title_sl="Vodotoki in jezera",
            title_en="Rivers and lakes",
            load_table="water_body",
            read_table="water_body",
            geometry=Geometry.POLYGON,
            fields=(
                _f("name", "text", "Ime", "Name", "IME", required=True),
                _f("kind", "text", "Vrsta", "Kind", "VRSTA", required=True),
            ),
            label_field="name",
            hover_fields=("name", "kind"),
            style_key="water_bodies",
            roles=EVERYONE,
            basemap=True,
        ),
        LayerSpec(
            id="municipality",
            title_sl="Meja občine",
            title_en="Municipality boundary",
            load_table="municipality",
            read_table="municipality",
            geometry=Geometry.POLYGON,
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
            purpose="boundary",
        ),
        LayerSpec(
            id="natura2000",
            title_sl="Natura 2000",
            title_en="Natura 2000 sites",
            load_table="natura2000_site",
            read_table="natura2000_site",
            geometry=Geometry.POLYGON,
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
            geometry=Geometry.POLYGON,
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
            geometry=Geometry.POLYGON,
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
            loader="raster",
            purpose="hazard",
        ),
        LayerSpec(
            id="water_mains",
            title_sl="Vodovodno omrežje",
            title_en="Water mains",
            load_table="water_main",
            read_table="water_main",
            geometry=Geometry.LINE,
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
            exposure=Exposure(
                "Vodovod",
                "Water mains",
                measures=(
                    Measure(
                        "km", "length", "Vodovod (km)", "Water mains (km)", unit="km", decimals=2
                    ),
                ),
            ),
        ),
        LayerSpec(
            id="roads",
            title_sl="Stanje cest",
            title_en="Road condition",
            load_table="road_segment",
            read_table="road_segment",
            geometry=Geometry.LINE,
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
            exposure=Exposure(
                "Ceste po kategoriji (km)",
                "Roads by category (km)",
                measures=(
                    Measure("km", "length", "Ceste (km)", "Roads (km)", unit="km", decimals=2),
                ),
                group_by="category",
                on_map=True,
            ),
        ),
        LayerSpec(
            id="buildings",
            title_sl="Stavbe",
            title_en="Buildings",
            load_table="building",
            read_table="building",
            geometry=Geometry.POLYGON,
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
            exposure=Exposure(
                "Stavbe po namembnosti",
                "Buildings by use",
                measures=(
                    Measure("buildings", "count", "Stavbe", "Buildings"),
                    Measure("residents", "sum", "Prebivalci", "Residents", column="occupants"),
                ),
                group_by="use_class",
            ),
        ),
        LayerSpec(
            id="critical_sites",
            title_sl="Objekti posebnega pomena",
            title_en="Critical sites",
            load_table="critical_site",
            read_table="critical_site",
            geometry=Geometry.POINT,
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
            exposure=Exposure(
                "Ogroženi objekti posebnega pomena",
                "Critical sites at risk",
                listed=("name", "kind", "address", "capacity"),
                on_map=True,
            ),
        ),
        LayerSpec(
            id="heritage",
            title_sl="Kulturna dediščina",
            title_en="Cultural heritage",
            load_table="heritage_site",
            read_table="heritage_site",
            geometry=Geometry.POINT,
            fields=(
                _f(
                    "esd",
                    "integer",
                    "EŠD",
                    "Register no. (EŠD)",
                    "ESD",
                    "EŠD",
                    "EVID_ST",
                    required=True,
                ),
                _f("name", "text", "Ime", "Name", "IME", "NAZIV", required=True),
                _f("heritage_type", "text", "Zvrst", "Type", "ZVRST", "TIP", required=True),
                _f(
                    "importance",
                    "text",
                    "Pomen",
                    "Importance",
                    "POMEN",
                    "STATUS",
                    required=True,
                    allowed=HERITAGE_IMPORTANCE,
                ),
            ),
            label_field="name",
            hover_fields=("name", "heritage_type", "importance"),
            style_key="heritage",
            roles=EVERYONE,
            exposure=Exposure(
                "Ogrožena kulturna dediščina",
                "Cultural heritage at risk",
                measures=(Measure("units", "count", "Kulturna dediščina", "Cultural heritage"),),
                group_by="importance",
                on_map=True,
            ),
        ),
        LayerSpec(
            id="sensors",
            title_sl="Senzorji",
            title_en="Sensors",
            load_table="sensor",
            read_table="sensor",
            geometry=Geometry.POINT,
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
        ),
        LayerSpec(
            id="sensor_readings",
            title_sl="Meritve senzorjev",
            title_en="Sensor readings",
            load_table="sensor_reading",
            read_table="sensor_reading_located",
            geometry=Geometry.POINT,
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
            renderer="dense_points",
            loader="readings",
            dense=Dense(places="sensors"),
        ),
        LayerSpec(
            id="wifi_hotspots",
            title_sl="Točke WiFi4EU",
            title_en="Wi-Fi hotspots",
            load_table="wifi_hotspot",
            read_table="wifi_hotspot",
            geometry=Geometry.POINT,
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
            exposure=Exposure(
                "Ogrožene točke WiFi",
                "Wi-Fi hotspots at risk",
                listed=("location_name", "status"),
            ),
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


def layer_for(purpose: str) -> LayerSpec:
    """The layer that serves ``purpose`` (``layers.spec.PURPOSES``): the boundary, the areas a
    report may be limited to (the districts), the flood hazard zones."""
    return next(s for s in LAYERS.values() if s.purpose == purpose)


def exposed_layers() -> list[LayerSpec]:
    """The layers the flood exposure report counts, in the registry's order."""
    return [s for s in LAYERS.values() if s.exposure]


def visible_to(role: str) -> list[LayerSpec]:
    """The layers a session of ``role`` may see, basemap first, in drawing order."""
    specs = [s for s in LAYERS.values() if role in s.roles]
    return sorted(specs, key=lambda s: not s.basemap)
