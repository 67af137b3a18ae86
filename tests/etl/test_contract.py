"""The contract every loader kind is held to by ``etl.load.load_file``, whatever the kind.

A load is recorded with what it wrote, or leaves nothing: killed before its commit, it leaves
the rows before it and no catalogue entry; a dry run reads and checks the whole file and keeps
nothing; the file loaded last time, unchanged, is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text

from etl.load import LOADERS, Loader, LoadOptions, LoadReport, load_file
from etl.read import file_sha256
from etl.readings import SOURCE_CRS
from layers.errors import LoadError
from layers.registry import LAYERS, layer
from layers.spec import LOADER_KINDS
from tests.etl.killing import kill_load_before_commit
from tests.flood_fixture import write_depths


def hotspots(path: Path, names: list[str]) -> Path:
    east = [566000 + 100 * i for i in range(len(names))]
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": names, "STANJE": ["aktivna"] * len(names)},
        geometry=gpd.points_from_xy(east, [142000] * len(names)),
        crs=3794,
    )
    pyogrio.write_dataframe(frame, path)
    return path


def vector_files(folder: Path) -> tuple[Path, Path]:
    return hotspots(folder / "a.gpkg", ["A", "B", "C"]), hotspots(folder / "b.gpkg", ["D", "E"])


def raster_files(folder: Path) -> tuple[Path, Path]:
    return (
        write_depths(folder / "a.tif", [[0.2, 1.0], [2.0, -9999]]),
        write_depths(folder / "b.tif", [[0.3, 0.3], [0.3, 0.3]]),
    )


def readings(path: Path, start: str) -> Path:
    times = pd.date_range(start, periods=10, freq="h", tz="UTC")
    pd.DataFrame(
        {"SENZOR": "ZRAK-A", "CAS": times, "VREDNOST": np.arange(10, dtype="float32")}
    ).to_parquet(path)
    return path


def readings_files(folder: Path) -> tuple[Path, Path]:
    first = readings(folder / "a.parquet", "2026-11-01")
    return first, readings(folder / "b.parquet", "2026-11-02")


def one_sensor(database, folder: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"ID": ["ZRAK-A"], "VRSTA": ["pm10"], "ENOTA": ["µg/m³"], "STANJE": ["deluje"]},
        geometry=gpd.points_from_xy([566900], [142600]),
        crs=3794,
    )
    pyogrio.write_dataframe(frame, folder / "senzor.gpkg")
    load_file(database.writer, folder / "senzor.gpkg", "sensors", LoadOptions(progress=False))


@dataclass(frozen=True)
class Case:
    """A layer of one loader kind, and two different files for it."""

    layer: str
    table: str
    files: Callable[[Path], tuple[Path, Path]]
    part: str | None = None  # the part a load replaces, given as --scenario
    source_crs: str = "EPSG:3794"
    setup: Callable = lambda database, folder: None

    def load(self, database, path: Path, **options) -> LoadReport:
        options = LoadOptions(scenario=self.part, progress=False, rejects_dir=None, **options)
        return load_file(database.writer, path, self.layer, options)

    def command_line(self) -> tuple[str, ...]:
        return ("--scenario", self.part) if self.part else ()


CASES = {
    "vector": Case("wifi_hotspots", "wifi_hotspot", vector_files),
    "raster": Case("flood_hazard", "flood_zone", raster_files, part="Q100"),
    "readings": Case(
        "sensor_readings", "sensor_reading", readings_files, source_crs=SOURCE_CRS, setup=one_sensor
    ),
}


def rows(database, table: str) -> list[str]:
    """Every row of ``table`` as text, sorted."""
    with database.writer.connect() as conn:
        return sorted(conn.scalars(text(f'SELECT t::text FROM "{table}" t')))  # noqa: S608


@pytest.fixture(params=CASES)
def loaded(request, database, tmp_path) -> tuple[Case, Path, Path]:
    """A case whose first file is loaded, with its files."""
    case = CASES[request.param]
    case.setup(database, tmp_path)
    first, second = case.files(tmp_path)
    case.load(database, first)
    return case, first, second


def test_every_loader_kind_has_its_loader():
    assert set(LOADERS) == set(LOADER_KINDS)
    assert all(isinstance(import_module(name).LOADER, Loader) for name in LOADERS.values())


def test_a_load_killed_after_its_writes_leaves_the_rows_before_it_and_no_entry(database, loaded):
    case, _, second = loaded
    before, entries = rows(database, case.table), database.count("dataset_load")

    written = kill_load_before_commit(database, second, case.layer, *case.command_line())

    assert case.table in written  # killed with the layer's rows replaced (or appended), uncommitted
    assert rows(database, case.table) == before
    assert database.count("dataset_load") == entries


def test_a_dry_run_checks_the_whole_file_and_keeps_nothing(database, loaded):
    case, _, second = loaded
    before, entries = rows(database, case.table), database.count("dataset_load")

    report = case.load(database, second, dry_run=True)

    assert report.dry_run and report.loaded > 0 and not report.skipped
    assert rows(database, case.table) == before
    assert database.count("dataset_load") == entries


def test_the_file_loaded_last_time_is_skipped_and_changes_nothing(database, loaded):
    case, first, _ = loaded
    before, entries = rows(database, case.table), database.count("dataset_load")

    assert case.load(database, first).skipped
    assert rows(database, case.table) == before
    assert database.count("dataset_load") == entries


def test_each_kind_records_its_file_crs_and_the_part_it_replaced(database, loaded):
    case, _, second = loaded
    report = case.load(database, second)
    with database.writer.connect() as conn:
        entry = conn.execute(
            text(
                "SELECT layer, part, sha256, source_crs, features_loaded FROM dataset_load"
                " ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert tuple(entry) == (
        case.layer,
        case.part,
        file_sha256(second),
        case.source_crs,
        report.loaded,
    )


def test_features_appended_again_are_not_skipped(database, tmp_path):
    path, _ = vector_files(tmp_path)
    for _ in range(2):
        load_file(
            database.writer, path, "wifi_hotspots", LoadOptions(mode="append", progress=False)
        )
    assert database.count("wifi_hotspot") == 6
    assert database.count("dataset_load") == 2


def test_a_raster_layer_takes_its_zones_as_a_vector_file_too(database, tmp_path):
    zones = gpd.GeoDataFrame(
        {"SCENARIJ": ["Q100", "Q10"], "PD": [100, 10], "RAZRED": ["velika", "majhna"]},
        geometry=gpd.GeoSeries.from_wkt(
            [
                "POLYGON((566000 142000, 566100 142000, 566100 142100, 566000 142000))",
                "POLYGON((566100 142000, 566200 142000, 566200 142100, 566100 142000))",
            ]
        ),
        crs=3794,
    )
    path = tmp_path / "obmocja.geojson"
    pyogrio.write_dataframe(zones, path)
    report = load_file(database.writer, path, "flood_hazard", LoadOptions(progress=False))
    assert report.loaded == 2 and database.count("flood_zone") == 2
    with pytest.raises(LoadError, match="--scenario applies to flood-depth rasters only"):
        load_file(
            database.writer, path, "flood_hazard", LoadOptions(scenario="Q100", progress=False)
        )


@pytest.fixture
def zones_elsewhere(database, monkeypatch):
    """The flood layer declared with a table and a partition column of other names."""
    with database.writer.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE poplava (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " scenarij text NOT NULL, return_period integer NOT NULL, hazard_class text,"
                " depth_from_m real, depth_to_m real, geom geometry(MultiPolygon, 3794))"
            )
        )
    spec = replace(
        layer("flood_hazard"),
        load_table="poplava",
        read_table="poplava",
        partition_column="scenarij",
    )
    monkeypatch.setitem(LAYERS, "flood_hazard", spec)
    yield database
    with database.writer.begin() as conn:
        conn.execute(text("DROP TABLE poplava"))


def test_a_raster_writes_the_table_and_the_part_its_layer_declares(zones_elsewhere, tmp_path):
    database = zones_elsewhere
    first, _ = raster_files(tmp_path)
    CASES["raster"].load(database, first)
    with database.writer.connect() as conn:
        parts = conn.execute(text("SELECT scenarij, count(*) FROM poplava GROUP BY 1")).all()
    assert parts == [("Q100", 3)]
    assert database.count("flood_zone") == 0
