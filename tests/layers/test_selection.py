"""Filters and selections in SQL: the map, the table, the counts and the exports read the same
features, and those are what geopandas finds in the whole layer."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer

from layers.errors import LayerAccessError
from layers.filters import NO_FILTER, Condition, Filter, choices
from layers.queries import Viewport, feature_at, fetch_features
from layers.registry import layer
from layers.selection import Scope, features, ids_within, table_rows, totals

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True)
BUILDINGS = layer("buildings")
CENTRE = (566_500, 142_800)  # D96/TM, in the middle of Ptuj


def whole(sample_database, spec) -> gpd.GeoDataFrame:
    return features(sample_database.reader, Scope(spec), "planner")


def town_viewport(half_m: float = 700) -> Viewport:
    (x0, x1), (y0, y1) = TO_MERCATOR.transform(
        [CENTRE[0] - half_m, CENTRE[0] + half_m], [CENTRE[1] - half_m, CENTRE[1] + half_m]
    )
    return Viewport(x0, y0, x1, y1, 1200)


def test_the_choices_are_the_values_and_ranges_the_layer_holds(sample_database):
    found = {c.field.name: c for c in choices(sample_database.reader, BUILDINGS)}
    frame = whole(sample_database, BUILDINGS)
    assert set(found["use_class"].values) == set(frame["use_class"].dropna())
    years = frame["year_built"].dropna()
    assert (found["year_built"].low, found["year_built"].high) == (years.min(), years.max())


def test_a_filtered_view_holds_just_the_features_the_filter_lets_through(sample_database):
    frame = whole(sample_database, BUILDINGS)
    uses = frozenset(frame["use_class"].value_counts().index[1:3])  # two uses, not the commonest
    where = Filter(
        (Condition("use_class", values=uses), Condition("year_built", low=1950, high=1990))
    )
    view = town_viewport()
    drawn = fetch_features(sample_database.reader, BUILDINGS, view, "planner", where=where)
    everything = fetch_features(sample_database.reader, BUILDINGS, view, "planner")
    expected = everything[
        everything["use_class"].isin(uses) & everything["year_built"].between(1950, 1990)
    ]
    assert 0 < len(drawn) < len(everything)
    assert set(drawn["id"]) == set(expected["id"])  # a building without a year is left out


def test_a_click_finds_no_feature_the_filter_hides(sample_database):
    frame = whole(sample_database, BUILDINGS)
    one = frame.iloc[len(frame) // 2]
    x, y = TO_MERCATOR.transform(*one.geometry.representative_point().coords[0])
    hidden = Filter((Condition("use_class", values=frozenset({"no such use"})),))
    found = feature_at(sample_database.reader, BUILDINGS, x, y, 1.0, "planner")
    assert found and found["id"] == one["id"]
    assert feature_at(sample_database.reader, BUILDINGS, x, y, 1.0, "planner", None, hidden) is None


@pytest.mark.parametrize("layer_id", ["buildings", "roads"])
def test_an_area_selects_what_geopandas_finds_in_it_and_sums_it_true(sample_database, layer_id):
    spec = layer(layer_id)
    frame = whole(sample_database, spec)
    # a triangle over the centre, drawn on the map (EPSG:3857)
    corners = [(CENTRE[0] - 600, CENTRE[1] - 400), (CENTRE[0] + 500, CENTRE[1] - 300), CENTRE]
    drawn = shapely.Polygon([TO_MERCATOR.transform(*c) for c in corners])
    selected = ids_within(sample_database.reader, Scope(spec, area=drawn), "planner")
    triangle = shapely.Polygon(corners)  # the same, in the layer's own CRS
    inside = frame[frame.intersects(triangle)]
    assert len(selected) > 10
    # the corners go through one projection and back: an edge may move by a millimetre
    edge = frame[frame.intersects(triangle.boundary.buffer(0.01))]
    assert set(selected) ^ set(inside["id"]) <= set(edge["id"])
    scope = Scope(spec, ids=selected)
    found = totals(sample_database.reader, scope, "planner")
    chosen = frame[frame["id"].isin(selected)]
    assert found["count"] == len(selected)
    if spec.geometry == "MultiPolygon":
        assert found["ha"] == pytest.approx(chosen.area.sum() / 10_000, rel=1e-9)
        assert found["occupants"] == chosen["occupants"].sum()
    else:
        assert found["km"] == pytest.approx(chosen.length.sum() / 1000, rel=1e-9)


def test_the_table_reads_the_scope_in_id_order(sample_database):
    frame = whole(sample_database, BUILDINGS)
    ids = frozenset(frame["id"].sample(25, random_state=1))
    rows = table_rows(sample_database.reader, Scope(BUILDINGS, ids=ids), "planner")
    assert list(rows["id"]) == sorted(ids)
    assert list(rows.columns) == ["id", *(f.name for f in BUILDINGS.fields)]
    assert table_rows(sample_database.reader, Scope(BUILDINGS, ids=frozenset()), "planner").empty


def test_no_filter_and_no_scope_is_the_whole_layer(sample_database):
    frame = whole(sample_database, BUILDINGS)
    found = totals(sample_database.reader, Scope(BUILDINGS, where=NO_FILTER), "planner")
    assert found["count"] == len(frame)


def test_a_role_that_may_not_see_the_layer_selects_nothing_of_it(sample_database):
    with pytest.raises(LayerAccessError):
        totals(sample_database.reader, Scope(BUILDINGS), "public")
