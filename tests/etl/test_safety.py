"""Nothing lost: a load killed mid-way changes nothing, and readers never see half a layer."""

from __future__ import annotations

import threading
import time

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import LoadError
from tests.etl.killing import kill_load_during

OLD_ROWS = 3
NEW_ROWS = 200_000


@pytest.fixture
def loaded_and_big_file(database, tmp_path):
    """Three hotspots loaded, and a file that replaces them with many more."""
    old = gpd.GeoDataFrame(
        {"LOKACIJA": ["A", "B", "C"], "STANJE": ["aktivna"] * 3},
        geometry=gpd.points_from_xy([566000, 566100, 566200], [142000] * 3),
        crs=3794,
    )
    pyogrio.write_dataframe(old, tmp_path / "old.gpkg")
    load_file(database.writer, tmp_path / "old.gpkg", "wifi_hotspots", LoadOptions(progress=False))
    x = 560_000 + np.arange(NEW_ROWS) % 1000 * 10.0
    y = 140_000 + np.arange(NEW_ROWS) // 1000 * 10.0
    new = gpd.GeoDataFrame(
        {"LOKACIJA": [f"T{i}" for i in range(NEW_ROWS)], "STANJE": ["aktivna"] * NEW_ROWS},
        geometry=gpd.points_from_xy(x, y),
        crs=3794,
    )
    pyogrio.write_dataframe(new, tmp_path / "big.gpkg", use_arrow=True)
    return tmp_path / "big.gpkg"


def layer_indexes(database, table: str) -> list[str]:
    with database.writer.connect() as conn:
        return sorted(
            conn.scalars(
                text(
                    "SELECT indexname FROM pg_indexes"
                    " WHERE schemaname = current_schema() AND tablename = :table"
                ),
                {"table": table},
            )
        )


@pytest.mark.parametrize(
    "statement",
    # while staging; and once the layer was emptied, its indexes dropped and rows moved into it
    ["COPY etl_stage", "INSERT INTO wifi_hotspot"],
)
def test_a_load_killed_mid_way_leaves_the_old_rows_and_indexes(
    database, loaded_and_big_file, statement
):
    kill_load_during(database, loaded_and_big_file, "wifi_hotspots", statement)

    assert database.count("wifi_hotspot") == OLD_ROWS
    assert layer_indexes(database, "wifi_hotspot") == ["wifi_hotspot_geom_idx", "wifi_hotspot_pkey"]
    assert database.count("dataset_load") == 1
    with database.writer.connect() as conn:
        assert sorted(conn.scalars(text("SELECT location_name FROM wifi_hotspot"))) == [
            "A",
            "B",
            "C",
        ]


def test_a_reader_during_a_load_sees_the_old_layer_or_the_new(database, loaded_and_big_file):
    seen: set[int] = set()
    done = threading.Event()

    def read_until_done() -> None:
        with database.reader.connect() as conn:
            while not done.is_set():
                seen.add(conn.scalar(text("SELECT count(*) FROM wifi_hotspot")))
                conn.commit()

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        load_file(
            database.writer, loaded_and_big_file, "wifi_hotspots", LoadOptions(progress=False)
        )
        time.sleep(0.2)
    finally:
        done.set()
        reader.join(timeout=30)
    assert seen <= {OLD_ROWS, NEW_ROWS}
    assert OLD_ROWS in seen and NEW_ROWS in seen


def test_a_bulk_load_the_database_refuses_keeps_the_old_rows_and_the_index(
    database, tmp_path, monkeypatch
):
    """The bulk path truncates and drops the indexes; a refusal must undo both."""
    monkeypatch.setattr("etl.stage.BULK_ROWS", 2)
    rows = gpd.GeoDataFrame(
        {"NASLOV": ["Ena 1", "Dva 2", "Tri 3"], "NAMEMBNOST": ["javna"] * 3, "ST_PREB": [1, 2, 3]},
        geometry=[shapely.box(566000 + i * 20, 142000, 566010 + i * 20, 142010) for i in range(3)],
        crs=3794,
    )
    pyogrio.write_dataframe(rows, tmp_path / "good.gpkg")
    load_file(database.writer, tmp_path / "good.gpkg", "buildings", LoadOptions(progress=False))
    rows["ST_PREB"] = [4, -5, 6]  # a negative count: only the database's CHECK refuses it
    pyogrio.write_dataframe(rows, tmp_path / "bad.gpkg")
    with pytest.raises(LoadError, match="database refused"):
        load_file(database.writer, tmp_path / "bad.gpkg", "buildings", LoadOptions(progress=False))
    with database.writer.connect() as conn:
        assert conn.scalar(text("SELECT sum(occupants) FROM building")) == 6
    assert layer_indexes(database, "building") == ["building_geom_idx", "building_pkey"]
