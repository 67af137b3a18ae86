"""The dataset catalogue: one row per load, with where the data came from."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, text


@dataclass(frozen=True)
class CatalogEntry:
    """What one load put into one layer, and from where."""

    layer: str
    source_file: str
    sha256: str
    source_crs: str
    source_layer: str | None
    licence: str | None
    provider: str | None
    synthetic: bool
    features_loaded: int
    features_rejected: int
    features_repaired: int
    duration_s: float
    part: str | None = None  # the part of the layer replaced (a flood scenario); None: all


def load_entry(
    report,
    checksum: str,
    options,
    started: float,
    source_crs: str,
    source_layer: str | None = None,
    part: str | None = None,
) -> CatalogEntry:
    """The catalogue entry of a load: what its report counted, its options' provenance, and its
    duration since ``started`` (``time.perf_counter()``)."""
    return CatalogEntry(
        layer=report.layer,
        source_file=report.path.name,
        sha256=checksum,
        source_crs=source_crs,
        source_layer=source_layer,
        licence=options.licence,
        provider=options.provider,
        synthetic=options.synthetic,
        features_loaded=report.loaded,
        features_rejected=report.rejected,
        features_repaired=report.repaired,
        duration_s=round(time.perf_counter() - started, 3),
        part=part,
    )


def record_load(conn: Connection, entry: CatalogEntry) -> int:
    """Insert ``entry`` in the transaction of the load it describes; returns its id."""
    return conn.scalar(
        text(
            "INSERT INTO dataset_load (layer, source_file, sha256, source_crs, source_layer, licence,"
            " provider, synthetic, features_loaded, features_rejected, features_repaired, duration_s, part)"
            " VALUES (:layer, :source_file, :sha256, :source_crs, :source_layer, :licence, :provider,"
            " :synthetic, :features_loaded, :features_rejected, :features_repaired, :duration_s, :part)"
            " RETURNING id"
        ),
        asdict(entry),
    )


def last_checksum(conn: Connection, layer: str, part: str | None = None) -> str | None:
    """The checksum of the newest load of ``layer`` (of its ``part``, for a partitioned layer)."""
    return conn.scalar(
        text(
            "SELECT sha256 FROM dataset_load WHERE layer = :layer"
            " AND part IS NOT DISTINCT FROM :part ORDER BY loaded_at DESC, id DESC LIMIT 1"
        ),
        {"layer": layer, "part": part},
    )


def read_catalog(engine: Engine) -> pd.DataFrame:
    """Every load, newest first, in the columns a person reads (the checksum shortened)."""
    with engine.connect() as conn:
        return pd.read_sql(
            text(
                "SELECT to_char(loaded_at, 'YYYY-MM-DD HH24:MI') AS loaded_at, layer, source_file,"
                " source_crs, features_loaded AS loaded, features_rejected AS rejected,"
                " features_repaired AS repaired, synthetic, licence, loaded_by,"
                " round(duration_s::numeric, 2) AS seconds, left(sha256, 12) AS sha256"
                " FROM dataset_load ORDER BY dataset_load.loaded_at DESC, id DESC"
            ),
            conn,
        )


def catalog_dcat(engine: Engine, specs: dict) -> dict:
    """The newest load of every layer as a DCAT-AP-like catalogue for the open-data portal.

    Parameters
    ----------
    specs
        The layer registry, for titles and for whether a layer is open (the public role may see it).
    """
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT DISTINCT ON (layer) layer, source_file, sha256, source_crs, licence, provider,"
                    " synthetic, features_loaded, loaded_at FROM dataset_load ORDER BY layer, loaded_at DESC"
                )
            )
            .mappings()
            .all()
        )
    datasets = []
    for row in rows:
        spec = specs.get(row["layer"])
        datasets.append(
            {
                "@type": "dcat:Dataset",
                "dct:identifier": row["layer"],
                "dct:title": {"sl": spec.title_sl, "en": spec.title_en} if spec else row["layer"],
                "dct:accessRights": "public" if spec and "public" in spec.roles else "restricted",
                "dct:license": row["licence"],
                "dct:publisher": row["provider"],
                "dct:modified": row["loaded_at"].isoformat(),
                "dct:source": row["source_file"],
                "dct:conformsTo": "EPSG:3794",
                "dct:provenance": f"source CRS {row['source_crs']}"
                + ("; synthetic sample data" if row["synthetic"] else ""),
                "spdx:checksum": {"spdx:algorithm": "sha256", "spdx:checksumValue": row["sha256"]},
                "features": row["features_loaded"],
            }
        )
    return {
        "@type": "dcat:Catalog",
        "dct:title": "Katalog podatkov · Dataset catalogue",
        "dcat:dataset": datasets,
    }
