"""A file from outside names its columns its own way: --map, --set and a mapping file say which is which."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from etl.mapping import FieldMap
from layers.errors import LoadError
from tests.etl.test_cli import etl

MESTNI_TRG = (566890.0, 142614.0)  # EPSG:3794


def foreign_hotspots(tmp_path) -> object:
    """Hotspots as another office exports them: its own column names and no status at all."""
    frame = gpd.GeoDataFrame(
        {"NAZIV_TOCKE": ["Mestni trg", "Vrazov trg"], "OPOMBA": ["ob vodnjaku", ""]},
        geometry=[Point(MESTNI_TRG), Point(MESTNI_TRG[0] + 100, MESTNI_TRG[1])],
        crs=3794,
    )
    path = tmp_path / "dostopne_tocke.gpkg"
    pyogrio.write_dataframe(frame, path)
    return path


def options(**fields) -> LoadOptions:
    return LoadOptions(progress=False, fields=FieldMap(**fields))


def test_without_a_mapping_the_error_lists_the_files_columns_and_the_fix(database, tmp_path):
    with pytest.raises(LoadError) as raised:
        load_file(database.writer, foreign_hotspots(tmp_path), "wifi_hotspots", options())
    message = str(raised.value)
    assert "required fields missing: location_name" in message
    assert "NAZIV_TOCKE, OPOMBA" in message and "--map FIELD=COLUMN" in message


def test_mapped_columns_and_a_constant_load(database, tmp_path):
    mapped = options(given={"location_name": "naziv_tocke"}, constants={"status": "aktivna"})
    report = load_file(database.writer, foreign_hotspots(tmp_path), "wifi_hotspots", mapped)
    assert report.loaded == 2
    assert report.mapping == [
        "location_name <- NAZIV_TOCKE (--map)",
        "status = 'aktivna' (--set)",
    ]
    with database.writer.connect() as conn:
        rows = conn.execute(text("SELECT location_name, status FROM wifi_hotspot ORDER BY 1")).all()
    assert rows == [("Mestni trg", "aktivna"), ("Vrazov trg", "aktivna")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"given": {"naziv": "NAZIV_TOCKE"}}, r"naziv: no field of this layer \(its fields: "),
        ({"given": {"location_name": "IME"}}, r"has no column 'IME'.*NAZIV_TOCKE, OPOMBA"),
        (
            {"given": {"status": "OPOMBA"}, "constants": {"status": "aktivna"}},
            r"status: both --map and --set",
        ),
    ],
)
def test_a_wrong_mapping_is_refused_naming_what_is_wrong(database, tmp_path, fields, message):
    with pytest.raises(LoadError, match=message):
        load_file(database.writer, foreign_hotspots(tmp_path), "wifi_hotspots", options(**fields))
    assert database.count("wifi_hotspot") == 0


def test_a_constant_of_the_wrong_type_is_refused(database, tmp_path):
    path = tmp_path / "jame.csv"
    path.write_text(
        'wkt,IME,VRSTA,STANJE\n"POLYGON ((566000 142000, 566010 142000, 566010 142010,'
        ' 566000 142000))",Jama,gramoznica,neaktivno\n',
        encoding="utf-8",
    )
    wrong = LoadOptions(crs="EPSG:3794", progress=False, fields=FieldMap({}, {"area_ha": "veliko"}))
    with pytest.raises(LoadError, match=r"--set area_ha='veliko' is not of type real"):
        load_file(database.writer, path, "degraded_land", wrong)


def test_a_dry_run_on_the_command_line_prints_the_mapping_and_the_first_rows(database, tmp_path):
    mapping = tmp_path / "preslikava.toml"
    mapping.write_text(
        '[map]\nlocation_name = "OPOMBA"\n\n[set]\nstatus = "aktivna"\n', encoding="utf-8"
    )
    path = foreign_hotspots(tmp_path)
    run = etl(
        database,
        "load",
        str(path),
        "--layer",
        "wifi_hotspots",
        "--map-file",
        str(mapping),
        "--map",
        "location_name=NAZIV_TOCKE",  # the command line wins over the file
        "--dry-run",
    )
    assert run.returncode == 0, run.stderr
    assert "location_name <- NAZIV_TOCKE (--map)" in run.stdout
    assert "status = 'aktivna' (--set)" in run.stdout
    preview = run.stdout.split("prve vrstice:")[1]
    assert "Mestni trg" in preview and "POINT (566890 142614)" in preview
    assert database.count("wifi_hotspot") == 0


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (["--map", "location_name"], "--map takes FIELD=VALUE"),
        (["--map-file", "missing.toml"], "the mapping file cannot be read"),
    ],
)
def test_a_malformed_mapping_on_the_command_line_exits_2(database, tmp_path, argument, message):
    run = etl(
        database, "load", str(foreign_hotspots(tmp_path)), "--layer", "wifi_hotspots", *argument
    )
    assert run.returncode == 2 and message in run.stderr


def test_readings_take_their_sensor_from_set_and_their_columns_from_map(sensors, tmp_path):
    path = tmp_path / "zrak.csv"
    path.write_text(
        "cas;PM10\n2026-11-05T10:00:00+01:00;21,5\n2026-11-05T11:00:00+01:00;23\n",
        encoding="utf-8",
    )
    run = etl(
        sensors,
        "load",
        str(path),
        "--layer",
        "sensor_readings",
        "--set",
        "sensor=ZRAK-T1",
        "--map",
        "observed_at=cas",
        "--map",
        "value=PM10",
        "--dry-run",
    )
    assert run.returncode == 0, run.stderr
    assert "observed_at <- cas (--map)" in run.stdout and "sensor = 'ZRAK-T1' (--set)" in run.stdout
    preview = run.stdout.split("prve vrstice:")[1]
    assert "ZRAK-T1" in preview and "2026-11-05T10:00:00+01:00" in preview and "21,5" in preview
    assert sensors.count("sensor_reading") == 0
    fields = FieldMap({"observed_at": "cas", "value": "PM10"}, {"sensor": "ZRAK-T1"})
    report = load_file(
        sensors.writer, path, "sensor_readings", LoadOptions(progress=False, fields=fields)
    )
    assert report.loaded == 2
    with sensors.writer.connect() as conn:
        values = conn.scalars(text("SELECT value FROM sensor_reading ORDER BY observed_at")).all()
    assert values == [21.5, 23.0]
