"""A schema of a benchmark's own in the project's database, migrated, and dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import make_url, text

from etl.schema import migrate
from layers.db import database_urls, get_engine


@contextmanager
def scratch_schema(name: str) -> Iterator[str]:
    """Yield the writer's URL with the new schema first on its search path (PostGIS stays in
    public); the schema and all in it are dropped on the way out, however the benchmark ends."""
    schema = f"bench_{name}_{os.getpid()}"
    admin = get_engine(database_urls().writer, "bench")
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(database_urls().writer).update_query_dict(
        {"options": f"-csearch_path={schema},public"}
    )
    try:
        in_schema = url.render_as_string(hide_password=False)
        migrate(get_engine(in_schema, "bench"))
        yield in_schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
