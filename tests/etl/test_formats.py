"""Every format a municipality receives loads, or is refused with a message that names the fix."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import LoadError

QUIET = LoadOptions(progress=False)
MESTNI_TRG = (566890.0, 142614.0)  # EPSG:3794
MESTNI_TRG_LONLAT = (15.870201, 46.419900)


def hotspot_names_and_points(database) -> list[tuple]:
    with database.writer.connect() as conn:
        return conn.execute(
            text("SELECT location_name, ST_X(geom), ST_Y(geom) FROM wifi_hotspot ORDER BY 1")
        ).all()


def test_a_zipped_shapefile_without_cpg_is_read_as_cp1250(database, tmp_path):
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["Žnidaričevo nabrežje"], "STANJE": ["aktivna"]},
        geometry=[Point(MESTNI_TRG)],
        crs=3794,
    )
    pyogrio.write_dataframe(frame, tmp_path / "tocke.shp", encoding="cp1250")
    archive = tmp_path / "tocke.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            zipped.write(tmp_path / f"tocke{suffix}", f"tocke{suffix}")
    assert load_file(database.writer, archive, "wifi_hotspots", QUIET).loaded == 1
    assert hotspot_names_and_points(database)[0][0] == "Žnidaričevo nabrežje"


def test_a_csv_with_wkt_needs_and_takes_a_crs(database, tmp_path):
    path = tmp_path / "tocke.csv"
    path.write_text(
        'wkt,LOKACIJA,STANJE\n"POINT (566890 142614)",Mestni trg,aktivna\n', encoding="utf-8"
    )
    with pytest.raises(LoadError, match=r"tocke\.csv.*no coordinate system.*--crs"):
        load_file(database.writer, path, "wifi_hotspots", QUIET)
    load_file(database.writer, path, "wifi_hotspots", LoadOptions(crs="EPSG:3794", progress=False))
    assert hotspot_names_and_points(database) == [("Mestni trg", *MESTNI_TRG)]


def test_a_csv_with_lon_lat_columns_is_taken_as_wgs84(database, tmp_path):
    path = tmp_path / "tocke.csv"
    path.write_text(
        f"lon,lat,LOKACIJA,STANJE\n{MESTNI_TRG_LONLAT[0]},{MESTNI_TRG_LONLAT[1]},Mestni trg,aktivna\n"
        "abc,46.42,Pokvarjena vrstica,aktivna\n",
        encoding="utf-8",
    )
    report = load_file(database.writer, path, "wifi_hotspots", QUIET)
    assert (report.loaded, report.rejected) == (1, 1)  # the broken row, not the file
    assert report.reasons == {"geometry null, empty or not Point": 1}
    ((_, x, y),) = hotspot_names_and_points(database)
    assert x == pytest.approx(MESTNI_TRG[0], abs=1) and y == pytest.approx(MESTNI_TRG[1], abs=1)


def test_geoparquet_carries_its_crs_and_plain_parquet_needs_one(database, tmp_path):
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["Vrazov trg"], "STANJE": ["aktivna"]},
        geometry=[Point(MESTNI_TRG_LONLAT)],
        crs=4326,
    )
    frame.to_parquet(tmp_path / "tocke.parquet")
    assert (
        load_file(database.writer, tmp_path / "tocke.parquet", "wifi_hotspots", QUIET).loaded == 1
    )
    plain = frame.assign(wkt=frame.geometry.to_wkt()).drop(columns="geometry")
    plain.to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(LoadError, match="no coordinate system"):
        load_file(database.writer, tmp_path / "plain.parquet", "wifi_hotspots", QUIET)
    with pytest.raises(LoadError, match="--where and --source-layer do not apply to Parquet"):
        load_file(
            database.writer,
            tmp_path / "tocke.parquet",
            "wifi_hotspots",
            LoadOptions(where="STANJE = 'aktivna'", progress=False, force=True),
        )
    options = LoadOptions(crs="EPSG:4326", progress=False, force=True)
    assert (
        load_file(database.writer, tmp_path / "plain.parquet", "wifi_hotspots", options).loaded == 1
    )


def test_a_dry_run_reports_and_changes_nothing(database, tmp_path):
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["A", None], "STANJE": ["aktivna", "aktivna"]},
        geometry=[Point(MESTNI_TRG)] * 2,
        crs=3794,
    )
    pyogrio.write_dataframe(frame, tmp_path / "tocke.gpkg")
    report = load_file(
        database.writer,
        tmp_path / "tocke.gpkg",
        "wifi_hotspots",
        LoadOptions(dry_run=True, progress=False),
    )
    assert (report.dry_run, report.loaded, report.rejected) == (True, 1, 1)
    assert database.count("wifi_hotspot") == 0 and database.count("dataset_load") == 0


def test_an_empty_layer_is_refused(database, tmp_path):
    path = tmp_path / "prazno.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(LoadError, match=r"prazno\.geojson, layer wifi_hotspots: has no features"):
        load_file(database.writer, path, "wifi_hotspots", QUIET)


def test_a_truncated_geopackage_is_refused(database, tmp_path):
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": [f"T{i}" for i in range(2000)], "STANJE": ["aktivna"] * 2000},
        geometry=[Point(MESTNI_TRG)] * 2000,
        crs=3794,
    )
    pyogrio.write_dataframe(frame, tmp_path / "cela.gpkg")
    data = (tmp_path / "cela.gpkg").read_bytes()
    (tmp_path / "polovica.gpkg").write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError, match=r"polovica\.gpkg, layer wifi_hotspots: cannot be read"):
        load_file(database.writer, tmp_path / "polovica.gpkg", "wifi_hotspots", QUIET)


def test_mixed_geometry_types_keep_the_right_kind_and_reject_the_rest(database, tmp_path):
    square = Polygon([(566000, 142000), (566010, 142000), (566010, 142010), (566000, 142010)])
    frame = gpd.GeoDataFrame(
        {"NASLOV": ["Trg 1", "Trg 2"], "NAMEMBNOST": ["javna", "javna"]},
        geometry=[square, Point(566005, 142005)],
        crs=3794,
    )
    frame.to_file(tmp_path / "mesano.geojson", driver="GeoJSON")
    report = load_file(
        database.writer,
        tmp_path / "mesano.geojson",
        "buildings",
        LoadOptions(progress=False, rejects_dir=tmp_path),
    )
    assert (report.loaded, report.rejected) == (1, 1)
    assert "Trg 2" in report.rejects_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("3d.gpkg", Point(*MESTNI_TRG, 250.0)),
        ("measured.parquet", shapely.from_wkt(f"POINT M ({MESTNI_TRG[0]} {MESTNI_TRG[1]} 3)")),
    ],
)
def test_a_file_with_z_or_m_loads_flat_with_a_note(database, tmp_path, name, shape):
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": ["Grad"], "STANJE": ["aktivna"]}, geometry=[shape], crs=3794
    )
    if name.endswith(".parquet"):
        frame.to_parquet(tmp_path / name)  # GDAL's writers take no M; GeoParquet's WKB does
    else:
        pyogrio.write_dataframe(frame, tmp_path / name)
    report = load_file(database.writer, tmp_path / name, "wifi_hotspots", QUIET)
    assert (report.loaded, report.flattened) == (1, 1)
    with database.writer.connect() as conn:
        assert conn.scalar(text("SELECT ST_NDims(geom) FROM wifi_hotspot")) == 2
