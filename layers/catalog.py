"""Reading the load catalogue (``dataset_load``): where each layer's data came from, and when.

The ETL writes one row per load in the load's own transaction (``etl.catalog``); everything that
reads the catalogue reads it here: the layer cards and details, the report's sources, the wall's
data times, the readings cache's watermark, ``/health``, and the ETL's skip of a file loaded
unchanged, its listing and its DCAT catalogue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, text

from layers.spec import LayerSpec

NEWEST_LOAD = text(
    "SELECT layer, source_file, licence, provider, synthetic, features_loaded, loaded_at, part"
    " FROM dataset_load WHERE layer = :layer AND (CAST(:part AS text) IS NULL OR part = :part)"
    " ORDER BY loaded_at DESC, id DESC LIMIT 1"
)
NEW_READINGS = "new_readings"  # the channel a commit of readings is announced on, with its layer
# A layer's data changes with its loads and, for readings, with the live feed's batches.
CHANGES = (
    "(SELECT layer, loaded_at AS at FROM dataset_load"
    " UNION ALL SELECT layer, committed_at FROM feed_state) AS change"
)
NEWEST_TIMES = text(f"SELECT layer, max(at) FROM {CHANGES} GROUP BY layer ORDER BY layer")  # noqa: S608
NEWEST_TIMES_OF = text(
    f"SELECT layer, max(at) FROM {CHANGES} WHERE layer IN :layers GROUP BY layer"  # noqa: S608
).bindparams(bindparam("layers", expanding=True))
NEWEST_IDS = text(
    "SELECT greatest(coalesce(max(id) FILTER (WHERE layer = :first), 0),"
    " (SELECT coalesce(max(newest_batch), 0) FROM feed_state WHERE layer = :first)),"
    " coalesce(max(id) FILTER (WHERE layer = :second), 0) FROM dataset_load"
)


def newest_load(engine: Engine, spec: LayerSpec, part: str | None = None) -> dict | None:
    """The catalogue row of the newest load of ``spec`` (of its ``part``, when one is given)."""
    with engine.connect() as conn:
        row = conn.execute(NEWEST_LOAD, {"layer": spec.loaded_as, "part": part}).mappings().first()
    return dict(row) if row else None


def newest_loads(engine: Engine) -> dict[str, dict]:
    """The catalogue row of the newest load of each loaded layer, by layer id, in id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT DISTINCT ON (layer) layer, source_file, sha256, source_crs, licence,"
                " provider, synthetic, features_loaded, loaded_at FROM dataset_load"
                " ORDER BY layer, loaded_at DESC"
            )
        ).mappings()
        return {row["layer"]: dict(row) for row in rows}


def newest_times(conn: Connection, layers: Iterable[str] | None = None) -> dict[str, dt.datetime]:
    """When each layer (of ``layers``, or every one) was last loaded; a layer never loaded is
    missing.
    """
    if layers is None:
        return dict(conn.execute(NEWEST_TIMES).all())
    return dict(conn.execute(NEWEST_TIMES_OF, {"layers": list(layers)}).all())


FEED_HEALTH = text(
    "SELECT s.layer, s.committed_at, s.messages, s.readings, s.refused,"
    " extract(epoch FROM clock_timestamp() - s.committed_at)::float8 AS since_s,"
    " (SELECT extract(epoch FROM b.committed_at - b.first_received_at)::float8 FROM feed_batch b"
    "   WHERE b.layer = s.layer ORDER BY b.committed_at DESC LIMIT 1) AS lag_s,"
    " (SELECT coalesce(sum(b.readings), 0) FROM feed_batch b WHERE b.layer = s.layer"
    "   AND b.committed_at > clock_timestamp() - interval '1 minute') AS last_minute,"
    " (SELECT count(*) FROM feed_dead_letter d WHERE d.layer = s.layer"
    "   AND d.received_at > clock_timestamp() - interval '1 hour') AS dead_last_hour"
    " FROM feed_state s ORDER BY s.layer"
)


def feed_health(conn: Connection) -> dict[str, dict]:
    """How each live feed keeps up, by layer: its newest batch's time and how long its first
    message waited to be committed (the lag), readings a second over the last minute, dead
    letters in the last hour, and the totals.
    """
    return {
        row.layer: {
            "newest_batch": row.committed_at.isoformat(timespec="seconds"),
            "seconds_since_newest_batch": round(row.since_s, 1),
            "lag_seconds": round(row.lag_s or 0.0, 2),
            "readings_per_second": round(float(row.last_minute) / 60, 1),
            "dead_letters_last_hour": row.dead_last_hour,
            "totals": {"messages": row.messages, "readings": row.readings, "refused": row.refused},
        }
        for row in conn.execute(FEED_HEALTH)
    }


def newest_ids(engine: Engine, first: str, second: str) -> tuple[int, int]:
    """The catalogue ids of the newest loads of two layers (0: never loaded), the first's
    feed batches counted as its loads: a watermark.
    """
    with engine.connect() as conn:
        row = conn.execute(NEWEST_IDS, {"first": first, "second": second}).one()
    return int(row[0]), int(row[1])


def loaded_parts(engine: Engine) -> set[tuple[str, str | None]]:
    """Every (layer, part) that was ever loaded; part is a flood scenario, or None."""
    with engine.connect() as conn:
        return {
            tuple(row)
            for row in conn.execute(text("SELECT DISTINCT layer, part FROM dataset_load"))
        }


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
    datasets = []
    for row in newest_loads(engine).values():
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
