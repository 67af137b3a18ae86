"""Fixtures: a real PostGIS (the project's own cluster or TEST_DATABASE_URL), never a mock.

Each test session works in schemas of its own, dropped at the end, so it never touches the
data `make run` serves. Without a database the tests fail: they never skip.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from data.profiles import load_profile
from etl.profile import load_profile_data
from etl.schema import migrate
from layers.db import get_engine, read_env_file
from layers.readings import stop_reading_caches
from layers.registry import LAYERS


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that stops the project's PostGIS or broker would fail every other worker's tests
    while they are down: it runs in a session of its own (`make test` runs them last)."""
    if (
        item.get_closest_marker("outage")
        and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1)) > 1
    ):
        pytest.fail(
            "this test stops the project's services: run it apart, `pytest -m outage`",
            pytrace=False,
        )


@dataclass(frozen=True)
class TestDatabase:
    """A migrated schema of its own, reached as the writer (ETL) and as the reader (dashboards)."""

    schema: str
    writer_url: str
    reader_url: str
    open_data_dir: Path  # where loads through the command line write the open downloads

    @property
    def writer(self) -> Engine:
        return get_engine(self.writer_url, "tests")

    @property
    def reader(self) -> Engine:
        return get_engine(self.reader_url, "tests")

    def variables(self) -> dict[str, str]:
        """The variables that point the ETL and the app at this schema (and not at the
        checkout's own downloads)."""
        return {
            "DATABASE_URL": self.writer_url,
            "DATABASE_READER_URL": self.reader_url,
            "GIS_OPEN_DATA_DIR": str(self.open_data_dir),
        }

    def environment(self) -> dict[str, str]:
        """The process's environment with ``variables``, for a child process."""
        return {**os.environ, **self.variables()}

    def count(self, table: str) -> int:
        with self.writer.connect() as conn:
            return conn.scalar(text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608 (test's own names)


def test_urls() -> tuple[str, str]:
    if os.environ.get("TEST_DATABASE_URL"):
        writer = os.environ["TEST_DATABASE_URL"]
        return writer, os.environ.get("TEST_DATABASE_READER_URL", writer)
    values = read_env_file()
    if values.get("TEST_DATABASE_URL"):
        return values["TEST_DATABASE_URL"], values["TEST_DATABASE_READER_URL"]
    pytest.fail(
        "no test database: run `make db` (the project's PostGIS) or set TEST_DATABASE_URL",
        pytrace=False,
    )


def in_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on the search path (PostGIS stays reachable in public)."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema},public"})
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_schema(suffix: str) -> Iterator[TestDatabase]:
    writer, reader = test_urls()
    schema = f"test_{os.getpid()}_{suffix}"
    # pre-ping: the outage test restarts the cluster under this engine
    admin = create_engine(make_url(writer).set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(
            f"PostGIS is not reachable at {make_url(writer).render_as_string()}: {exc}. "
            "Run `make db`.",
            pytrace=False,
        )
    downloads = Path(tempfile.mkdtemp(prefix=f"{schema}-open-data-"))
    database = TestDatabase(schema, in_schema(writer, schema), in_schema(reader, schema), downloads)
    migrate(database.writer, database.reader_url)
    yield database
    shutil.rmtree(downloads, ignore_errors=True)
    stop_reading_caches()  # their top-up would look for the schema dropped here
    database.writer.dispose()
    database.reader.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def etl_database() -> Iterator[TestDatabase]:
    """A schema for tests that load and check data themselves."""
    yield from make_schema("etl")


@pytest.fixture
def database(etl_database: TestDatabase) -> TestDatabase:
    """The ETL schema, emptied before the test (and its readings caches forgotten: the ids
    they hold as watermarks start again)."""
    stop_reading_caches()
    tables = ", ".join(f'"{t}"' for t in dict.fromkeys(s.load_table for s in LAYERS.values()))
    with etl_database.writer.begin() as conn:
        conn.execute(
            text(
                f"TRUNCATE {tables}, sensor_key, dataset_load, indicator_snapshot, audit_event,"
                " search_entry, feed_batch, feed_state, feed_dead_letter, alert, air_quality_hour,"
                " road_edge, road_vertex, flood_depth, flood_exposure"
                " RESTART IDENTITY"
            )
        )
    return etl_database


@pytest.fixture(scope="session")
def ptuj_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Ptuj sample, generated once per session into a temporary folder."""
    from data.sample.generate import write_sample

    return write_sample(load_profile("ptuj"), tmp_path_factory.mktemp("ptuj") / "sample").parent


@pytest.fixture(scope="session")
def sample_database(ptuj_sample: Path) -> Iterator[TestDatabase]:
    """A schema holding the whole Ptuj profile, loaded through the ETL as `make run` does."""
    for database in make_schema("sample"):
        load_profile_data(database.writer, load_profile("ptuj"), ptuj_sample, progress=False)
        yield database


@pytest.fixture(scope="session")
def maribor_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Maribor sample, generated once per session into a temporary folder."""
    from data.sample.generate import write_sample

    folder = tmp_path_factory.mktemp("maribor") / "sample"
    return write_sample(load_profile("maribor"), folder).parent


@pytest.fixture(scope="session")
def maribor_database(maribor_sample: Path) -> Iterator[TestDatabase]:
    """A schema holding the whole Maribor profile, loaded as `make run PROFILE=maribor` does."""
    for database in make_schema("maribor"):
        load_profile_data(database.writer, load_profile("maribor"), maribor_sample, progress=False)
        yield database


@pytest.fixture
def sensors(database):
    """Two sensors in the schema: an air station's PM10 and a parking bay."""
    with database.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sensor (id, code, kind, unit, installed, status, geom) VALUES"
                " (0, 'ZRAK-T1', 'pm10', 'µg/m³', '2024-01-01', 'deluje',"
                "  ST_SetSRID(ST_Point(566000, 142000), 3794)),"
                " (0, 'PARK-T1', 'parking', '%', '2025-06-01', 'deluje',"
                "  ST_SetSRID(ST_Point(566100, 142100), 3794))"
            )
        )
        # the map's places
        catalogue_row(conn, "sensors", dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    return database


@pytest.fixture
def flood_database(database: TestDatabase, tmp_path: Path) -> TestDatabase:
    """The ETL schema holding the hand-made flood of ``tests/flood_fixture.py`` and nothing else."""
    from tests import flood_fixture

    flood_fixture.build(database, tmp_path)
    return database


@pytest.fixture
def network(flood_database: TestDatabase) -> TestDatabase:
    """The flood fixture with the hand-made road network and shelters of
    ``tests/network_fixture.py``."""
    from tests import network_fixture

    network_fixture.build(flood_database)
    return flood_database


@pytest.fixture
def city(flood_database):
    """The flood fixture with a Natura site over the west half, degraded land, a poor road."""
    with flood_database.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO natura2000_site (site_code, name, site_type, geom) VALUES"
                " ('SI1', 'Zahod', 'SAC', ST_Multi(ST_MakeEnvelope(565900, 141900, 566200, 142500, 3794)))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO degraded_land (name, land_type, status, geom) VALUES"
                " ('Jama', 'gramoznica', 'neaktivno', ST_Multi(ST_MakeEnvelope(566300, 142300, 566400, 142400, 3794))),"
                " ('Stara', 'odlagališče', 'sanirano', ST_Multi(ST_MakeEnvelope(566400, 142400, 566500, 142500, 3794)))"
            )
        )
        conn.execute(text("UPDATE road_segment SET condition = 5 WHERE name = 'Vodoravna'"))
        for layer in (
            "natura2000",
            "municipality",
            "degraded_land",
            "roads",
            "water_mains",
            "buildings",
            "wifi_hotspots",
            "heritage",
        ):
            catalogue_row(conn, layer, dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    return flood_database


def catalogue_row(conn, layer: str, loaded_at) -> None:
    """A catalogue row as a load would leave it, loaded at ``loaded_at``."""
    conn.execute(
        text(
            "INSERT INTO dataset_load (layer, source_file, sha256, source_crs, features_loaded,"
            " features_rejected, features_repaired, duration_s, loaded_at)"
            " VALUES (:layer, 'fixture', repeat('0', 64), 'EPSG:3794', 1, 0, 0, 0, :at)"
        ),
        {"layer": layer, "at": loaded_at},
    )
