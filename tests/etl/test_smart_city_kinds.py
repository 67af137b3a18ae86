"""The sensor kinds of Maribor's strategy: each refuses what no working sensor of it reports."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from etl.load import LoadOptions, load_file
from layers.sensor_kinds import sensor_kinds

OUTSIDE = "outside what the sensor's kind can measure"
# kind: (a reading a working sensor sends, readings none can); the first two from the issue
READINGS = {
    "co2_indoor": (820, [-5, 12_000]),
    "light_level": (50, [140, -1]),
    "light_power": (62, [-3, 1500]),
    "humidity_indoor": (48, [101, -2]),
    "temperature_indoor": (21.5, [-40, 85]),
    "sewer_level": (40, [-1, 650]),
    "sewer_overflow": (120, [-0.5, 9000]),
    "parking_free": (57, [-1, 5000]),
    "turbidity": (0.2, [-0.1]),
    "water_meter": (15, [-2]),
    "gas_meter": (0.4, [-0.1, 400]),
}


def test_every_measure_of_the_strategy_is_a_kind():
    measures = {
        "parking",  # smart parking, with
        "parking_free",  # the boards at each car park
        "chlorine",  # real-time water quality
        "turbidity",
        "sewer_level",  # sewer overflows
        "sewer_overflow",
        "waste_fill",  # underground containers
        "co2_indoor",  # indoor air in public buildings
        "temperature_indoor",
        "humidity_indoor",
        "energy",  # smart meters
        "water_meter",
        "gas_meter",
        "light_level",  # adaptive street lighting
        "light_power",
    }
    assert measures <= set(sensor_kinds())


@pytest.fixture
def city_sensors(database, tmp_path):
    """One working sensor of each new kind."""
    gpd.GeoDataFrame(
        {
            "ID": [f"T-{kind}" for kind in READINGS],
            "VRSTA": list(READINGS),
            "ENOTA": [sensor_kinds()[kind].unit for kind in READINGS],
            "STANJE": "deluje",
        },
        geometry=gpd.points_from_xy([549400 + 5.0 * i for i in range(len(READINGS))], 158300),
        crs=3794,
    ).to_file(tmp_path / "senzorji.gpkg")
    load_file(database.writer, tmp_path / "senzorji.gpkg", "sensors", LoadOptions(progress=False))
    return database


def test_each_kind_stores_what_it_can_measure_and_refuses_the_rest(city_sensors, tmp_path):
    rows, refused = [], {}
    for kind, (good, bad) in READINGS.items():
        rows.append((f"T-{kind}", "2026-11-20T10:00:00Z", good))
        for minute, value in enumerate(bad, 1):
            refused[len(rows) + 2] = (kind, value)  # the file's line: the header is line 1
            rows.append((f"T-{kind}", f"2026-11-20T10:{minute:02d}:00Z", value))
    path = tmp_path / "meritve.csv"
    pd.DataFrame(rows, columns=["sensor", "observed_at", "value"]).to_csv(path, index=False)
    report = load_file(
        city_sensors.writer,
        path,
        "sensor_readings",
        LoadOptions(progress=False, rejects_dir=tmp_path / "rejects"),
    )

    assert (report.loaded, report.rejected) == (len(READINGS), len(refused))
    rejects = pd.read_csv(report.rejects_file)
    assert dict(zip(rejects["row"], rejects["reject_reason"], strict=True)) == dict.fromkeys(
        refused, OUTSIDE
    )
    stored = city_sensors.count("sensor_reading")
    assert stored == len(READINGS)
