"""The dataset catalogue, written: one row per load, with where the data came from, in the load's
own transaction. It is read in ``layers.catalog``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from etl.load import LoadOptions, LoadReport


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
    report: LoadReport,
    checksum: str,
    options: LoadOptions,
    started: float,
    source_crs: str,
    source_layer: str | None = None,
    part: str | None = None,
) -> CatalogEntry:
    """The catalogue entry of a load: what its report counted, its options' provenance, and its
    duration since ``started`` (``time.perf_counter()``).
    """
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


def reserve_load_id(conn: Connection) -> int:
    """The id of a catalogue entry yet to be recorded, so that rows can carry it before it is."""
    return conn.scalar(text("SELECT nextval(pg_get_serial_sequence('dataset_load', 'id'))"))


def record_load(conn: Connection, load_id: int, entry: CatalogEntry) -> None:
    """Insert ``entry`` as ``load_id`` (``reserve_load_id``) in the transaction of its load."""
    conn.execute(
        text(
            "INSERT INTO dataset_load (id, layer, source_file, sha256, source_crs, source_layer, licence,"
            " provider, synthetic, features_loaded, features_rejected, features_repaired, duration_s, part)"
            " VALUES (:id, :layer, :source_file, :sha256, :source_crs, :source_layer, :licence, :provider,"
            " :synthetic, :features_loaded, :features_rejected, :features_repaired, :duration_s, :part)"
        ),
        {"id": load_id, **asdict(entry)},
    )
