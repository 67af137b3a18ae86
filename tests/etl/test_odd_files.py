"""Files as people really send them: odd encodings, projections, containers, names, geometries.

Every file here is made by the test; each odd case either loads right or refuses, by name, only
what cannot be loaded.
"""

from __future__ import annotations

import gzip
import shutil
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyogrio.raw
import pytest
from pyproj import Transformer
from shapely.geometry import Point
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import LoadError

QUIET = LoadOptions(progress=False)
MESTNI_TRG = (566890.0, 142614.0)  # EPSG:3794
NAME = "Žnidaričevo nabrežje"
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj")

# the same D48/GK grid as three writers spell it (written here, after what ArcGIS and GDAL write)
ESRI_D48 = (
    'PROJCS["MGI_Slovenia_Grid",GEOGCS["GCS_MGI",DATUM["D_MGI",SPHEROID["Bessel_1841",'
    '6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],'
    'PARAMETER["False_Northing",-5000000.0],PARAMETER["Central_Meridian",15.0],'
    'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
UNNAMED_D48 = (
    'PROJCS["unnamed",GEOGCS["unnamed",DATUM["unknown",SPHEROID["Bessel 1841",6377397.155,'
    '299.1528128]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9999],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",-5000000],UNIT["Meter",1]]'
)
LOCAL_GRID = (
    'LOCAL_CS["Gradbisce Ptuj",LOCAL_DATUM["Lokalna mreza",0],UNIT["metre",1],'
    'AXIS["X",EAST],AXIS["Y",NORTH]]'
)


def hotspots(names: list[str], at: tuple[float, float] = MESTNI_TRG, crs=3794) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"LOKACIJA": names, "STANJE": ["aktivna"] * len(names)},
        geometry=[Point(at)] * len(names),
        crs=crs,
    )


def shapefile(folder: Path, frame: gpd.GeoDataFrame, encoding: str = "cp1250") -> Path:
    """A shapefile of ``frame`` with its text in ``encoding``, and no .cpg (tests add their own)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tocke.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def zipped(archive: Path, members: dict[str, Path]) -> Path:
    with zipfile.ZipFile(archive, "w") as zipped_file:
        for name, source in members.items():
            zipped_file.write(source, name)
    return archive


def shapefile_members(shp: Path, folder: str) -> dict[str, Path]:
    return {f"{folder}{shp.stem}{s}": shp.with_suffix(s) for s in SHAPEFILE_PARTS}


def loaded(database, column: str = "location_name", table: str = "wifi_hotspot") -> list:
    with database.writer.connect() as conn:
        return conn.execute(
            text(f"SELECT {column}, ST_X(geom), ST_Y(geom) FROM {table} ORDER BY 1")  # noqa: S608
        ).all()


# --- encodings -------------------------------------------------------------------------------


def with_language_driver(path: Path, driver: int) -> Path:
    dbf = bytearray(path.with_suffix(".dbf").read_bytes())
    dbf[29] = driver
    path.with_suffix(".dbf").write_bytes(bytes(dbf))
    return path


CP852_DRIVER = 0x64  # the DBF language driver of DOS Latin 2, which would garble cp1250 text


@pytest.mark.parametrize("cpg", ["ANSI 1250", "1250", "CP1250", "windows-1250", "Windows 1250"])
def test_every_spelling_of_windows_1250_in_a_cpg_is_understood(database, tmp_path, cpg):
    path = with_language_driver(shapefile(tmp_path, hotspots([NAME])), CP852_DRIVER)
    path.with_suffix(".cpg").write_text(cpg, encoding="ascii")  # the .cpg wins over the driver
    report = load_file(database.writer, path, "wifi_hotspots", QUIET)
    assert loaded(database)[0][0] == NAME and not report.notes


@pytest.mark.parametrize(
    ("cpg", "encoding"),
    [
        ("UTF-8", "utf-8"),
        ("\ufeffUTF-8", "utf-8"),
        ("88592", "iso-8859-2"),
        ("28592", "iso-8859-2"),
    ],
    ids=["utf-8", "utf-8 after a byte-order mark", "88592", "28592"],
)
def test_other_encodings_a_cpg_names_are_read_in_them(database, tmp_path, cpg, encoding):
    path = shapefile(tmp_path, hotspots([NAME]), encoding)
    path.with_suffix(".cpg").write_text(cpg, encoding="utf-8")
    report = load_file(database.writer, path, "wifi_hotspots", QUIET)
    assert loaded(database)[0][0] == NAME and not report.notes


def test_a_shapefile_with_upper_case_suffixes_is_read_and_its_changes_seen(database, tmp_path):
    made = shapefile(tmp_path / "made", hotspots([NAME]))
    (made.with_suffix(".cpg")).write_text("ANSI 1250", encoding="ascii")
    for suffix in (*SHAPEFILE_PARTS, ".cpg"):
        shutil.copy(made.with_suffix(suffix), tmp_path / f"TOCKE{suffix.upper()}")
    path = tmp_path / "TOCKE.SHP"
    assert load_file(database.writer, path, "wifi_hotspots", QUIET).loaded == 1
    assert loaded(database)[0][0] == NAME
    shapefile(tmp_path / "made", hotspots(["Mestni trg", "Vrazov trg"]))
    shutil.copy(made.with_suffix(".dbf"), tmp_path / "TOCKE.DBF")
    shutil.copy(made.with_suffix(".shp"), tmp_path / "TOCKE.SHP")
    shutil.copy(made.with_suffix(".shx"), tmp_path / "TOCKE.SHX")
    assert not load_file(database.writer, path, "wifi_hotspots", QUIET).skipped  # a new file


def test_the_dbf_language_driver_says_the_encoding_when_there_is_no_cpg(database, tmp_path):
    path = shapefile(tmp_path, hotspots([NAME]), "cp852")  # DOS Latin 2: cp1250 would garble it
    with_language_driver(path, CP852_DRIVER)
    load_file(database.writer, path, "wifi_hotspots", QUIET)
    assert loaded(database)[0][0] == NAME


def test_a_cpg_that_is_no_encoding_is_ignored_with_a_warning(database, tmp_path):
    path = shapefile(tmp_path, hotspots([NAME]))
    path.with_suffix(".cpg").write_text("<html><body>404 Not Found</body></html>", "ascii")
    report = load_file(database.writer, path, "wifi_hotspots", QUIET)
    assert loaded(database)[0][0] == NAME
    assert any("tocke.cpg names no encoding" in n and "CP1250" in n for n in report.notes)


def test_text_not_in_the_encoding_the_cpg_names_refuses_its_row_naming_the_column(
    database, tmp_path
):
    path = shapefile(tmp_path, hotspots(["Mestni trg", NAME]))  # cp1250 bytes …
    path.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")  # … said to be UTF-8
    options = LoadOptions(progress=False, rejects_dir=tmp_path / "zavrnjeno")
    report = load_file(database.writer, path, "wifi_hotspots", options)
    assert (report.loaded, report.rejected) == (1, 1)
    assert dict(report.reasons) == {"LOKACIJA": 1}  # reasons are counted by column
    assert "is not UTF-8 text (give --encoding)" in report.rejects_file.read_text("utf-8")
    assert [row[0] for row in loaded(database)] == ["Mestni trg"]


def hotspots_csv(path: Path, encoding: str) -> Path:
    text = f'wkt;LOKACIJA;STANJE\n"POINT ({MESTNI_TRG[0]} {MESTNI_TRG[1]})";{NAME};aktivna\n'
    path.write_bytes(text.encode(encoding))
    return path


def test_a_csv_in_windows_1250_loads_with_encoding_and_refuses_its_rows_without(database, tmp_path):
    path = hotspots_csv(tmp_path / "tocke.csv", "cp1250")
    without = LoadOptions(crs="EPSG:3794", progress=False, rejects_dir=tmp_path / "zavrnjeno")
    with pytest.raises(LoadError, match="no feature could be loaded"):
        load_file(database.writer, path, "wifi_hotspots", without)
    assert (
        "(give --encoding)"
        in (tmp_path / "zavrnjeno" / "tocke.wifi_hotspots.rejects.geojson").read_text()
    )
    options = LoadOptions(crs="EPSG:3794", encoding="cp1250", progress=False)
    load_file(database.writer, path, "wifi_hotspots", options)
    assert loaded(database) == [(NAME, *MESTNI_TRG)]


def test_encoding_is_refused_for_formats_that_hold_utf_8(database, tmp_path):
    path = tmp_path / "tocke.geojson"
    hotspots([NAME]).to_file(path, driver="GeoJSON")
    options = LoadOptions(encoding="cp1250", progress=False)
    with pytest.raises(LoadError, match=r"--encoding applies to shapefiles and CSV"):
        load_file(database.writer, path, "wifi_hotspots", options)


# --- projections -----------------------------------------------------------------------------


def d48(point: tuple[float, float]) -> tuple[float, float]:
    return Transformer.from_crs(3794, 3912, always_xy=True).transform(*point)


@pytest.mark.parametrize("prj", [ESRI_D48, UNNAMED_D48], ids=["esri", "unnamed"])
def test_the_d48_grid_under_other_names_lands_where_epsg_3912_puts_it(database, tmp_path, prj):
    path = shapefile(tmp_path / "crs", hotspots(["Grad"], at=d48(MESTNI_TRG), crs=3912))
    load_file(database.writer, path, "wifi_hotspots", LoadOptions(crs="EPSG:3912", progress=False))
    ((_, x_known, y_known),) = loaded(database)
    path.with_suffix(".prj").write_text(prj, encoding="ascii")
    load_file(database.writer, path, "wifi_hotspots", LoadOptions(force=True, progress=False))
    ((_, x, y),) = loaded(database)
    assert (x, y) == pytest.approx((x_known, y_known), abs=0.01)
    assert (x, y) == pytest.approx(MESTNI_TRG, abs=5)  # and that is Mestni trg


def test_a_local_grid_that_cannot_be_transformed_is_refused_by_name(database, tmp_path):
    path = shapefile(tmp_path, hotspots(["Grad"], at=(120.0, 80.0)))
    path.with_suffix(".prj").write_text(LOCAL_GRID, encoding="ascii")
    with pytest.raises(
        LoadError, match=r"tocke\.shp.*'Gradbisce Ptuj' cannot be transformed.*--crs"
    ):
        load_file(database.writer, path, "wifi_hotspots", QUIET)
    assert database.count("wifi_hotspot") == 0


# --- containers and names --------------------------------------------------------------------


def test_a_shapefile_in_a_sub_folder_of_a_zip_is_found(database, tmp_path):
    shp = shapefile(tmp_path / "izvoz", hotspots([NAME]))
    members = shapefile_members(shp, "izvoz/2026/")
    members["__MACOSX/izvoz/2026/._tocke.shp"] = shp.with_suffix(".prj")  # macOS's clutter
    members["izvoz/PREBERI.txt"] = shp.with_suffix(".prj")
    archive = zipped(tmp_path / "tocke.shp.zip", members)
    assert load_file(database.writer, archive, "wifi_hotspots", QUIET).loaded == 1
    assert loaded(database)[0][0] == NAME  # the zip has no .cpg: cp1250


def test_a_zip_of_several_shapefiles_lists_them_and_loads_the_one_chosen(database, tmp_path):
    north = shapefile(tmp_path / "sever", hotspots(["Sever"]))
    south = shapefile(tmp_path / "jug", hotspots(["Jug", "Jug 2"]))
    archive = zipped(
        tmp_path / "tocke.zip",
        {**shapefile_members(north, "sever/"), **shapefile_members(south, "jug/")},
    )
    with pytest.raises(LoadError, match=r"holds 2 data files: .*sever/tocke\.shp.*--source-layer"):
        load_file(database.writer, archive, "wifi_hotspots", QUIET)
    options = LoadOptions(source_layer="jug/tocke.shp", progress=False)
    assert load_file(database.writer, archive, "wifi_hotspots", options).loaded == 2
    with pytest.raises(LoadError, match=r"has no file 'zahod'"):
        load_file(
            database.writer,
            archive,
            "wifi_hotspots",
            LoadOptions(source_layer="zahod", progress=False, force=True),
        )


def test_a_layer_of_a_geopackage_in_a_zip_of_several_files_is_chosen_as_file_and_layer(
    database, tmp_path
):
    shp = shapefile(tmp_path / "shp", hotspots(["Sever"]))
    gpkg = tmp_path / "dva.gpkg"
    pyogrio.write_dataframe(hotspots(["Jug"]), gpkg, layer="jug")
    pyogrio.write_dataframe(hotspots(["Zahod"]), gpkg, layer="zahod", append=True)
    archive = zipped(tmp_path / "vse.zip", {**shapefile_members(shp, "a/"), "dva.gpkg": gpkg})
    members = {**shapefile_members(shp, "b/"), **shapefile_members(shp, "a/")}
    twins = zipped(tmp_path / "dvojcka.zip", members)

    def load_choosing(archive: Path, source_layer: str) -> None:
        options = LoadOptions(source_layer=source_layer, progress=False, force=True)
        load_file(database.writer, archive, "wifi_hotspots", options)

    with pytest.raises(LoadError, match=r"2 layers: jug, zahod.*--source-layer dva\.gpkg:LAYER"):
        load_choosing(archive, "dva.gpkg")
    load_choosing(archive, "dva.gpkg:zahod")
    assert loaded(database)[0][0] == "Zahod"
    with pytest.raises(LoadError, match=r"'tocke' matches 2 of its files: b/tocke\.shp, a/tocke"):
        load_choosing(twins, "tocke")


def test_a_zip_without_data_says_what_it_holds(database, tmp_path):
    (tmp_path / "opis.pdf").write_bytes(b"%PDF-1.4")
    archive = zipped(tmp_path / "podatki.zip", {"opis.pdf": tmp_path / "opis.pdf"})
    with pytest.raises(
        LoadError, match=r"podatki\.zip.*holds no shapefile.*\(it holds: opis\.pdf\)"
    ):
        load_file(database.writer, archive, "wifi_hotspots", QUIET)


@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_gzipped_csv_and_geojson_load(database, tmp_path, suffix):
    plain = tmp_path / f"tocke{suffix}"
    if suffix == ".csv":
        plain.write_text(
            f'wkt,LOKACIJA,STANJE\n"POINT ({MESTNI_TRG[0]} {MESTNI_TRG[1]})",{NAME},aktivna\n'
        )
    else:
        hotspots([NAME]).to_file(plain, driver="GeoJSON")
    packed = tmp_path / f"tocke{suffix}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    load_file(
        database.writer, packed, "wifi_hotspots", LoadOptions(crs="EPSG:3794", progress=False)
    )
    assert loaded(database) == [(NAME, *MESTNI_TRG)]


@pytest.mark.parametrize("name", ["!tocke.shp", "točke (končna, 2026) #2.shp", "a!b.gpkg"])
def test_a_file_of_any_name_loads(database, tmp_path, name):
    target = tmp_path / name
    if target.suffix == ".shp":
        made = shapefile(tmp_path / "made", hotspots([NAME]))
        for suffix in SHAPEFILE_PARTS:
            shutil.copy(made.with_suffix(suffix), target.with_suffix(suffix))
    else:
        pyogrio.write_dataframe(hotspots([NAME]), tmp_path / "made.gpkg")
        shutil.copy(tmp_path / "made.gpkg", target)
    assert load_file(database.writer, target, "wifi_hotspots", QUIET).loaded == 1
    assert loaded(database)[0][0] == NAME


# --- geometries ------------------------------------------------------------------------------


def degraded_land_csv(path: Path, shapes: list[str]) -> Path:
    rows = [f'"{wkt}",Jama {i},gramoznica,neaktivno' for i, wkt in enumerate(shapes)]
    path.write_text("wkt,IME,VRSTA,STANJE\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def areas(database) -> dict[str, float]:
    with database.writer.connect() as conn:
        return dict(conn.execute(text("SELECT name, ST_Area(geom) FROM degraded_land")).all())


CIRCLE = "CIRCULARSTRING (566000 142000, 566100 142000, 566000 142000)"  # 50 m radius


def test_curved_geometries_are_made_of_straight_segments_with_a_note(database, tmp_path):
    path = degraded_land_csv(
        tmp_path / "jame.csv",
        [f"CURVEPOLYGON ({CIRCLE})", f"MULTISURFACE (CURVEPOLYGON ({CIRCLE}))"],
    )
    options = LoadOptions(crs="EPSG:3794", progress=False)
    report = load_file(database.writer, path, "degraded_land", options)
    assert report.loaded == 2
    assert "note: 2 curved geometries were made of straight segments by GDAL" in report.notes
    assert list(areas(database).values()) == pytest.approx([np.pi * 50**2] * 2, rel=0.01)


def curve_polygon_wkb(centre: tuple[float, float], radius: float) -> bytes:
    """ISO WKB of a circle: a curve polygon of one circular string (shapely writes no curves)."""
    x, y = centre
    ring = struct.pack("<BII6d", 1, 8, 3, x - radius, y, x + radius, y, x - radius, y)
    return struct.pack("<BII", 1, 10, 1) + ring


def test_a_geopackage_of_curve_polygons_and_multi_surfaces_loads(database, tmp_path):
    circle = curve_polygon_wkb((566000, 142000), 50)
    multi_surface = struct.pack("<BII", 1, 12, 1) + curve_polygon_wkb((566500, 142000), 50)
    path = tmp_path / "jame.gpkg"
    pyogrio.raw.write(
        path,
        geometry=np.array([circle, multi_surface], dtype=object),
        field_data=[
            np.array(["Krog", "Dva"]),
            np.array(["gramoznica"] * 2),
            np.array(["neaktivno"] * 2),
        ],
        fields=["IME", "VRSTA", "STANJE"],
        geometry_type="Unknown",  # GDAL writes no curve type, but a GeoPackage holds curves
        crs="EPSG:3794",
        driver="GPKG",
    )
    report = load_file(database.writer, path, "degraded_land", QUIET)
    assert "note: 2 curved geometries were made of straight segments by GDAL" in report.notes
    assert areas(database) == pytest.approx({"Krog": np.pi * 50**2, "Dva": np.pi * 50**2}, rel=0.01)


def test_parquet_curves_are_straightened_and_its_broken_rings_refuse_their_rows(database, tmp_path):
    circle = curve_polygon_wkb((566000, 142000), 50)
    square = "566000 142000, 566010 142000, 566010 142010, 566000 142010"
    table = pa.table(
        {
            "IME": ["Krog", "Odprt", "Kvadrat"],
            "VRSTA": ["gramoznica"] * 3,
            "STANJE": ["neaktivno"] * 3,
            "wkt": [None, f"POLYGON (({square}))", f"POLYGON (({square}, 566000 142000))"],
        }
    )
    pq.write_table(table, tmp_path / "jame.parquet")
    options = LoadOptions(crs="EPSG:3794", progress=False)
    report = load_file(database.writer, tmp_path / "jame.parquet", "degraded_land", options)
    assert (report.loaded, report.rejected) == (1, 2)
    assert report.reasons["geometry has a ring that is not closed"] == 1
    pq.write_table(
        table.drop(["wkt"]).append_column("geometry", pa.array([circle] * 3, pa.binary())),
        tmp_path / "krogi.parquet",
    )
    report = load_file(database.writer, tmp_path / "krogi.parquet", "degraded_land", options)
    assert report.loaded == 3
    assert "note: 3 curved geometries were made of straight segments by GDAL" in report.notes
    assert areas(database)["Krog"] == pytest.approx(np.pi * 50**2, rel=0.01)


def test_surfaces_and_broken_rings_refuse_their_rows_by_name(database, tmp_path):
    square = "566000 142000, 566010 142000, 566010 142010, 566000 142010"
    path = degraded_land_csv(
        tmp_path / "jame.csv",
        [
            f"POLYGON (({square}, 566000 142000))",
            f"POLYGON (({square}))",  # not closed
            "POLYGON ((566000 142000, 566010 142000, 566000 142000))",  # three points
            f"TIN ((({square[:-15]}, 566000 142000)))",
            f"POLYHEDRALSURFACE Z ((({square.replace(',', ' 0,')} 0, 566000 142000 0)))",
        ],
    )
    options = LoadOptions(crs="EPSG:3794", progress=False, rejects_dir=tmp_path / "zavrnjeno")
    report = load_file(database.writer, path, "degraded_land", options)
    assert (report.loaded, report.rejected) == (1, 4)
    assert dict(report.reasons) == {
        "geometry has a ring that is not closed": 1,
        "geometry is degenerate (too few points in geometry component), and no MultiPolygon"
        " is left when it is repaired": 1,
        "geometry is a TIN, a 3-D surface no layer holds": 1,
        "geometry is a polyhedral surface, a 3-D surface no layer holds": 1,
    }
    assert list(areas(database)) == ["Jama 0"]
    assert "Jama 3" in report.rejects_file.read_text(encoding="utf-8")


def test_a_dry_run_writes_nothing_not_even_its_rejects(database, tmp_path):
    path = degraded_land_csv(
        tmp_path / "jame.csv",
        [
            "POLYGON ((566000 142000, 566010 142000, 566010 142010, 566000 142000))",
            "POLYGON ((566000 142000, 566010 142000, 566000 142000))",
        ],
    )
    rejects = tmp_path / "zavrnjeno"
    options = LoadOptions(crs="EPSG:3794", dry_run=True, progress=False, rejects_dir=rejects)
    report = load_file(database.writer, path, "degraded_land", options)
    assert (report.loaded, report.rejected, report.rejects_file) == (1, 1, None)
    assert not rejects.exists()
    assert database.count("degraded_land") == 0 and database.count("dataset_load") == 0
