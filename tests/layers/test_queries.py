"""Viewport queries against PostGIS: a box returns what meets it, and only for allowed roles."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from pyproj import Transformer
from shapely.geometry import Point
from sqlalchemy import text

from etl.load import LoadOptions, load_file
from layers.errors import LayerAccessError
from layers.filters import Condition, Filter
from layers.queries import Viewport, feature_at, feature_drawn_at, fetch_features, layer_extent
from layers.registry import LAYERS

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True).transform


@pytest.fixture
def grid_of_hotspots(database, tmp_path):
    """25 hotspots on a 100 m grid in D96/TM, named by their column and row."""
    points = [(566000 + 100 * i, 142000 + 100 * j) for i in range(5) for j in range(5)]
    frame = gpd.GeoDataFrame(
        {"LOKACIJA": [f"{i}-{j}" for i in range(5) for j in range(5)], "STANJE": ["aktivna"] * 25},
        geometry=[Point(p) for p in points],
        crs=3794,
    )
    pyogrio.write_dataframe(frame, tmp_path / "grid.gpkg")
    load_file(database.writer, tmp_path / "grid.gpkg", "wifi_hotspots", LoadOptions(progress=False))
    return database


def viewport_around(xmin, ymin, xmax, ymax) -> Viewport:
    x0, y0 = TO_MERCATOR(xmin, ymin)
    x1, y1 = TO_MERCATOR(xmax, ymax)
    return Viewport(x0, y0, x1, y1, 800)


def test_a_box_returns_only_what_meets_it(grid_of_hotspots):
    box = viewport_around(566150, 142150, 566350, 142250)  # columns 2-3, row 2
    found = fetch_features(grid_of_hotspots.reader, LAYERS["wifi_hotspots"], box, "planner")
    assert sorted(found["location_name"]) == ["2-2", "3-2"]
    assert found.crs.to_epsg() == 3857
    x, y = TO_MERCATOR(566200, 142200)
    point = found.set_index("location_name").geometry["2-2"]
    assert point.x == pytest.approx(x, abs=0.01) and point.y == pytest.approx(y, abs=0.01)


def test_an_empty_box_returns_nothing(grid_of_hotspots):
    box = viewport_around(570000, 145000, 570500, 145500)
    assert fetch_features(grid_of_hotspots.reader, LAYERS["wifi_hotspots"], box, "planner").empty


def test_a_role_the_spec_does_not_name_gets_no_rows(grid_of_hotspots):
    box = viewport_around(565000, 141000, 568000, 143000)
    with pytest.raises(LayerAccessError, match="'public' may not see layer 'water_mains'"):
        fetch_features(grid_of_hotspots.reader, LAYERS["water_mains"], box, "public")


def test_the_feature_nearest_a_click_within_the_radius(grid_of_hotspots):
    x, y = TO_MERCATOR(566310, 142095)  # 10 m from "3-1"
    spec = LAYERS["wifi_hotspots"]
    assert feature_at(grid_of_hotspots.reader, spec, x, y, 15, "planner")["location_name"] == "3-1"
    assert feature_at(grid_of_hotspots.reader, spec, x, y, 5, "planner") is None


def test_the_feature_under_a_pointer_is_read_as_its_view_draws_it(sample_database):
    """A view drawn as an image answers a resting pointer with the one feature there, in the
    columns and the simplified shape the view's own read gives it; the filter holds."""
    spec, reader = LAYERS["buildings"], sample_database.reader
    view = Viewport(*layer_extent(reader, spec), 1200)
    drawn = fetch_features(reader, spec, view, "planner")
    house = drawn.iloc[drawn.geometry.area.argmax()]
    inside = house.geometry.representative_point()
    found = feature_drawn_at(reader, spec, inside.x, inside.y, view, 0, "planner")
    assert list(found.columns) == list(drawn.columns) and len(found) == 1
    assert found.iloc[0][spec.id_column] == house[spec.id_column]
    assert found.geometry.iloc[0].equals(house.geometry)
    others = Filter((Condition("use_class", values=frozenset({"?"})),))
    assert feature_drawn_at(
        reader, spec, inside.x, inside.y, view, 0, "planner", where=others
    ).empty
    with pytest.raises(LayerAccessError):
        feature_drawn_at(reader, spec, inside.x, inside.y, view, 0, "public")


def test_polygons_are_simplified_to_the_pixel_size(sample_database):
    spec = LAYERS["municipality"]
    extent = layer_extent(sample_database.reader, spec)
    coarse = fetch_features(sample_database.reader, spec, Viewport(*extent, 200), "planner")
    fine = fetch_features(sample_database.reader, spec, Viewport(*extent, 4000), "planner")
    coarse_vertices = coarse.geometry.count_coordinates().sum()
    assert coarse_vertices < fine.geometry.count_coordinates().sum() / 3
    assert coarse.geometry.area.sum() == pytest.approx(fine.geometry.area.sum(), rel=0.02)


def test_snapping_grows_the_viewport_and_keeps_similar_views_equal():
    view = Viewport(1_766_010, 5_848_020, 1_767_990, 5_849_010, 1000)
    nudged = Viewport(1_766_040, 5_848_050, 1_768_020, 5_849_040, 1000)
    snapped = view.snapped()
    assert snapped.xmin <= view.xmin and snapped.xmax >= view.xmax
    assert snapped.ymin <= view.ymin and snapped.ymax >= view.ymax
    assert snapped == nudged.snapped()


def test_a_viewport_query_is_planned_without_jit(grid_of_hotspots):
    """PostGIS's costly functions pass ``jit_above_cost`` on a few thousand rows: compiling
    took 53 of a big view's 122 ms. The pool's connections run without it, even after the
    one a test used is handed back and taken again."""
    for _ in range(2):
        with grid_of_hotspots.reader.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT ST_AsBinary(ST_Transform("
                    "ST_SimplifyPreserveTopology(ST_Buffer(geom, 50), 1), 3857))"
                    " FROM wifi_hotspot, generate_series(1, 400)"
                )
            ).scalar()
    assert "JIT" not in plan[0], plan[0].get("JIT")
