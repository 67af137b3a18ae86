"""The readings cache and its datashader aggregation: exact figures, windows, zoom, watermark, Dask."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from scipy.ndimage import maximum_filter
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.aggregation import Aggregate, ReadingQuery, datashaded
from layers.aggregation import spread as spread_to
from layers.errors import ConfigurationError
from layers.readings import ReadingCache, reading_cache, stop_reading_caches
from layers.readings_index import days_of, rows_of
from layers.registry import layer
from layers.settings import read_settings

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True).transform
# Two PM10 stations 2 km apart in Ptuj (EPSG:3794), and a noise meter by the first.
PLACES = {"ZRAK-A": ("pm10", 566000), "ZRAK-B": ("pm10", 568000), "HRUP-A": ("noise", 566000)}
DAY = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def us(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1e6)


def load_readings(database, tmp_path, rows: list[tuple[str, dt.datetime, float]], name="r.csv"):
    frame = pd.DataFrame(rows, columns=["sensor", "observed_at", "value"])
    frame["observed_at"] = [t.isoformat() for t in frame["observed_at"]]
    frame.to_csv(tmp_path / name, index=False)
    return load_file(
        database.writer, tmp_path / name, "sensor_readings", LoadOptions(progress=False)
    )


@pytest.fixture
def stations(database, tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "ID": list(PLACES),
            "VRSTA": [k for k, _ in PLACES.values()],
            "ENOTA": ["µg/m³", "µg/m³", "dB(A)"],
            "STANJE": ["deluje"] * 3,
        },
        geometry=gpd.points_from_xy([x for _, x in PLACES.values()], [142600] * 3),
        crs=3794,
    )
    frame.to_file(tmp_path / "s.gpkg")
    load_file(database.writer, tmp_path / "s.gpkg", "sensors", LoadOptions(progress=False))
    return database


def view(
    kind="pm10", how="mean", start=DAY, end=DAY + dt.timedelta(days=1), box=None, size=(120, 80)
):
    ax, ay = TO_MERCATOR(566000, 142600)
    box = box or (ax - 1000, ay - 1000, ax + 3000, ay + 1000)
    return ReadingQuery(kind, us(start), us(end), box, *size, how)


def at(aggregate, easting: float):
    """(value, count) in the pixel of the station at ``easting``."""
    x, y = TO_MERCATOR(easting, 142600)
    xmin, ymin, xmax, ymax = aggregate.box
    value, count = aggregate.grids()
    rows, cols = aggregate.shape
    col = int((x - xmin) / (xmax - xmin) * cols)
    row = int((y - ymin) / (ymax - ymin) * rows)
    return float(value[row, col]), float(count[row, col])


def test_a_cell_with_readings_of_10_20_30_shows_mean_20_and_count_3(stations, tmp_path):
    hours = [DAY + dt.timedelta(hours=h) for h in (1, 2, 3)]
    load_readings(
        stations,
        tmp_path,
        [("ZRAK-A", t, v) for t, v in zip(hours, (10, 20, 30), strict=True)]
        + [("ZRAK-B", hours[0], 44), ("HRUP-A", hours[0], 60)],
    )
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    cache.top_up()
    mean = cache.aggregate(view())
    assert at(mean, 566000) == (20.0, 3.0)
    assert at(mean, 568000) == (44.0, 1.0)
    assert mean.readings == 4  # the noise meter is another kind
    assert at(cache.aggregate(view(how="max")), 566000) == (30.0, 3.0)
    assert at(cache.aggregate(view(how="count")), 566000) == (3.0, 3.0)
    assert len(mean.pixels) == 2  # nothing drawn elsewhere


def test_the_time_window_holds_its_start_and_not_its_end(stations, tmp_path):
    times = [
        DAY - dt.timedelta(minutes=1),
        DAY,
        DAY + dt.timedelta(hours=23),
        DAY + dt.timedelta(days=1),
    ]
    load_readings(stations, tmp_path, [("ZRAK-A", t, 10.0 * (i + 1)) for i, t in enumerate(times)])
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    cache.top_up()
    assert at(cache.aggregate(view()), 566000) == (25.0, 2.0)  # 20 and 30
    hour = cache.aggregate(
        view(
            start=DAY + dt.timedelta(hours=22, minutes=30),
            end=DAY + dt.timedelta(hours=23, minutes=1),
        )
    )
    assert at(hour, 566000) == (30.0, 1.0)
    week = cache.aggregate(view(start=DAY - dt.timedelta(days=7), end=DAY + dt.timedelta(days=7)))
    assert at(week, 566000) == (25.0, 4.0)
    assert (
        cache.aggregate(
            view(start=DAY + dt.timedelta(days=2), end=DAY + dt.timedelta(days=3))
        ).readings
        == 0
    )


def test_a_zoomed_view_reads_only_its_own_sensors_rows_and_days(stations, tmp_path):
    hours = [DAY + dt.timedelta(hours=h) for h in range(-12, 36)]
    load_readings(stations, tmp_path, [(s, t, 1.0) for s in ("ZRAK-A", "ZRAK-B") for t in hours])
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    cache.top_up()
    columns = cache.snapshot.kinds["pm10"]
    # a whole day is read as each sensor's sums, not reading by reading
    assert rows_of(columns, view()) == []
    assert days_of(columns, view()).count.tolist() == [24, 24]
    ax, ay = TO_MERCATOR(566000, 142600)
    box = (ax - 200, ay - 200, ax + 200, ay + 200)
    zoomed = view(start=DAY - dt.timedelta(hours=6), end=DAY + dt.timedelta(days=1), box=box)
    picked = np.concatenate(rows_of(columns, zoomed))
    assert len(picked) == 6 and set(columns.sensor_x[columns.rank[picked]]) == {np.float32(ax)}
    assert days_of(columns, zoomed).x.tolist() == [np.float32(ax)]
    assert cache.aggregate(zoomed).readings == 30


@pytest.mark.parametrize("how", ["mean", "max", "count"])
def test_a_window_of_whole_and_part_days_gives_what_its_readings_give(stations, tmp_path, how):
    rng = np.random.default_rng(3)
    rows = [
        (sensor, DAY + dt.timedelta(minutes=int(m)), float(v))
        for sensor in ("ZRAK-A", "ZRAK-B")
        for m, v in zip(
            rng.choice(4 * 1440, 900, replace=False), rng.uniform(5, 90, 900), strict=True
        )
    ]
    load_readings(stations, tmp_path, rows)
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    cache.top_up()
    columns = cache.snapshot.kinds["pm10"]
    for start, end in [
        (DAY + dt.timedelta(hours=7), DAY + dt.timedelta(hours=80)),
        (DAY, DAY + dt.timedelta(days=3)),
    ]:
        query = view(how=how, start=start, end=end)
        kept = (columns.t >= us(start)) & (columns.t < us(end))
        every = pd.DataFrame(
            {
                "x": columns.sensor_x[columns.rank[kept]],
                "y": columns.sensor_y[columns.rank[kept]],
                "value": columns.value[kept],
            }
        )
        found = cache.aggregate(query)
        assert found.readings == kept.sum() > 0
        assert_same(found, datashaded(every, query))


def test_readings_after_days_without_any_are_added_to_the_cache(stations, tmp_path):
    load_readings(stations, tmp_path, [("ZRAK-A", DAY + dt.timedelta(hours=1), 10.0)], "a.csv")
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    cache.top_up()
    # the feed was away for two days
    later = [("ZRAK-A", DAY + dt.timedelta(days=3, hours=h), 30.0) for h in (1, 2)]
    load_readings(stations, tmp_path, later, "b.csv")
    assert cache.top_up()
    whole = view(end=DAY + dt.timedelta(days=4))
    assert cache.aggregate(whole).readings == 3
    assert at(cache.aggregate(whole), 566000) == (pytest.approx(70 / 3), 3.0)
    last = view(start=DAY + dt.timedelta(days=3), end=DAY + dt.timedelta(days=4))
    assert at(cache.aggregate(last), 566000) == (30.0, 2.0)


def test_the_watermark_picks_up_readings_loaded_after_the_start(stations, tmp_path):
    load_readings(stations, tmp_path, [("ZRAK-A", DAY + dt.timedelta(hours=1), 10.0)], "a.csv")
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    assert cache.top_up()
    before = cache.snapshot
    assert not cache.top_up()  # nothing new: nothing read
    load_readings(
        stations,
        tmp_path,
        [
            ("ZRAK-A", DAY + dt.timedelta(hours=2), 30.0),
            ("ZRAK-A", DAY - dt.timedelta(days=3), 1.0),
        ],
        "b.csv",
    )
    assert cache.top_up()
    assert cache.snapshot.version == before.version + 1
    assert at(cache.aggregate(view()), 566000) == (20.0, 2.0)
    assert cache.aggregate(view(start=DAY - dt.timedelta(days=5))).readings == 3


def test_one_cache_per_database_until_stopped(stations, tmp_path):
    load_readings(stations, tmp_path, [("ZRAK-A", DAY + dt.timedelta(hours=1), 10.0)])
    stop_reading_caches()  # an earlier test's cache of this schema may be there
    first = reading_cache(stations.reader, layer("sensor_readings"))
    assert reading_cache(stations.reader, layer("sensor_readings")) is first
    assert first.aggregate(view()).readings == 1
    stop_reading_caches()
    assert first.stopped.is_set()  # its top-up thread ends at its next wake
    assert reading_cache(stations.reader, layer("sensor_readings")) is not first


@pytest.fixture(scope="module")
def dask():
    from layers.readings_dask import dask_client

    with dask_client(read_settings().dask_scheduler) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        yield client


def two_days_of_readings(rng) -> list[tuple[str, dt.datetime, float]]:
    return [
        (sensor, DAY + dt.timedelta(minutes=int(m)), float(v))
        for sensor in ("ZRAK-A", "ZRAK-B", "HRUP-A")
        for m, v in zip(rng.choice(2880, 400, replace=False), rng.uniform(20, 80, 400), strict=True)
    ]


def archived_cache(database, folder, client) -> ReadingCache:
    from layers.readings_dask import ReadingArchive

    cache = ReadingCache(database.reader, layer("sensor_readings"), ReadingArchive(folder, client))
    cache.top_up()
    return cache


# a window of part-days and a whole day between, one within a day, one past the readings' start
WINDOWS = [
    (DAY - dt.timedelta(hours=5), DAY + dt.timedelta(hours=30)),
    (DAY + dt.timedelta(hours=3), DAY + dt.timedelta(hours=9)),
    (DAY - dt.timedelta(days=3), DAY + dt.timedelta(days=1)),
]


def assert_same(found, expected):
    assert found.readings == expected.readings
    np.testing.assert_array_equal(found.pixels, expected.pixels)
    np.testing.assert_array_equal(found.count, expected.count)
    np.testing.assert_allclose(found.value, expected.value, rtol=1e-6)


def test_the_archive_on_dask_gives_the_same_aggregate_as_the_cache(stations, tmp_path, dask):
    from layers.readings_dask import export_readings

    load_readings(stations, tmp_path, two_days_of_readings(np.random.default_rng(7)))
    whole = ReadingCache(stations.reader, layer("sensor_readings"))
    whole.top_up()
    assert export_readings(stations.reader, layer("sensor_readings"), tmp_path / "a") == 1200
    archived = archived_cache(stations, tmp_path / "a" / "sensor_readings", dask)
    assert archived.snapshot.kinds["pm10"].t.size == 0  # the archive holds them all
    for how in ("mean", "max", "count"):
        for start, end in WINDOWS:
            expected = whole.aggregate(view(how=how, start=start, end=end))
            assert expected.readings > 0
            assert_same(archived.aggregate(view(how=how, start=start, end=end)), expected)
    assert archived.first_us() == whole.first_us()


def test_readings_loaded_after_the_export_are_added_and_a_new_export_takes_them(
    stations, tmp_path, dask
):
    from layers.readings_dask import export_readings

    rng = np.random.default_rng(11)
    load_readings(stations, tmp_path, two_days_of_readings(rng))
    export_readings(stations.reader, layer("sensor_readings"), tmp_path / "a")
    archived = archived_cache(stations, tmp_path / "a" / "sensor_readings", dask)
    # a late file: readings of the same days, older than some archived ones
    late = [
        (s, DAY + dt.timedelta(minutes=int(m)) + dt.timedelta(seconds=30), 50.0)
        for s in ("ZRAK-A", "HRUP-A")
        for m in rng.choice(2880, 50, replace=False)
    ]
    load_readings(stations, tmp_path, late, name="late.csv")
    assert archived.top_up()
    assert archived.snapshot.kinds["pm10"].t.size == 50
    whole = ReadingCache(stations.reader, layer("sensor_readings"))
    whole.top_up()
    for start, end in WINDOWS:
        assert_same(
            archived.aggregate(view(start=start, end=end)),
            whole.aggregate(view(start=start, end=end)),
        )
    zrak_a = int(archived.places_of("pm10").query("label == 'ZRAK-A'")["id"].iloc[0])
    history = archived.series("pm10", zrak_a, DAY, DAY + dt.timedelta(days=2))
    expected = whole.series("pm10", zrak_a, DAY, DAY + dt.timedelta(days=2))
    assert len(history[0]) == 450 and np.all(np.diff(history[0]) >= 0)
    np.testing.assert_array_equal(history[0], expected[0])
    np.testing.assert_array_equal(history[1], expected[1])
    first = archived.snapshot.archived.version
    export_readings(stations.reader, layer("sensor_readings"), tmp_path / "a")
    assert archived.top_up()  # the archive changed: the cache forgets what it now holds
    assert archived.snapshot.kinds["pm10"].t.size == 0
    assert_same(archived.aggregate(view()), whole.aggregate(view()))
    # each export is a version of its own; the one before stays for the views under way
    second = archived.snapshot.archived.version
    folder = tmp_path / "a" / "sensor_readings"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted([first, second])
    export_readings(stations.reader, layer("sensor_readings"), tmp_path / "a")
    assert first not in {p.name for p in folder.iterdir()}
    assert_same(archived.aggregate(view()), whole.aggregate(view()))  # the second, still there


def test_an_archive_without_a_cluster_is_refused_with_the_fix():
    with pytest.raises(ConfigurationError, match="GIS_DASK_SCHEDULER") as refused:
        read_settings({"GIS_READINGS_ARCHIVE": "/srv/archive"})
    assert "dask scheduler" in refused.value.fix_en
    assert read_settings({}).readings_archive is None


def test_a_window_with_partial_days_counts_each_reading_once(stations, tmp_path):
    hours = [DAY + dt.timedelta(hours=h) for h in range(-30, 54)]
    load_readings(stations, tmp_path, [(s, t, 2.0) for s in ("ZRAK-A", "ZRAK-B") for t in hours])
    cache = ReadingCache(stations.reader, layer("sensor_readings"))
    cache.top_up()
    window = view(start=DAY - dt.timedelta(hours=5), end=DAY + dt.timedelta(hours=29))
    assert cache.aggregate(window).readings == 2 * 34
    ax, ay = TO_MERCATOR(566000, 142600)
    zoomed = view(
        start=DAY - dt.timedelta(hours=5),
        end=DAY + dt.timedelta(hours=29),
        box=(ax - 200, ay - 200, ax + 200, ay + 200),
    )
    assert cache.aggregate(zoomed).readings == 34


@pytest.mark.parametrize("drawn", [40, 4000])  # sensors stamped one by one; a canvas-wide filter
def test_spreading_gives_each_pixel_the_largest_figures_within_reach(drawn):
    rng = np.random.default_rng(drawn)
    count = np.zeros((80, 120), np.float32)
    count.flat[rng.choice(count.size, drawn, replace=False)] = rng.integers(1, 50, drawn)
    # negative means too
    mean = np.where(count > 0, rng.normal(0, 10, count.shape), -np.inf).astype(np.float32)
    pixels = np.flatnonzero(count)
    found = Aggregate(
        pixels, mean.flat[pixels], count.flat[pixels], count.shape, (0, 0, 120, 80), 0
    )
    value, spread_count = spread_to(found, 2)
    expected_value = maximum_filter(mean, size=5, mode="constant", cval=-np.inf)
    expected_count = maximum_filter(count, size=5, mode="constant", cval=0)
    np.testing.assert_array_equal(spread_count, expected_count)
    np.testing.assert_array_equal(value, np.where(expected_count > 0, expected_value, np.nan))


def test_a_sensors_series_is_its_readings_in_the_database_in_time_order(sample_database):
    cache = ReadingCache(sample_database.reader, layer("sensor_readings"))
    cache.top_up()
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=9, hours=5)  # days in part at both ends
    with sample_database.reader.connect() as conn:
        place, expected = None, None
        for place in conn.scalars(text("SELECT id FROM sensor WHERE kind = 'pm10' ORDER BY id")):
            expected = conn.execute(
                text(
                    "SELECT (extract(epoch FROM observed_at) * 1e6)::bigint, value"
                    " FROM sensor_reading WHERE sensor_id = :place"
                    " AND observed_at >= :start AND observed_at < :end ORDER BY observed_at"
                ),
                {"place": place, "start": start, "end": end},
            ).all()
            if expected:
                break
    t, value = cache.series("pm10", place, start, end)
    assert len(t) == len(expected) > 100
    np.testing.assert_array_equal(t, [row[0] for row in expected])
    np.testing.assert_allclose(value, [row[1] for row in expected], rtol=1e-6)
    assert cache.series("no2", place, start, end)[0].size == 0  # not a sensor of that kind
    labels = cache.places_of("pm10")["label"].tolist()
    assert labels == sorted(labels) and all(label.endswith("PM10") for label in labels)
