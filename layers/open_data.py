"""The open layers as files anyone may download, and the DCAT-AP catalogue that lists them.

Open means the public role may see the layer (``layers.toml``), and only what the public sees of
it is written: its declared fields, never a staff layer's columns (the streets, not the roads'
condition). The ETL writes a GeoPackage per open layer and one of them all after each load that
changes one, into the folder the server serves at ``/open-data/``; each file carries the title,
licence, provider and source of the layer's newest load in its metadata. ``/catalog.json`` is the
catalogue, as JSON-LD in DCAT-AP's terms, its distributions pointing at the downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import Connection, Engine, func, select, text

from layers.queries import check_access, layer_table, read_columns
from layers.registry import visible_to
from layers.spec import LayerSpec

OPEN_ROLE = "public"
ALL_LAYERS_FILE = "odprti_podatki.gpkg"  # every open layer in one file
GEOPACKAGE_TYPE = "application/geopackage+sqlite3"
LICENCES = {  # the licences loads are recorded with, as the URIs DCAT-AP wants
    "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0 1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dct:modified": {"@type": "xsd:dateTime"},
    "dcat:byteSize": {"@type": "xsd:nonNegativeInteger"},
}


def open_layers() -> list[LayerSpec]:
    """The layers the public may see, in drawing order."""
    return visible_to(OPEN_ROLE)


def download_name(spec: LayerSpec) -> str:
    """The name of the layer's download (``wifi_hotspots.gpkg``)."""
    return f"{spec.id}.gpkg"


def read_open_layer(conn: Connection, spec: LayerSpec) -> gpd.GeoDataFrame:
    """Every feature of ``spec`` with the fields the public sees, in the storage CRS."""
    check_access(spec, OPEN_ROLE)
    names = read_columns(spec)
    source = layer_table(spec, [*names, spec.geometry_column])
    query = select(
        *(source.c[n] for n in names), func.ST_AsBinary(source.c[spec.geometry_column])
    ).order_by(source.c[spec.id_column])
    rows = conn.execute(query).all()
    geometry = shapely.from_wkb([bytes(row[-1]) for row in rows]) if rows else []
    records = [dict(zip(names, row[:-1], strict=True)) for row in rows]
    return gpd.GeoDataFrame(records, columns=names, geometry=list(geometry), crs=spec.srid)


def newest_loads(conn: Connection) -> dict[str, dict]:
    """The newest load of each loaded layer, by layer id."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT ON (layer) layer, source_file, licence, provider, synthetic,"
            " loaded_at FROM dataset_load ORDER BY layer, loaded_at DESC"
        )
    ).mappings()
    return {row["layer"]: dict(row) for row in rows}


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
    meanwhile gets the old file whole, never half of the new.
    """
    folder.mkdir(parents=True, exist_ok=True)
    everything = folder / f".new-{ALL_LAYERS_FILE}"
    everything.unlink(missing_ok=True)
    written = []
    with engine.connect() as conn:
        loads = newest_loads(conn)
        for spec in open_layers():
            load = loads.get(spec.loaded_as)
            if load is None:
                continue
            frame = read_open_layer(conn, spec)
            metadata = file_metadata(spec, load)
            target = folder / download_name(spec)
            fresh = folder / f".new-{target.name}"
            fresh.unlink(missing_ok=True)
            written_as = {
                "driver": "GPKG",
                "layer": spec.id,
                "layer_metadata": metadata,
                "layer_options": {"FID": spec.id_column},  # a feature keeps its id in the file
            }
            frame.to_file(fresh, **written_as)
            frame.to_file(everything, **written_as)
            os.replace(fresh, target)
            written.append(target)
    if written:
        os.replace(everything, folder / ALL_LAYERS_FILE)
        written.append(folder / ALL_LAYERS_FILE)
    return written


def open_catalog(engine: Engine, folder: Path, base_url: str, publisher: tuple[str, str]) -> dict:
    """The DCAT-AP catalogue of the open layers downloadable from ``folder``, as JSON-LD.

    ``base_url`` is where the server is reached (``https://gis.ptuj.si``); the distributions'
    addresses are made from it. ``publisher`` is the municipality's name in Slovenian and English.
    """
    with engine.connect() as conn:
        loads = newest_loads(conn)
    datasets = []
    for spec in open_layers():
        load, path = loads.get(spec.loaded_as), folder / download_name(spec)
        if load is None or not path.exists():
            continue
        datasets.append(_dataset(spec, load, path, base_url, publisher[0]))
    whole = folder / ALL_LAYERS_FILE
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog.json",
        "@type": "dcat:Catalog",
        "dct:title": [
            {"@language": "sl", "@value": "Odprti prostorski podatki občine"},
            {"@language": "en", "@value": "The municipality's open spatial data"},
        ],
        "dct:publisher": {
            "@type": "foaf:Agent",
            "foaf:name": [
                {"@language": "sl", "@value": publisher[0]},
                {"@language": "en", "@value": publisher[1]},
            ],
        },
        "dcat:dataset": datasets,
        **({"dcat:distribution": [_distribution(whole, base_url, None)]} if whole.exists() else {}),
    }


def _dataset(spec: LayerSpec, load: dict, path: Path, base_url: str, publisher: str) -> dict:
    licence = load["licence"]
    return {
        "@id": f"{base_url}/catalog.json#{spec.id}",
        "@type": "dcat:Dataset",
        "dct:identifier": spec.id,
        "dct:title": [
            {"@language": "sl", "@value": spec.title_sl},
            {"@language": "en", "@value": spec.title_en},
        ],
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": load["provider"] or publisher},
        "dct:modified": load["loaded_at"].isoformat(),
        "dct:source": load["source_file"],
        "dct:accessRights": {
            "@id": "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
        },
        "dcat:distribution": [_distribution(path, base_url, licence)],
    }


def _distribution(path: Path, base_url: str, licence: str | None) -> dict:
    url = f"{base_url}/open-data/{path.name}"
    described = {
        "@id": url,
        "@type": "dcat:Distribution",
        "dcat:downloadURL": {"@id": url},
        "dcat:accessURL": {"@id": url},
        "dcat:mediaType": {
            "@id": f"https://www.iana.org/assignments/media-types/{GEOPACKAGE_TYPE}"
        },
        "dct:format": {"@id": "http://publications.europa.eu/resource/authority/file-type/GPKG"},
        "dcat:byteSize": path.stat().st_size,
    }
    if licence:
        described["dct:license"] = licence_document(licence)
    return described


def licence_document(licence: str) -> dict:
    """A recorded licence (``CC BY 4.0``, ``CC0 1.0 (sintetični vzorec)``) as DCAT-AP's licence
    document: the licence's URI where it is a known one, its words otherwise.
    """
    known = [uri for name, uri in LICENCES.items() if licence.startswith(name)]
    if known:
        return {"@id": known[0]}
    return {"@type": "dct:LicenseDocument", "dct:title": licence}
