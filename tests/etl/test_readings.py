"""Sensor readings: appended by COPY, bad rows counted and kept with their reasons, never half-loaded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import LoadError
from tests.etl.killing import kill_load_during

# Three sensors in Ptuj's old town (EPSG:3794): two PM10 stations and a parking space.
SENSORS = {"ZRAK-A": ("pm10", 566900), "ZRAK-B": ("pm10", 567400), "PARK-A": ("parking", 566950)}


@pytest.fixture
def sensors(database, tmp_path) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "ID": list(SENSORS),
            "VRSTA": [k for k, _ in SENSORS.values()],
            "ENOTA": ["µg/m³", "µg/m³", "%"],
            "NAMESCEN": ["2025-03-01"] * 3,
            "STANJE": ["deluje"] * 3,
        },
        geometry=gpd.points_from_xy([x for _, x in SENSORS.values()], [142600] * 3),
        crs=3794,
    ).to_crs(4326)
    path = tmp_path / "senzorji.geojson"
    frame.to_file(path)
    load_file(database.writer, path, "sensors", LoadOptions(progress=False))
    return database


def options(tmp_path: Path, **more) -> LoadOptions:
    return LoadOptions(progress=False, rejects_dir=tmp_path / "rejects", **more)


def stored(database) -> pd.DataFrame:
    with database.writer.connect() as conn:
        return pd.read_sql(
            text(
                "SELECT sensor, observed_at, value FROM sensor_reading_located ORDER BY observed_at, sensor"
            ),
            conn,
        )


GOOD_AND_BAD = """sensor;observed_at;value
ZRAK-A;2026-11-20T10:00:00+01:00;21,5
ZRAK-B;2026-11-20T09:00:00Z;30
PARK-A;2026-11-20 10:00;100
ZRAK-X;2026-11-20T10:00:00+01:00;20
ZRAK-A;včeraj;20
ZRAK-B;2026-11-20T11:00:00+01:00;n/a
ZRAK-A;2099-01-01T00:00:00Z;20
PARK-A;2026-11-20T11:00:00+01:00;130
ZRAK-A;2026-11-20T10:00:00+01:00;22
ZRAK-A;2026-03-29 02:30;20
ZRAK-A;2026-11-20T12:00:00+01:00;23;odveč
"""


def test_good_rows_load_and_each_bad_one_is_kept_with_its_reason(sensors, tmp_path):
    path = tmp_path / "meritve.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    report = load_file(sensors.writer, path, "sensor_readings", options(tmp_path))

    assert (report.loaded, report.rejected) == (3, 8)
    rows = stored(sensors)
    assert rows["sensor"].tolist() == ["PARK-A", "ZRAK-A", "ZRAK-B"]
    # an offset is kept; a time without one is Slovenian local time (CET in November)
    assert rows["observed_at"].dt.tz_convert("UTC").dt.strftime("%H:%M").tolist() == ["09:00"] * 3
    assert rows["value"].tolist() == [100.0, 21.5, 30.0]

    rejects = pd.read_csv(report.rejects_file)
    by_line = dict(zip(rejects["row"], rejects["reject_reason"], strict=True))
    assert by_line == {
        5: "unknown sensor",
        6: "bad timestamp",
        7: "not a number",
        8: "in the future",
        9: "outside what the sensor's kind can measure",
        10: "duplicate: the file has this sensor and time already",
        11: "bad timestamp",  # 02:30 on the night clocks go forward does not exist
        12: "broken row: not the header's fields",
    }
    summary = json.loads(
        report.rejects_file.with_name("meritve.sensor_readings.summary.json").read_text()
    )
    assert summary["loaded"] == 3 and summary["rejected"] == 8
    with sensors.writer.connect() as conn:
        load = conn.execute(
            text(
                "SELECT id, features_loaded, features_rejected FROM dataset_load WHERE layer = 'sensor_readings'"
            )
        ).one()
        assert (load.features_loaded, load.features_rejected) == (3, 8)
        assert conn.scalar(text("SELECT DISTINCT load_id FROM sensor_reading")) == load.id


def parquet_file(path: Path, start: str, hours: int, sensor: str = "ZRAK-A") -> Path:
    times = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    pd.DataFrame(
        {"SENZOR": sensor, "CAS": times, "VREDNOST": np.arange(hours, dtype="float32")}
    ).to_parquet(path)
    return path


def test_a_later_file_appends_and_readings_loaded_before_are_refused(sensors, tmp_path):
    first = parquet_file(tmp_path / "a.parquet", "2026-11-01", 48)
    second = parquet_file(tmp_path / "b.parquet", "2026-11-02", 48)  # its first day is loaded
    assert load_file(sensors.writer, first, "sensor_readings", options(tmp_path)).loaded == 48
    report = load_file(sensors.writer, second, "sensor_readings", options(tmp_path))

    assert (report.loaded, report.rejected) == (24, 24)
    assert report.reasons == {"duplicate: already loaded": 24}
    assert sensors.count("sensor_reading") == 72
    again = load_file(sensors.writer, second, "sensor_readings", options(tmp_path))
    assert again.skipped and sensors.count("sensor_reading") == 72


def test_the_air_stations_hourly_means_are_kept_a_late_reading_counted_in_its_hour(
    sensors, tmp_path
):
    """What the public gets of the readings (the OGC API's air quality): each air station's
    hourly means, with a later file's reading of an hour already meant counted in it; nothing
    of the parking space."""
    first, late = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(
        "sensor;observed_at;value\nZRAK-A;2026-11-20T10:05:00Z;10\nZRAK-A;2026-11-20T10:35:00Z;20\n"
        "ZRAK-A;2026-11-20T11:05:00Z;7\nZRAK-B;2026-11-20T11:15:00Z;4\nPARK-A;2026-11-20T10:05:00Z;50\n",
        encoding="utf-8",
    )
    late.write_text("sensor;observed_at;value\nZRAK-A;2026-11-20T10:50:00Z;60\n", encoding="utf-8")
    for path in (first, late):
        assert load_file(sensors.writer, path, "sensor_readings", options(tmp_path)).rejected == 0
    with sensors.reader.connect() as conn:
        means = conn.execute(
            text(
                "SELECT station, kind, extract(hour FROM hour_start AT TIME ZONE 'UTC'), mean,"
                " readings FROM open_air_quality_hourly ORDER BY hour_start, station"
            )
        ).all()
    assert [tuple(m) for m in means] == [
        ("ZRAK-A", "pm10", 10, 30.0, 3),
        ("ZRAK-A", "pm10", 11, 7.0, 1),
        ("ZRAK-B", "pm10", 11, 4.0, 1),
    ]


def test_a_file_with_nothing_loadable_changes_nothing(sensors, tmp_path):
    parquet_file(tmp_path / "a.parquet", "2026-11-01", 10)
    load_file(sensors.writer, tmp_path / "a.parquet", "sensor_readings", options(tmp_path))
    bad = tmp_path / "bad.csv"
    bad.write_text("sensor,observed_at,value\nNI-TAKEGA,2026-11-05T10:00Z,1\n", encoding="utf-8")
    with pytest.raises(
        LoadError, match=r"bad\.csv, layer sensor_readings: no feature could be loaded"
    ):
        load_file(sensors.writer, bad, "sensor_readings", options(tmp_path))
    assert sensors.count("sensor_reading") == 10
    assert sensors.count("dataset_load") == 2  # the sensors and the first readings


def test_a_dry_run_checks_everything_and_keeps_nothing(sensors, tmp_path):
    path = tmp_path / "meritve.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    report = load_file(sensors.writer, path, "sensor_readings", options(tmp_path, dry_run=True))
    assert (report.loaded, report.rejected) == (3, 8)
    assert sensors.count("sensor_reading") == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sensor,value\nZRAK-A,1\n", "required fields missing: observed_at"),
        (None, "is not a CSV or Parquet file of readings"),
    ],
)
def test_files_that_are_no_readings_are_refused_by_name(sensors, tmp_path, content, message):
    path = tmp_path / ("meritve.csv" if content else "meritve.xlsx")
    path.write_text(content or "not a table", encoding="utf-8")
    with pytest.raises(LoadError, match=message) as refused:
        load_file(sensors.writer, path, "sensor_readings", options(tmp_path))
    assert path.name in str(refused.value) and "sensor_readings" in str(refused.value)


def test_a_readings_load_killed_mid_way_leaves_nothing(sensors, tmp_path):
    parquet_file(tmp_path / "a.parquet", "2026-11-01", 10)
    load_file(sensors.writer, tmp_path / "a.parquet", "sensor_readings", options(tmp_path))
    big = tmp_path / "big.csv"
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    minutes = pd.date_range(start, periods=3_000_000, freq="min").strftime("%Y-%m-%dT%H:%MZ")
    pd.DataFrame({"sensor": "ZRAK-B", "observed_at": minutes, "value": 5.0}).to_csv(
        big, index=False
    )
    kill_load_during(sensors, big, "sensor_readings", "COPY etl_readings")
    assert sensors.count("sensor_reading") == 10
    assert sensors.count("dataset_load") == 2
