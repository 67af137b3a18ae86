"""Versioned schema migrations: numbered SQL files applied once each, in order."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, make_url, text

from etl.readings import air_quality_unrolled, roll_up_air_quality
from layers.db import quoted
from layers.exposure_store import hits_current, keep_hits, watch_sources
from layers.network import network_unbuilt, rebuild_network
from layers.open_data import drop_open_views, make_open_views, open_views_stale
from layers.registry import network_layer
from layers.search import entries_stale, rebuild_all

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def pending_migrations(applied: set[str]) -> list[Path]:
    """The migration files not yet in ``applied``, in order of their number."""
    return [
        p for p in sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql")) if p.stem not in applied
    ]


def migrate(engine: Engine, reader_url: str | None = None) -> list[str]:
    """Apply the pending migrations, each in its own transaction, and grant reading.

    Parameters
    ----------
    engine
        A connection as the writer role, which will own the tables.
    reader_url
        The dashboards' URL; its user is granted SELECT on every table and view.

    Returns
    -------
    list of str
        The versions applied now.
    """
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        # One migrator at a time: a second `make run` waits instead of applying twice.
        conn.execute(text("SELECT pg_advisory_xact_lock(37940001)"))
        applied = set(conn.scalars(text("SELECT version FROM schema_migration")))
        done, pending = [], pending_migrations(applied)
        if pending:
            drop_open_views(conn)
        for path in pending:
            log.info("applying migration %s", path.name)
            conn.exec_driver_sql(path.read_text())
            conn.execute(
                text("INSERT INTO schema_migration (version) VALUES (:v)"), {"v": path.stem}
            )
            done.append(path.stem)
        if done or entries_stale(conn):  # a table the search reads, or what it reads, changed
            rebuild_all(conn)
        if air_quality_unrolled(conn):  # readings stored before their means were kept
            roll_up_air_quality(conn)
        roads = network_layer()
        if roads and network_unbuilt(conn, roads):  # roads loaded before their graph existed
            rebuild_network(conn, roads)
        if open_views_stale(conn):  # dropped above, or the registry changed
            make_open_views(conn)
        watch_sources(conn)  # the registry may have given the report another layer
        if not hits_current(conn):  # data written outside a load, or the report's statement changed
            keep_hits(conn)
    if reader_url:
        grant_reading(engine, make_url(reader_url).username)
    return done


# What the dashboards' role may not read: it works on these only through the definer's functions.
PRIVATE_TABLES = ("audit_event", "app_session", "sign_in_throttle")


def grant_reading(engine: Engine, reader: str | None) -> None:
    """Let ``reader`` select from every table and view but the private ones, and call the
    migrations' definer's functions (sessions, sign-in limits, the audit trail); no more.
    """
    with engine.begin() as conn:
        current = conn.scalar(text("SELECT current_user"))
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": reader})
        if not reader or reader == current or not exists:
            return
        role, schema = quoted(reader), quoted(conn.scalar(text("SELECT current_schema()")))
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
        private = ", ".join(f"{schema}.{quoted(t)}" for t in PRIVATE_TABLES)
        conn.exec_driver_sql(f"REVOKE ALL ON {private} FROM {role}")
        definers = conn.scalars(
            text(
                "SELECT p.oid::regprocedure::text FROM pg_proc p"
                " WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef"
                " AND pg_get_userbyid(p.proowner) = current_user"
            )
        ).all()
        for function in definers:  # regprocedure's text is already quoted where it must be
            conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")
