"""The search box's answers: names of places and things, found by PostgreSQL itself.

Every layer that declares a search (``layers.toml``) has its names in ``search_entry``, which
the ETL rewrites after each load of the layer (``rebuild_entries``). A query and the names are
folded alike by the database's ``search_key`` (lower case, no diacritics) and matched by word
similarity on trigrams, so ``presernova`` and ``presrnova`` both find Prešernova ulica while it
is being typed. A role finds only what its layers hold: a public search never returns a
building's address.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from sqlalchemy import (
    Connection,
    Engine,
    Text,
    bindparam,
    cast,
    column,
    func,
    literal,
    null,
    select,
    table,
    text,
)

from layers.queries import WEB_MERCATOR
from layers.registry import LAYERS
from layers.spec import LayerSpec

MIN_QUERY = 2  # characters: fewer match half of everything
# how alike a run of the name's words and the query must be: a typo or two in a long query;
# a short one (a code, a first syllable) must match closely, or every "10" finds "pm10"
MIN_SIMILARITY = 0.4
MIN_SIMILARITY_SHORT = 0.6
SHORT_QUERY = 6  # characters
RESULTS = 10
MARK_TOLERANCE_M = 1.0  # a found shape is marked, not measured: simplified to about a metre

ENTRIES = table(
    "search_entry",
    column("id"),
    column("layer"),
    column("feature_id"),
    column("label"),
    column("detail"),
    column("key"),
    column("geom"),
)


# Per layer the role may search (in the registry's order), its nearest names by the index;
# ``<%`` keeps only those similar enough and lets the index skip the rest.
FIND = text("""
SELECT found.id, found.layer, found.label, found.detail
  FROM unnest(CAST(:layers AS text[])) WITH ORDINALITY AS searched (layer, place)
 CROSS JOIN LATERAL (
       SELECT e.id, e.layer, e.label, e.detail, e.key,
              search_key(:query) <<-> e.key AS distance
         FROM search_entry e
        WHERE e.layer = searched.layer AND search_key(:query) <% e.key
        ORDER BY search_key(:query) <<-> e.key
        LIMIT :limit) AS found
 ORDER BY found.distance, similarity(search_key(:query), found.key) DESC, searched.place,
          found.label
 LIMIT :limit
""")


@dataclass(frozen=True)
class Found:
    """One answer: the entry's id, its layer, and the name (and what tells it apart) shown."""

    entry: int
    layer: str
    label: str
    detail: str | None


@dataclass(frozen=True)
class Place:
    """Where an answer is: its feature (None for a street of many), its extent and its shape,
    both in EPSG:3857.
    """

    layer: str
    feature_id: int | None
    bounds: tuple[float, float, float, float]
    shape: shapely.Geometry


def searchable(role: str) -> list[LayerSpec]:
    """The layers ``role`` may search, in the registry's order (settlements before streets)."""
    return [s for s in LAYERS.values() if s.search and role in s.roles]


def rebuild_entries(conn: Connection, spec: LayerSpec) -> None:
    """Rewrite the search entries of searchable ``spec`` from its table, in the caller's
    transaction.
    """
    found = spec.search
    conn.execute(ENTRIES.delete().where(ENTRIES.c.layer == spec.id))
    names = {spec.id_column, found.field, spec.geometry_column, found.detail} - {None}
    source = table(spec.load_table, *(column(n) for n in names))
    label = source.c[found.field]
    detail = cast(source.c[found.detail], Text) if found.detail else null()
    geom = source.c[spec.geometry_column]
    if found.group:
        rows = select(literal(spec.id), null(), label, detail, func.ST_Union(geom))
        rows = rows.group_by(label, *([detail] if found.detail else []))
    else:
        rows = select(literal(spec.id), source.c[spec.id_column], label, detail, geom)
    rows = rows.where(label.is_not(None), func.btrim(label) != "")
    columns = ["layer", "feature_id", "label", "detail", "geom"]
    conn.execute(ENTRIES.insert().from_select(columns, rows))
    # fresh statistics, or the planner reads every entry rather than the trigram index
    conn.execute(text("ANALYZE search_entry"))


def rebuild_all(conn: Connection) -> None:
    """Rewrite the entries of every searchable layer and drop any other's (after a migration
    changed the tables).
    """
    layers = [s.id for s in LAYERS.values() if s.search]
    conn.execute(ENTRIES.delete().where(ENTRIES.c.layer != func.all(bindparam("layers", layers))))
    for spec in LAYERS.values():
        if spec.search:
            rebuild_entries(conn, spec)


def entries_stale(conn: Connection) -> bool:
    """Whether the entries' layers are not the searchable layers that have been loaded: the
    registry gave a layer a search, took one away or moved it to another layer since they
    were written (whatever the migrations did).
    """
    held = set(conn.scalars(text("SELECT DISTINCT layer FROM search_entry")))
    loaded = set(conn.scalars(text("SELECT DISTINCT layer FROM dataset_load")))
    return held != {s.id for s in LAYERS.values() if s.search and s.loaded_as in loaded}


def set_threshold(conn: Connection, query: str) -> None:
    """Set, for the transaction, how alike a name must be to ``query`` to be an answer."""
    least = MIN_SIMILARITY_SHORT if len(query.strip()) < SHORT_QUERY else MIN_SIMILARITY
    conn.execute(text(f"SET LOCAL pg_trgm.word_similarity_threshold = {least}"))


def find(engine: Engine, query: str, role: str, limit: int = RESULTS) -> list[Found]:
    """The best answers to ``query`` among the layers ``role`` may search, best first.

    Each layer's nearest names by word similarity come from the index; together they are
    ranked by it, then by the whole name's similarity (an exact name first), then by the
    layer's place in the registry (a settlement before a street of the same name).
    """
    layers = [s.id for s in searchable(role)]
    if len(query.strip()) < MIN_QUERY or not layers:
        return []
    with engine.begin() as conn:
        set_threshold(conn, query)
        rows = conn.execute(FIND, {"query": query.strip(), "layers": layers, "limit": limit}).all()
    return [Found(*row) for row in rows]


def place_of(engine: Engine, entry: int, role: str) -> Place | None:
    """Where answer ``entry`` is, or None when it is gone or not ``role``'s to find."""
    shape = func.ST_Transform(
        func.ST_SimplifyPreserveTopology(ENTRIES.c.geom, MARK_TOLERANCE_M), WEB_MERCATOR
    )
    query = select(ENTRIES.c.layer, ENTRIES.c.feature_id, func.ST_AsBinary(shape)).where(
        ENTRIES.c.id == bindparam("entry", entry),
        ENTRIES.c.layer == func.any(bindparam("layers", [s.id for s in searchable(role)])),
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    geometry = shapely.from_wkb(bytes(row[2]))
    return Place(row[0], row[1], tuple(geometry.bounds), geometry)
