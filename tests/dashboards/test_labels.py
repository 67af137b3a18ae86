"""Names on the offline basemap: each where it belongs, streets once per name and only when
zoomed in, and a configured online basemap a choice in the layer list."""

from __future__ import annotations

import math

import pytest
import shapely
from pyproj import Transformer

from dashboards.labels import label_columns
from dashboards.planner import PlannerDashboard
from data.profiles import load_profile
from layers.queries import Viewport, fetch_features
from layers.registry import layer
from layers.store import FeatureStore

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True)
CENTRE = (566_500, 142_800)  # D96/TM, in the middle of Ptuj


def around_centre(half_m: float) -> Viewport:
    (x0, x1), (y0, y1) = TO_MERCATOR.transform(
        [CENTRE[0] - half_m, CENTRE[0] + half_m], [CENTRE[1] - half_m, CENTRE[1] + half_m]
    )
    return Viewport(x0, y0, x1, y1, 1200)


@pytest.fixture(scope="module")
def planner(sample_database):
    return PlannerDashboard(FeatureStore(sample_database.reader), load_profile("ptuj"))


def test_settlements_and_districts_are_named_where_they_are(sample_database):
    view = around_centre(20_000)
    for layer_id in ("settlements", "districts"):
        spec = layer(layer_id)
        frame = fetch_features(sample_database.reader, spec, view, "public")
        found = label_columns(spec, frame)
        assert sorted(found["text"]) == sorted(frame[spec.label_field])
        for x, y, name in zip(found["x"], found["y"], found["text"], strict=True):
            shape = frame.geometry[frame[spec.label_field] == name].iloc[0]
            assert shape.distance(shapely.Point(x, y)) < 1e-6  # on the point, inside the area


def test_a_street_is_named_once_along_its_longest_piece_and_upright(sample_database):
    spec = layer("streets")
    frame = fetch_features(sample_database.reader, spec, around_centre(500), "planner")
    found = label_columns(spec, frame)
    assert len(found["text"]) == frame["name"].nunique() > 3
    for x, y, name, angle in zip(*(found[k] for k in ("x", "y", "text", "angle")), strict=True):
        pieces = frame.geometry[frame["name"] == name]
        assert pieces.distance(shapely.Point(x, y)).min() < 1e-6
        assert -math.pi / 2 <= angle <= math.pi / 2


def test_street_names_wait_for_the_zoom_and_go_with_their_layer(planner):
    streets = planner.map.layers["streets"]
    streets.show(around_centre(10_000))
    assert streets.labels.renderer.data_source.data["text"] == []  # a municipality: no names
    streets.show(around_centre(400))
    assert streets.labels.renderer.data_source.data["text"]
    planner.map.toggles["streets"].value = False
    assert streets.labels.renderer.data_source.data["text"] == []


def test_an_online_basemap_is_a_choice_only_when_one_is_configured(sample_database, planner):
    assert planner.map.online_basemap is None  # the default: our own layers, offline
    online = PlannerDashboard(
        FeatureStore(sample_database.reader),
        load_profile("ptuj"),
        basemap_url="https://tiles.example.org/{z}/{x}/{y}.png",
    )
    tiles = online.map.figure.select_one({"name": "online_basemap"})
    assert tiles.visible
    online.map.online_basemap.value = False
    assert not tiles.visible
