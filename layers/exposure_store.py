"""The whole municipality's flood hits, kept in ``flood_exposure`` (etl/migrations/0016).

A report of the whole municipality reads the hits kept here (``layers.exposure_sql``) instead of
finding them against the zones: with 100,000 buildings, 20 ms instead of 150. They are filled by
the very statement a report of an area runs, in the transaction of each load and by the
migrations, and are read only while ``flood_exposure_made`` holds that statement's checksum. A
trigger on every table the statement reads removes the checksum at any write (a load, an edit in
QGIS), and a changed declaration changes the statement: either way the report computes its hits
again until they are kept afresh.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, text

from layers.db import quoted
from layers.exposure_sql import STORE_TABLE, fill_sql, report_params
from layers.registry import DEPTH_TABLE, exposed_layers, layer_for

log = logging.getLogger(__name__)

OUTDATED = "flood_exposure_outdated"  # the trigger and its function (etl/migrations/0016)
KEEPING_LOCK = 37940003  # the advisory lock of filling them (the migrations' is 37940001)


def source_tables() -> list[str]:
    """The tables the kept hits are computed from: the exposed layers' (their read tables are
    the tables they are loaded into), the flood zones and their depths, and the boundary.
    """
    flood = layer_for("hazard").load_table
    boundary = layer_for("boundary").load_table
    tables = [s.load_table for s in exposed_layers()] + [flood, DEPTH_TABLE, boundary]
    return list(dict.fromkeys(tables))


def watch_sources(conn: Connection) -> None:
    """Put the trigger that marks the kept hits outdated on each of their source tables (again,
    when it is there: the registry may have added a layer to the report).
    """
    for table in source_tables():
        conn.exec_driver_sql(
            f"CREATE OR REPLACE TRIGGER {OUTDATED}"
            f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quoted(table)}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {OUTDATED}()"
        )


def _checksum() -> str:
    return hashlib.sha256(fill_sql().encode()).hexdigest()


def hits_current(conn: Connection) -> bool:
    """Whether the kept hits are those of the data and the declarations now."""
    made_by = conn.scalar(text("SELECT statement_sha256 FROM flood_exposure_made"))
    return made_by == _checksum()


def keep_hits(conn: Connection) -> None:
    """Fill the kept hits afresh, for every scenario loaded, in the connection's transaction."""
    # one filling at a time: a second transaction's DELETE would not see the first's new rows
    # (its snapshot is older than their commit) and both sets would stay, every hit counted twice
    conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": KEEPING_LOCK})
    flood = layer_for("hazard")
    scenarios = conn.scalars(
        text(f"SELECT DISTINCT {quoted(flood.partition_column)} FROM {quoted(flood.read_table)}")  # noqa: S608
    ).all()
    # not TRUNCATE: reports go on reading the rows of before until the load commits
    conn.execute(text(f"DELETE FROM {STORE_TABLE}"))  # noqa: S608
    for scenario in scenarios:
        conn.execute(text(fill_sql()), report_params(scenario, None))
    # counted now, not by the next autovacuum: the planner, thinking the table empty, looked
    # each of 20,000 exposed buildings up by its key (28 ms) instead of hashing them (18 ms)
    conn.execute(text(f"ANALYZE {STORE_TABLE}"))
    conn.execute(
        text(
            "INSERT INTO flood_exposure_made (statement_sha256) VALUES (:sha)"
            " ON CONFLICT (only_row) DO UPDATE SET statement_sha256 = excluded.statement_sha256"
        ),
        {"sha": _checksum()},
    )
    log.info("the exposure of %d flood scenarios kept for the report", len(scenarios))
