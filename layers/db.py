"""Database settings and the one engine per process and role.

``DATABASE_URL`` (writer, used by the ETL) and ``DATABASE_READER_URL`` (read-only, used by the
dashboards) point at a municipality's own PostGIS. Without them the project's own cluster is
used, whose URLs ``scripts/pgcluster.sh`` writes to ``.local/db.env``.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, OperationalError

from layers.errors import ConfigurationError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENV_FILE = ROOT / ".local" / "db.env"
_NAMES = postgresql.dialect().identifier_preparer


def quoted(name: str) -> str:
    """A table's, column's or database's name (from the registry, the catalogue or the
    operator) as an SQL identifier, quoted where PostgreSQL needs it.
    """
    return _NAMES.quote(name)


@dataclass(frozen=True)
class DatabaseUrls:
    """Where the ETL writes (``writer``) and where the dashboards read (``reader``)."""

    writer: str
    reader: str


def read_env_file(path: Path = LOCAL_ENV_FILE) -> dict[str, str]:
    """Return the ``KEY=value`` lines of ``path`` (empty when it does not exist)."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def database_urls(environ: Mapping[str, str] | None = None) -> DatabaseUrls:
    """Return the URLs from the environment, else from the project's own cluster.

    Raises
    ------
    ConfigurationError
        When neither is there.
    """
    environ = os.environ if environ is None else environ
    source = environ if environ.get("DATABASE_URL") else read_env_file()
    writer = source.get("DATABASE_URL")
    if not writer:
        raise ConfigurationError(
            "no database is configured",
            "baza ni nastavljena",
            "run `make db` to start the project's PostGIS, or set DATABASE_URL",
            "zaženite `make db` za lastni PostGIS ali nastavite DATABASE_URL",
        )
    return DatabaseUrls(writer=writer, reader=source.get("DATABASE_READER_URL", writer))


def safe_url(url: str) -> str:
    """Return ``url`` with the password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


POOL_SIZE = 5  # connections an engine keeps open between uses
MAX_OVERFLOW = 5  # and may open beyond them at busy moments, closed when returned

# What an unreachable or restarting database raises on the way: the pages wait these out.
DATABASE_ERRORS = (OperationalError, DBAPIError, OSError)


@cache
def get_engine(url: str, application_name: str = "obcinski-zemljevid") -> Engine:
    """Return the process-wide engine for ``url`` (one per URL, so one per role).

    ``postgresql://`` URLs are given the psycopg 3 driver.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    log.info("connecting to %s", parsed.render_as_string(hide_password=True))
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        connect_args={"application_name": application_name, "connect_timeout": 10},
    )
    event.listen(engine, "connect", _without_jit)
    return engine


def _without_jit(connection: psycopg.Connection, _record: object) -> None:
    """Turn PostgreSQL's JIT off for a new connection of the pool.

    JIT compiles expressions and row decoding, where these queries spend little: their time is
    inside PostGIS's functions, which PostGIS rates so dear that a view of 12,000 buildings
    passed ``jit_above_cost`` and spent 53 of its 122 ms compiling. Set here, not in the URL's
    options, which other clients read (the readings' listener, the backup's tools).
    """
    connection.execute("SET jit = off")
    connection.commit()


def copied_rows(
    engine: Engine, select: str, columns: dict[str, pa.DataType], chunk_bytes: int = 64 << 20
) -> pa.Table:
    """The rows of ``select`` (its columns named and typed as ``columns``) through COPY as CSV
    parsed by pyarrow: the fastest way to move millions of rows out of PostgreSQL here. The text
    is parsed ``chunk_bytes`` at a time, so that all of it is never held at once.
    """
    read = pacsv.ReadOptions(column_names=list(columns))
    convert = pacsv.ConvertOptions(column_types=columns, strings_can_be_null=True)
    tables, buffer = [], io.BytesIO()

    def parse() -> None:
        if buffer.tell():
            buffer.seek(0)
            tables.append(pacsv.read_csv(buffer, read_options=read, convert_options=convert))

    with (
        engine.connect() as conn,
        conn.connection.driver_connection.cursor() as cursor,
        cursor.copy(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)") as copy,
    ):
        for block in copy:  # a row a block
            buffer.write(block)
            if buffer.tell() >= chunk_bytes:
                parse()
                buffer = io.BytesIO()
    parse()
    if not tables:
        return pa.table({name: pa.array([], kind) for name, kind in columns.items()})
    return pa.concat_tables(tables)
