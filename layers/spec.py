"""What a layer declaration says: its fields, geometry, renderer and loader kinds, and its part
in the flood exposure report.

A spec is frozen and hashable, so caches shared by sessions key on the spec itself. Every kind
is a name checked here when the spec is made; the one place that turns a renderer kind into
code is ``dashboards.renderers``, a loader kind ``etl.load``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

STORAGE_SRID = 3794  # Slovenia 1996 / D96/TM: metres, so areas and lengths are true.
FIELD_TYPES = ("text", "integer", "real", "date", "timestamp")
NUMBER_TYPES = ("integer", "real")
RENDERER_KINDS = ("vector", "dense_points")
LOADER_KINDS = ("vector", "raster", "readings")
PURPOSES = ("boundary", "report_areas", "hazard")  # what the pages look a layer up by
# how an exposed feature is measured: once, in the most severe class it touches (count, sum),
# or by the part of it inside each class (length in km, area in ha)
MEASURE_KINDS = ("count", "sum", "length", "area")
CLIPPED_MEASURES = ("length", "area")


class Geometry(StrEnum):
    """The PostGIS type of a layer's geometry column; the only kinds a layer may have."""

    POINT = "Point"
    LINE = "MultiLineString"
    POLYGON = "MultiPolygon"


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

    @property
    def label(self) -> str:
        """The field's heading in both languages, ``label_sl · label_en``."""
        return f"{self.label_sl} · {self.label_en}"


@dataclass(frozen=True)
class Measure:
    """One figure of a layer in the exposure report, per hazard class.

    ``name`` is its key in the report's rows and its name in the CSV; ``column`` is the field a
    ``sum`` adds up.
    """

    name: str
    kind: str
    label_sl: str
    label_en: str
    column: str | None = None
    unit: str = ""
    decimals: int = 0

    def __post_init__(self) -> None:
        if self.kind not in MEASURE_KINDS:
            raise ValueError(f"measure {self.name}: kind {self.kind!r} not in {MEASURE_KINDS}")
        if (self.kind == "sum") != (self.column is not None):
            raise ValueError(f"measure {self.name}: a sum, and only a sum, names a column")

    @property
    def clipped(self) -> bool:
        """Whether it measures the part of a feature inside each class (a length or an area)."""
        return self.kind in CLIPPED_MEASURES

    @property
    def label(self) -> str:
        """The figure's heading in both languages, ``label_sl · label_en``."""
        return f"{self.label_sl} · {self.label_en}"


@dataclass(frozen=True)
class Presence:
    """Who a listed layer's exposed features hold by day and by night: its ``column`` (their
    capacity) for the features whose ``by`` value is in ``day`` or in ``night`` (schools by
    day, a hospital both); by night the report adds the residents at home.
    """

    column: str
    by: str
    day: tuple[str, ...]
    night: tuple[str, ...]


@dataclass(frozen=True)
class Exposure:
    """How a layer counts in the flood exposure report (``layers.exposure``).

    Either ``measures`` (figures per hazard class, per ``group_by`` value when one is named) or
    ``listed`` (each exposed feature by name, with these fields). ``on_map``: drawn on the
    civil-protection map when it opens. ``addresses``: the fields of the list of exposed
    features (whom to warn and evacuate) that only ``address_roles`` may read. ``presence``:
    the people a listed layer's features hold by day and by night.
    """

    title_sl: str
    title_en: str
    measures: tuple[Measure, ...] = ()
    group_by: str | None = None
    listed: tuple[str, ...] = ()
    on_map: bool = False
    addresses: tuple[str, ...] = ()
    address_roles: frozenset[str] = frozenset()
    presence: Presence | None = None

    def __post_init__(self) -> None:
        if bool(self.measures) == bool(self.listed):
            raise ValueError(f"exposure {self.title_en!r}: measures or a list, one of the two")
        if self.presence and not {self.presence.column, self.presence.by} <= set(self.listed):
            raise ValueError(f"exposure {self.title_en!r}: presence counts listed fields only")
        if len({m.clipped for m in self.measures}) > 1:
            raise ValueError(
                f"exposure {self.title_en!r}: measures counted once and measures clipped to "
                "each class cannot share a section"
            )
        if len({m.kind for m in self.measures if m.clipped}) > 1:
            raise ValueError(
                f"exposure {self.title_en!r}: a section measures its features' length or their "
                "area, not both (the part of a feature inside a class is kept as one figure)"
            )

    @property
    def sums(self) -> tuple[Measure, ...]:
        """The measures that add up a column (the residents of buildings)."""
        return tuple(m for m in self.measures if m.kind == "sum")

    @property
    def occupants(self) -> Measure:
        """The sum of the people a feature holds (the buildings' residents): whom the address
        list warns and the evacuation moves.
        """
        return self.sums[0]

    @property
    def clipped(self) -> bool:
        """Whether the section's measures are clipped to each class (all of them are, or none)."""
        return any(m.clipped for m in self.measures)

    @property
    def clipped_kind(self) -> str:
        """What a clipped section measures of a feature's part in a class: length or area."""
        return next(m.kind for m in self.measures if m.clipped)


@dataclass(frozen=True)
class Network:
    """A line layer driven as a road network in an evacuation (``layers.network`` builds the
    graph, ``layers.evacuation`` routes on it): water deeper than ``drivable_depth_m`` closes a
    road, except where it crosses the ``bridged`` layer's areas (rivers and lakes: a road over
    them is a bridge, above the flood); evacuees are taken to the ``shelters`` layer, each
    shelter taking in as many as its ``capacity`` field says; the ``settlements`` layer's
    places are said when cut off.
    """

    drivable_depth_m: float
    shelters: str
    capacity: str
    settlements: str
    bridged: str

    def __post_init__(self) -> None:
        if not self.drivable_depth_m > 0:
            raise ValueError(f"network: drivable_depth_m {self.drivable_depth_m!r} is no depth")


@dataclass(frozen=True)
class Dense:
    """Where a dense layer's readings and their places are: the readings table's columns and
    the point layer whose features they belong to (``places``), whose ``kind_column`` sorts them
    into kinds drawn one at a time.
    """

    places: str
    place_column: str = "sensor_id"
    time_column: str = "observed_at"
    value_column: str = "value"
    kind_column: str = "kind"


@dataclass(frozen=True)
class Search:
    """What the search box finds in a layer (``layers.search``): the values of ``field``, told
    apart by ``detail`` when one is named. ``group``: one entry per value, however many features
    share it (a street is many road segments), instead of one per feature.
    """

    field: str
    detail: str | None = None
    group: bool = False


@dataclass(frozen=True)
class LayerSpec:
    """Everything the map, the report, the exports and the ETL need to know about one layer."""

    id: str
    title_sl: str
    title_en: str
    load_table: str  # the table the ETL writes
    read_table: str  # the table or view the map reads (a view adds derived columns)
    geometry: Geometry
    fields: tuple[Field, ...]
    label_field: str
    hover_fields: tuple[str, ...]
    style_key: str
    roles: frozenset[str]
    basemap: bool = False  # context beneath the thematic layers, drawn first
    visible: bool = True  # shown when a dashboard opens
    purpose: str | None = None  # one of PURPOSES, for the one layer that serves it
    # A layer held in parts (a flood scenario each): the map shows one part at a time, and a
    # load replaces one part. ``partition_order`` sorts the parts (by return period).
    partition_column: str | None = None
    partition_order: str | None = None
    renderer: str = "vector"
    loader: str = "vector"
    exposure: Exposure | None = None
    dense: Dense | None = None  # where a dense_points layer's readings are
    network: Network | None = None  # driven as a road network in an evacuation
    search: Search | None = None  # what the search box finds in it
    filters: tuple[str, ...] = ()  # the fields a person may filter the layer by
    totals: tuple[str, ...] = ()  # the numeric fields summed over a selection
    # another layer whose loads fill this one's table: this one shows fewer of its columns to
    # more roles (the streets' names and lines, from the staff's road condition)
    drawn_from: str | None = None
    srid: int = STORAGE_SRID
    id_column: str = "id"
    geometry_column: str = "geom"

    def __post_init__(self) -> None:
        problems = []
        if self.renderer not in RENDERER_KINDS:
            problems.append(f"renderer {self.renderer!r} not in {RENDERER_KINDS}")
        if self.loader not in LOADER_KINDS:
            problems.append(f"loader {self.loader!r} not in {LOADER_KINDS}")
        if self.purpose is not None and self.purpose not in PURPOSES:
            problems.append(f"purpose {self.purpose!r} not in {PURPOSES}")
        if self.loader == "raster" and not self.partition_column:
            problems.append(
                "a raster layer is held in parts (a scenario a raster): name its column"
            )
        if self.network and self.geometry != Geometry.LINE:
            problems.append("only a line layer is a road network")
        if (self.renderer == "dense_points") != (self.dense is not None):
            problems.append("a dense_points layer, and only one, says where its readings are")
        names = {f.name for f in self.fields}
        named = [self.label_field, *self.hover_fields]
        if self.exposure:
            named += [
                *self.exposure.listed,
                *(m.column for m in self.exposure.measures if m.column),
            ]
            named += [self.exposure.group_by] if self.exposure.group_by else []
        if self.search:
            named += [self.search.field, *([self.search.detail] if self.search.detail else [])]
        named += [*self.filters, *self.totals]
        problems += [f"names no field {n!r}" for n in named if n not in names]
        if self.filters and self.renderer != "vector":
            problems.append("only a vector layer is filtered (a dense one is chosen by kind)")
        problems += [
            f"sums {f.name!r}, which is not a number"
            for f in self.fields
            if f.name in self.totals and f.type not in NUMBER_TYPES
        ]
        if problems:
            raise ValueError(f"layer {self.id}: " + "; ".join(problems))

    @property
    def title(self) -> str:
        """The layer's title in both languages, ``title_sl · title_en``."""
        return f"{self.title_sl} · {self.title_en}"

    @property
    def loaded_as(self) -> str:
        """The layer whose loads fill this one's table, as the load catalogue names it."""
        return self.drawn_from or self.id

    @property
    def loaded_fields(self) -> tuple[Field, ...]:
        """The fields read from a file, in order; the others are derived in the database."""
        return tuple(f for f in self.fields if f.loaded)

    def field(self, name: str) -> Field:
        """The field called ``name``; ``StopIteration`` when the layer has none."""
        return next(f for f in self.fields if f.name == name)
