"""The open layers as files anyone may download, and the DCAT-AP catalogue that lists them.

Open means the public role may see the layer (``layers.toml``), and only what the public sees of
it is written: its declared fields, never a staff layer's columns (the streets, not the roads'
condition). The ETL writes a GeoPackage per open layer and one of them all after each load (a
layer's figures may come from another's: the districts' residents from the buildings), into the
folder the server serves at ``/open-data/``; each file carries the title,
licence, provider and source of the layer's newest load in its metadata. ``/catalog.json`` is the
catalogue, as JSON-LD in DCAT-AP's terms, its distributions pointing at the downloads and at
the OGC API.

The OGC API (``dashboards.ogc``) reads the open layers through views beside their tables, one per
layer (``open_wifi_hotspots``), of its id, declared fields and shape only: a column that is not
open is not in any view, so no query of the API can return it, filter by it or name it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pyogrio
from sqlalchemy import Connection, Engine, text

from layers.catalog import newest_loads
from layers.db import quoted
from layers.queries import read_columns
from layers.registry import visible_to
from layers.selection import Scope, features
from layers.spec import LayerSpec

OPEN_ROLE = "public"
OPEN_VIEW_PREFIX = "open_"  # the views the OGC API reads: what the public sees of each layer
ALL_LAYERS_FILE = "odprti_podatki.gpkg"  # every open layer in one file
GEOPACKAGE_TYPE = "application/geopackage+sqlite3"
NEW = ".new-"  # the prefix of a file being written, which is never served
LOCK_FILE = ".lock"  # taken while the downloads are written
ACCESS_RIGHTS = "http://publications.europa.eu/resource/authority/access-right/"
LICENCES = {  # the licences loads are recorded with, as the URIs DCAT-AP wants
    "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0 1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dct:modified": {"@type": "xsd:dateTime"},
    "dcat:byteSize": {"@type": "xsd:nonNegativeInteger"},
}


def open_layers() -> list[LayerSpec]:
    """The layers the public may see, in drawing order."""
    return visible_to(OPEN_ROLE)


def view_columns(spec: LayerSpec) -> list[str]:
    """The columns of the layer's open view: its id, declared fields and shape."""
    return [*read_columns(spec), spec.geometry_column]


AIR_QUALITY = "air_quality_hourly"  # the collection of the air's hourly means, beside the layers
AIR_QUALITY_COLUMNS = ["id", "station", "kind", "unit", "hour_start", "mean", "readings", "geom"]
# an hour's mean of a station whose kind is still the one it was taken of (etl.readings); its id
# is the station's number and the hour's (since 1970, fewer than a million until 2084) in one
AIR_QUALITY_VIEW_NAME = f"{OPEN_VIEW_PREFIX}{AIR_QUALITY}"
AIR_QUALITY_SOURCE = "sensor_readings"  # the layer whose loads the means are of
AIR_QUALITY_TITLE = (
    "Kakovost zraka: urna povprečja po merilnih mestih",
    "Air quality: hourly means per station",
)
AIR_QUALITY_VIEW = f"""CREATE VIEW {AIR_QUALITY_VIEW_NAME} AS
SELECT a.sensor_id::bigint * 1000000 + (extract(epoch FROM a.hour) / 3600)::bigint AS id,
       s.code AS station, s.kind, s.unit, a.hour AS hour_start,
       round(a.mean::numeric, 2)::double precision AS mean, a.readings, s.geom
  FROM air_quality_hour a JOIN sensor s ON s.id = a.sensor_id AND s.kind = a.kind"""  # noqa: S608


def view_name(spec: LayerSpec) -> str:
    """The layer's open view, beside the tables it reads (``open_wifi_hotspots``)."""
    return f"{OPEN_VIEW_PREFIX}{spec.id}"


OPEN_VIEWS = text(  # the open views of the schema the tables are in
    "SELECT c.table_name, c.column_name FROM information_schema.columns c"
    " JOIN pg_views v ON v.schemaname = c.table_schema AND v.viewname = c.table_name"
    " WHERE c.table_schema = current_schema() AND v.viewname LIKE :prefix"
    " ORDER BY c.table_name, c.ordinal_position"
).bindparams(prefix=OPEN_VIEW_PREFIX.replace("_", "\\_") + "%")


def _held_views(conn: Connection) -> dict[str, list[str]]:
    held: dict[str, list[str]] = {}
    for view, name in conn.execute(OPEN_VIEWS):
        held.setdefault(view, []).append(name)
    return held


def open_views_stale(conn: Connection) -> bool:
    """Whether the open views are not those of the open layers: the registry opened a layer,
    closed one or changed its fields since they were made.
    """
    expected = {view_name(s): view_columns(s) for s in open_layers()}
    expected[AIR_QUALITY_VIEW_NAME] = AIR_QUALITY_COLUMNS
    return _held_views(conn) != expected


def drop_open_views(conn: Connection) -> None:
    """Drop the open views, which would stop a migration changing a table they read."""
    for view in _held_views(conn):
        conn.exec_driver_sql(f"DROP VIEW {quoted(view)}")


def make_open_views(conn: Connection) -> None:
    """Make the open views afresh: a view per open layer, in the schema of its table, and the
    air quality's hourly means.
    """
    drop_open_views(conn)
    for spec in open_layers():
        columns = ", ".join(quoted(c) for c in view_columns(spec))
        conn.exec_driver_sql(
            f"CREATE VIEW {quoted(view_name(spec))} AS"  # noqa: S608 (registry names, quoted)
            f" SELECT {columns} FROM {quoted(spec.read_table)}"
        )
    conn.exec_driver_sql(AIR_QUALITY_VIEW)


def download_names() -> set[str]:
    """The names of every download there may be: a file per open layer and the one of all."""
    return {download_name(s) for s in open_layers()} | {ALL_LAYERS_FILE}


def download_name(spec: LayerSpec) -> str:
    """The name of the layer's download (``wifi_hotspots.gpkg``)."""
    return f"{spec.id}.gpkg"


def file_metadata(spec: LayerSpec, load: dict) -> dict[str, str]:
    """What a download says of itself: what it is, whose, under which licence, from when."""
    return {
        "TITLE_SL": spec.title_sl,
        "TITLE_EN": spec.title_en,
        "LICENCE": load["licence"] or "",
        "PROVIDER": load["provider"] or "",
        "SOURCE": load["source_file"],
        "LOADED_AT": load["loaded_at"].isoformat(),
        "SYNTHETIC": "yes (sample data)" if load["synthetic"] else "no",
    }


def write_downloads(engine: Engine, folder: Path) -> list[Path]:
    """Write the GeoPackage of every loaded open layer and the one of them all into ``folder``.

    Each file is written beside the old one and then put in its place, so a download under way
    meanwhile gets the old file whole, never half of the new; two loads at once take turns. A
    file of a layer no longer open is deleted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        written = _write_all(engine, folder)
        for old in set(folder.glob("*.gpkg")) - set(written):
            old.unlink()
    return written


def _write_all(engine: Engine, folder: Path) -> list[Path]:
    bundle = folder / f"{NEW}{ALL_LAYERS_FILE}"
    bundle.unlink(missing_ok=True)
    written = []
    loads = newest_loads(engine)
    for spec in open_layers():
        load = loads.get(spec.loaded_as)
        if load is None:
            continue
        frame = features(engine, Scope(spec), OPEN_ROLE)  # what the public may export
        target = folder / download_name(spec)
        fresh = folder / f"{NEW}{target.name}"
        fresh.unlink(missing_ok=True)
        written_as = {
            "driver": "GPKG",
            "layer": spec.id,
            "layer_metadata": file_metadata(spec, load),
            "layer_options": {"FID": spec.id_column},  # a feature keeps its id in the file
        }
        frame.to_file(fresh, **written_as)
        frame.to_file(bundle, **written_as)
        os.replace(fresh, target)
        written.append(target)
    if written:
        os.replace(bundle, folder / ALL_LAYERS_FILE)
        written.append(folder / ALL_LAYERS_FILE)
    return written


def stale_downloads(folder: Path) -> set[str]:
    """The downloads in ``folder`` that no longer hold what the registry opens: a layer that is
    no longer open, or fields the layer no longer has (the registry changed since they were
    written). The server withholds them until the ETL writes them again.
    """
    expected = {download_name(s): {s.id: read_columns(s)[1:]} for s in open_layers()}  # id: FID
    present = {name: held for name, held in expected.items() if (folder / name).exists()}
    expected[ALL_LAYERS_FILE] = {k: v for held in present.values() for k, v in held.items()}
    return {p.name for p in folder.glob("*.gpkg") if _held(p) != expected.get(p.name)}


def _held(path: Path) -> dict[str, list[str]]:
    """The layers of a GeoPackage and their fields."""
    return {
        str(layer): list(pyogrio.read_info(path, layer=layer)["fields"])
        for layer in pyogrio.list_layers(path)[:, 0]
    }


def open_catalog(
    engine: Engine, folder: Path, base_url: str, publisher: tuple[str, str], withheld: set[str]
) -> dict:
    """The DCAT-AP catalogue of the open layers downloadable from ``folder``, as JSON-LD.

    ``base_url`` is where the public reaches the server (``https://gis.ptuj.si``); the
    distributions' addresses are made from it. ``publisher`` is the municipality's name in
    Slovenian and English: it publishes every dataset, whoever made the data (``dct:creator``).
    The files ``withheld`` (``stale_downloads``) are left out.
    """
    loads = newest_loads(engine)
    agent = {
        "@type": "foaf:Agent",
        "foaf:name": _bilingual(*publisher),
    }
    datasets = []
    for spec in open_layers():
        load, path = loads.get(spec.loaded_as), folder / download_name(spec)
        if load is not None and path.exists() and path.name not in withheld:
            datasets.append(_layer_dataset(spec, load, path, base_url, agent))
    bundle = folder / ALL_LAYERS_FILE
    if datasets and bundle.exists() and bundle.name not in withheld:
        datasets.append(_bundle_dataset(datasets, bundle, base_url, agent))
    readings = loads.get(AIR_QUALITY_SOURCE)
    if readings is not None:
        datasets.append(_air_quality_dataset(readings, base_url, agent))
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog.json",
        "@type": "dcat:Catalog",
        "dct:title": _bilingual(
            f"Odprti prostorski podatki: {publisher[0]}", f"Open spatial data: {publisher[1]}"
        ),
        "dct:description": _bilingual(
            "Sloji zemljevida, ki jih sme videti vsakdo, za prenos v formatu GeoPackage (D96/TM).",
            "The map's layers anyone may see, to download as GeoPackage (D96/TM).",
        ),
        "dct:publisher": agent,
        "dcat:dataset": datasets,
    }


def _bilingual(sl: str, en: str) -> list[dict]:
    return [{"@language": "sl", "@value": sl}, {"@language": "en", "@value": en}]


def _layer_dataset(spec: LayerSpec, load: dict, path: Path, base_url: str, agent: dict) -> dict:
    about = (
        f"{spec.title_sl}: sloj zemljevida občine, kot ga vidi javnost.",
        f"{spec.title_en}: the municipality's map layer as the public sees it.",
    )
    ways = [
        _distribution(path, base_url, load["licence"]),
        _api_distribution(spec.id, base_url, load["licence"]),
    ]
    return _dataset(spec.id, (spec.title_sl, spec.title_en), about, load, ways, base_url, agent)


def _air_quality_dataset(load: dict, base_url: str, agent: dict) -> dict:
    about = (
        "Urna povprečja meritev merilnih mest kakovosti zraka; posameznih meritev ni.",
        "The air-quality stations' hourly means; no single reading.",
    )
    ways = [_api_distribution(AIR_QUALITY, base_url, load["licence"])]
    return _dataset(AIR_QUALITY, AIR_QUALITY_TITLE, about, load, ways, base_url, agent)


def _dataset(
    key: str,
    title: tuple[str, str],
    about: tuple[str, str],
    load: dict,
    distributions: list[dict],
    base_url: str,
    agent: dict,
) -> dict:
    made = "sintetični vzorec · synthetic sample data; " if load["synthetic"] else ""
    dataset = {
        "@id": f"{base_url}/catalog.json#{key}",
        "@type": "dcat:Dataset",
        "dct:identifier": key,
        "dct:title": _bilingual(*title),
        "dct:description": _bilingual(*about),
        "dct:publisher": agent,
        "dct:modified": load["loaded_at"].isoformat(),
        "dct:provenance": {
            "@type": "dct:ProvenanceStatement",
            "rdfs:label": f"{made}naloženo iz · loaded from {load['source_file']}",
        },
        "dct:accessRights": {"@id": f"{ACCESS_RIGHTS}PUBLIC"},
        "dcat:distribution": distributions,
    }
    if load["provider"]:  # who made the data, which the municipality publishes
        dataset["dct:creator"] = {"@type": "foaf:Agent", "foaf:name": load["provider"]}
    return dataset


def _bundle_dataset(datasets: list[dict], path: Path, base_url: str, agent: dict) -> dict:
    """Every open layer in one file: a dataset of its own, each layer's licence in the file."""
    licences = {json.dumps(d["dcat:distribution"][0].get("dct:license")) for d in datasets}
    licence = json.loads(licences.pop()) if len(licences) == 1 else None
    distribution = _distribution(path, base_url, None)
    if licence:
        distribution["dct:license"] = licence
    return {
        "@id": f"{base_url}/catalog.json#{path.stem}",
        "@type": "dcat:Dataset",
        "dct:identifier": path.stem,
        "dct:title": _bilingual("Vsi odprti sloji", "All open layers"),
        "dct:description": _bilingual(
            "Vsi odprti sloji v eni datoteki; licenca vsakega je v njegovih metapodatkih.",
            "Every open layer in one file; each layer's licence is in its metadata.",
        ),
        "dct:publisher": agent,
        "dct:modified": max(d["dct:modified"] for d in datasets),
        "dct:accessRights": {"@id": f"{ACCESS_RIGHTS}PUBLIC"},
        "dcat:distribution": [distribution],
    }


def _distribution(path: Path, base_url: str, licence: str | None) -> dict:
    url = f"{base_url}/open-data/{path.name}"
    described = {
        "@id": url,
        "@type": "dcat:Distribution",
        "dcat:downloadURL": {"@id": url},
        "dcat:accessURL": {"@id": url},
        "dcat:mediaType": {"@id": f"http://www.iana.org/assignments/media-types/{GEOPACKAGE_TYPE}"},
        "dct:format": {"@id": "http://publications.europa.eu/resource/authority/file-type/GPKG"},
        "dcat:byteSize": path.stat().st_size,
    }
    return _licensed(described, licence)


def _api_distribution(collection: str, base_url: str, licence: str | None) -> dict:
    """A collection as the OGC API serves it (``dashboards.ogc``): GeoJSON, page by page."""
    url = f"{base_url}/ogc/collections/{collection}"
    described = {
        "@id": url,
        "@type": "dcat:Distribution",
        "dcat:accessURL": {"@id": url},
        "dcat:mediaType": {
            "@id": "http://www.iana.org/assignments/media-types/application/geo+json"
        },
        "dct:format": {"@id": "http://publications.europa.eu/resource/authority/file-type/GEOJSON"},
        "dct:conformsTo": {"@id": "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"},
    }
    return _licensed(described, licence)


def _licensed(distribution: dict, licence: str | None) -> dict:
    """``distribution`` with its licence, when the load recorded one."""
    if licence:
        distribution["dct:license"] = licence_document(licence)
    return distribution


def licence_document(licence: str) -> dict:
    """A recorded licence (``CC BY 4.0``, ``CC0 1.0 (sintetični vzorec)``) as DCAT-AP's licence
    document: the licence's URI where it is a known one, its words otherwise.
    """
    known = [uri for name, uri in LICENCES.items() if licence.startswith(name)]
    if known:
        return {"@id": known[0]}
    return {"@type": "dct:LicenseDocument", "rdfs:label": licence}
