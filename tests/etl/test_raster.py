"""Flood-depth GeoTIFFs: classed into hazard zones per scenario, any CRS, refused when wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import calculate_default_transform, reproject
from sqlalchemy import make_url, text

from etl.__main__ import main
from etl.load import LoadOptions, load_file
from layers.errors import LoadError

# Four cells of 100 m in Ptuj (EPSG:3794): low, medium / high, dry (nodata).
ORIGIN = (566000.0, 142200.0)
CELL = 100.0
NODATA = -9999.0
DEPTHS = np.array([[0.2, 1.0], [2.0, NODATA]], dtype="float32")


def write_tif(
    path: Path, data: np.ndarray, crs="EPSG:3794", transform=None, nodata=NODATA, **layout
):
    bands = data if data.ndim == 3 else data[np.newaxis]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=bands.shape[1],
        width=bands.shape[2],
        count=bands.shape[0],
        dtype=bands.dtype,
        crs=crs,
        transform=transform or from_origin(*ORIGIN, CELL, CELL),
        nodata=nodata,
        **layout,
    ) as out:
        out.write(bands)
    return path


def four_cells(tmp_path: Path, name: str = "q100.tif") -> Path:
    return write_tif(tmp_path / name, DEPTHS)


def zones(database, scenario: str) -> dict[str, tuple[float, float, float]]:
    """``{class: (area m², centroid x, centroid y)}`` of a scenario."""
    with database.writer.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT hazard_class, sum(ST_Area(geom)), ST_X(ST_Centroid(ST_Union(geom))),"
                " ST_Y(ST_Centroid(ST_Union(geom))) FROM flood_zone WHERE scenario = :s"
                " GROUP BY hazard_class"
            ),
            {"s": scenario},
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def load(database, path: Path, scenario: str | None = "Q100", **options):
    return load_file(
        database.writer,
        path,
        "flood_hazard",
        LoadOptions(scenario=scenario, progress=False, **options),
    )


def test_each_cell_lands_in_its_class_and_nodata_stays_dry(database, tmp_path):
    report = load(database, four_cells(tmp_path), licence="CC BY 4.0", provider="ARSO")
    found = zones(database, "Q100")
    assert set(found) == {"majhna", "srednja", "velika"}
    for name, (x, y) in {
        "majhna": (566050, 142150),
        "srednja": (566150, 142150),
        "velika": (566050, 142050),
    }.items():
        area, cx, cy = found[name]
        assert area == pytest.approx(CELL * CELL)
        assert (cx, cy) == pytest.approx((x, y), abs=0.01)
    assert report.loaded == 3
    with database.writer.connect() as conn:
        entry = conn.execute(
            text("SELECT layer, part, source_crs, licence, features_loaded FROM dataset_load")
        ).one()
    assert tuple(entry) == ("flood_hazard", "Q100", "EPSG:3794", "CC BY 4.0", 3)


def test_the_depth_that_closes_a_road_parts_its_class_into_two_zones(database, tmp_path):
    """0.2 and 0.4 m are both majhna, below and above the roads' 0.3 m: two zones of one class."""
    load(database, write_tif(tmp_path / "q.tif", np.array([[0.2, 0.4], [0.6, NODATA]], "float32")))
    with database.writer.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT hazard_class, depth_from_m, depth_to_m, sum(ST_Area(geom))"
                " FROM flood_zone GROUP BY 1, 2, 3 ORDER BY 2"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("majhna", 0.0, pytest.approx(0.3), CELL * CELL),
        ("majhna", pytest.approx(0.3), 0.5, CELL * CELL),
        ("srednja", 0.5, 1.5, CELL * CELL),
    ]


def test_a_rare_flood_is_residual_hazard_whatever_its_depth(database, tmp_path):
    load(database, four_cells(tmp_path), scenario="Q500")
    assert set(zones(database, "Q500")) == {"preostala"}
    assert zones(database, "Q500")["preostala"][0] == pytest.approx(3 * CELL * CELL)


def test_a_scenario_replaces_only_itself_and_the_same_file_twice_is_skipped(database, tmp_path):
    path = four_cells(tmp_path)
    load(database, path, scenario="Q100")
    wider = write_tif(tmp_path / "q10.tif", np.array([[0.3, 0.3], [0.3, 0.3]], dtype="float32"))
    load(database, wider, scenario="Q10")
    assert zones(database, "Q10")["majhna"][0] == pytest.approx(4 * CELL * CELL)
    assert len(zones(database, "Q100")) == 3  # untouched by the Q10 load
    assert load(database, path, scenario="Q100").skipped
    assert not load(database, path, scenario="Q100", force=True).skipped
    assert database.count("dataset_load") == 3


@pytest.mark.parametrize("crs", ["EPSG:3912", "EPSG:3035", "EPSG:4326", "EPSG:3857"])
def test_a_raster_in_another_crs_lands_in_the_same_place(database, tmp_path, crs):
    """The four cells, warped into ``crs``: each class comes back to its place in EPSG:3794."""
    source = four_cells(tmp_path)
    with rasterio.open(source) as src:
        transform, width, height = calculate_default_transform(
            src.crs, crs, src.width, src.height, *src.bounds, resolution=None
        )
        warped = np.full((height, width), NODATA, dtype="float32")
        reproject(
            rasterio.band(src, 1),
            warped,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=NODATA,
        )
    load(database, write_tif(tmp_path / "warped.tif", warped, crs, transform), scenario="Q100")
    found = zones(database, "Q100")
    assert set(found) == {"majhna", "srednja", "velika"}
    _, x, y = found["velika"]
    assert (x, y) == pytest.approx((566050, 142050), abs=25)  # within a quarter of a cell


def gdal_reads_back(database, scenario: str, out: Path) -> Path:
    """The scenario's depth tiles as one GeoTIFF, by GDAL's own PostGIS raster driver."""
    url = make_url(database.writer_url)
    where = f"scenario=$${scenario}$$"  # dollar-quoted: the option's value is in quotes
    source = (
        f"PG:host={url.host} port={url.port} dbname={url.database} user={url.username}"
        f" password={url.password} schema={database.schema} table=flood_depth column=rast"
        f" where='{where}' mode=2"
    )
    subprocess.run(["gdal_translate", "-q", source, str(out)], check=True, timeout=120)
    return out


def test_the_depths_are_kept_as_tiles_that_gdal_reads_back(database, tmp_path):
    """Each wet cell's depth is kept where it lies, as the file gives it: PostGIS's own
    ``ST_Value`` and Debian's ``gdal_translate`` read back what the GeoTIFF holds; dry tiles
    are not kept, and a dry run keeps none."""
    rng = np.random.default_rng(7)
    depths = rng.uniform(0.05, 3.0, (150, 200)).astype("float32")
    depths[:, :70] = NODATA  # the first column of 64-cell tiles is dry, the second partly
    path = write_tif(tmp_path / "q100.tif", depths, transform=from_origin(*ORIGIN, 10.0, 10.0))
    load(database, path, dry_run=True)
    assert database.count("flood_depth") == 0
    report = load(database, path)
    assert database.count("flood_depth") == 9  # 3 rows of tiles × 3 wet columns of them
    assert "Q100: 9 tiles of water depth" in report.notes
    cells = rng.integers((0, 70), (150, 200), size=(20, 2))
    with database.writer.connect() as conn:
        for row, col in cells:
            x, y = ORIGIN[0] + (col + 0.5) * 10, ORIGIN[1] - (row + 0.5) * 10
            kept = conn.scalar(
                text(
                    "SELECT ST_Value(rast, ST_SetSRID(ST_Point(:x, :y), 3794)) FROM flood_depth"
                    " WHERE scenario = 'Q100' AND ST_Intersects(ST_ConvexHull(rast),"
                    " ST_SetSRID(ST_Point(:x, :y), 3794))"
                ),
                {"x": x, "y": y},
            )
            assert kept == pytest.approx(float(depths[row, col]), abs=1e-6), (row, col)
    with rasterio.open(gdal_reads_back(database, "Q100", tmp_path / "back.tif")) as back:
        assert back.crs == rasterio.crs.CRS.from_epsg(3794)
        assert tuple(back.bounds) == pytest.approx(
            (ORIGIN[0] + 640, ORIGIN[1] - 1500, ORIGIN[0] + 2000, ORIGIN[1])
        )
        wet = np.where(depths[:, 64:] > 0, depths[:, 64:], 0)
        assert np.array_equal(back.read(1), wet)


def test_a_dry_run_checks_and_changes_nothing(database, tmp_path):
    report = load(database, four_cells(tmp_path), dry_run=True)
    assert report.loaded == 3 and report.dry_run
    assert database.count("flood_zone") == 0
    assert database.count("dataset_load") == 0


def refused(database, tmp_path, path: Path, message: str, scenario: str | None = "Q100"):
    """Load ``path`` over a good Q100, expect the refusal, and find the good Q100 intact."""
    load(database, four_cells(tmp_path, "good.tif"))
    before = zones(database, "Q100")
    with pytest.raises(LoadError) as caught:
        load(database, path, scenario=scenario)
    assert message in str(caught.value)
    assert path.name in str(caught.value) and "flood_hazard" in str(caught.value)
    assert "[sl]" in str(caught.value)
    assert zones(database, "Q100") == before
    assert database.count("dataset_load") == 1


def test_a_raster_without_a_crs_is_refused(database, tmp_path):
    refused(database, tmp_path, write_tif(tmp_path / "nocrs.tif", DEPTHS, crs=None), "--crs")


def test_a_crs_can_be_supplied_for_a_raster_without_one(database, tmp_path):
    path = write_tif(tmp_path / "nocrs.tif", DEPTHS, crs=None)
    load(database, path, crs="EPSG:3794")
    assert len(zones(database, "Q100")) == 3


def test_an_image_is_refused(database, tmp_path):
    rgb = np.full((3, 2, 2), 200, dtype="uint8")
    refused(database, tmp_path, write_tif(tmp_path / "photo.tif", rgb, nodata=None), "3 bands")


def test_an_elevation_model_is_refused(database, tmp_path):
    dem = np.array([[221.5, 222.0], [223.1, 224.8]], dtype="float32")
    refused(database, tmp_path, write_tif(tmp_path / "dem.tif", dem), "elevation model")


def test_a_raster_with_no_flooded_cell_is_refused(database, tmp_path):
    dry = np.full((2, 2), NODATA, dtype="float32")
    refused(database, tmp_path, write_tif(tmp_path / "dry.tif", dry), "no flooded cell")


def test_a_raster_outside_slovenia_is_refused(database, tmp_path):
    # the four cells with their coordinates read as WGS 84 degrees: far off the map
    path = write_tif(tmp_path / "wrongcrs.tif", DEPTHS, crs="EPSG:4326")
    refused(database, tmp_path, path, "outside Slovenia")


def test_a_scenario_must_name_its_return_period(database, tmp_path):
    refused(database, tmp_path, four_cells(tmp_path, "q.tif"), "return period", scenario="flood")
    refused(database, tmp_path, four_cells(tmp_path, "q.tif"), "return period", scenario=None)


def test_a_file_that_is_not_a_raster_is_refused(database, tmp_path):
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff at all")
    refused(database, tmp_path, broken, "not a readable raster")


def test_a_raster_into_a_vector_layer_is_refused(database, tmp_path):
    with pytest.raises(LoadError, match="vector files only"):
        load_file(database.writer, four_cells(tmp_path), "buildings", LoadOptions(progress=False))


def test_the_command_line_loads_a_scenario_and_prints_its_hectares(
    database, tmp_path, capsys, monkeypatch
):
    for name, value in database.variables().items():
        monkeypatch.setenv(name, value)
    path = four_cells(tmp_path)
    assert main(["load", str(path), "--layer", "flood_hazard", "--scenario", "q100"]) == 0
    out = capsys.readouterr().out
    assert "Q100 velika: 1.0 ha" in out and "3 loaded" in out
    assert main(["load", str(path), "--layer", "flood_hazard"]) == 2
    assert "--scenario Q10" in capsys.readouterr().err


def tiled_tif(path: Path, depths: np.ndarray) -> Path:
    """``depths`` as a tiled, compressed GeoTIFF of one-metre cells in Ptuj."""
    return write_tif(
        path,
        depths,
        transform=from_origin(*ORIGIN, 1.0, 1.0),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    )


def sparse_tif(path: Path, side: int, cell: float, **blocks) -> rasterio.io.DatasetWriter:
    """A square GeoTIFF, open for writing, whose tiles take no space until written."""
    return rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=side,
        width=side,
        count=1,
        dtype="float32",
        crs="EPSG:3794",
        transform=from_origin(560_000, 150_000, cell, cell),
        nodata=NODATA,
        tiled=True,
        sparse_ok=True,
        **blocks,
    )


def test_a_raster_of_many_windows_gives_each_class_all_its_cells(database, tmp_path):
    """Read a window at a time, zones are cut at window edges but lose and double no cell."""
    depths = np.full((300, 5000), 0.2, dtype="float32")  # three windows across
    depths[100:200, 1000:4500] = 1.0
    depths[:, 4900:] = NODATA
    report = load(database, tiled_tif(tmp_path / "q100.tif", depths))
    found = zones(database, "Q100")
    assert found["srednja"][0] == pytest.approx(100 * 3500)
    assert found["majhna"][0] == pytest.approx(300 * 4900 - 100 * 3500)
    assert found["srednja"][1:] == pytest.approx((ORIGIN[0] + 2750, ORIGIN[1] - 150), abs=0.01)
    assert "Q100 srednja: 35.0 ha" in report.notes


def damaged(tmp_path: Path, name: str, cut_short: bool) -> Path:
    """A GeoTIFF whose second row of tiles is overwritten with zeros, or cut off."""
    depths = np.random.default_rng(1).uniform(0.1, 2.0, (512, 512)).astype("float32")
    good = tiled_tif(tmp_path / f"whole_{name}", depths)
    with rasterio.open(good) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_0_1", "TIFF", bidx=1))
    data = bytearray(good.read_bytes())
    if cut_short:
        data = data[:offset]
    else:
        data[offset : offset + 200] = bytes(200)
    (tmp_path / name).write_bytes(bytes(data))
    return tmp_path / name


@pytest.mark.parametrize("cut_short", [False, True], ids=["damaged", "truncated"])
def test_a_damaged_or_truncated_raster_is_refused_naming_where(database, tmp_path, cut_short):
    path = damaged(tmp_path, "poskodovan.tif", cut_short)
    refused(database, tmp_path, path, "cannot be read")
    with pytest.raises(LoadError, match=r"rows 1–512 cannot be read .*TIFFReadEncodedTile"):
        load(database, path)


def test_a_raster_declaring_an_absurd_size_is_refused_before_it_is_read(database, tmp_path):
    path = tmp_path / "ogromen.tif"
    with sparse_tif(path, 500_000, 0.5, blockxsize=4096, blockysize=4096):
        pass  # a small file claiming 2.5e11 cells
    refused(database, tmp_path, path, "declares 500,000 × 500,000 cells")


def test_a_raster_larger_than_the_memory_it_may_use_loads_a_window_at_a_time(database, tmp_path):
    """16,000² cells: 2 GiB as depths held whole; read a window at a time it needs far less."""
    path = tmp_path / "velik.tif"
    side = 16_000
    with sparse_tif(path, side, 1.0) as out:  # dry tiles are not written: the file stays small
        out.write(np.full((512, side), 0.7, dtype="float32"), 1, window=((8_000, 8_512), (0, side)))
    measure = (
        "import resource, subprocess, sys;"
        "run = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "print(run.stdout, run.stderr, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    load_command = [sys.executable, "-m", "etl", "load", str(path), "--layer", "flood_hazard"]
    run = subprocess.run(
        [sys.executable, "-c", measure, *load_command, "--scenario", "Q100", "--dry-run"],
        capture_output=True,
        text=True,
        env=database.environment(),
        timeout=600,
        check=True,
    )
    assert "Q100 srednja: 819.2 ha" in run.stdout, run.stdout  # 512 × 16,000 m²
    peak_mib = int(run.stdout.split()[-1]) / 1024
    assert peak_mib < 700, f"peak {peak_mib:.0f} MiB"  # 7.3 GiB read whole
