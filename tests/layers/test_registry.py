"""The registry: every spec complete, styled, and consistent with itself."""

from __future__ import annotations

from dataclasses import replace

import pytest

from layers.checks import style_problems
from layers.errors import ConfigurationError
from layers.registry import LAYERS, LAYERS_FILE, exposed_layers, layer_for, read_layers, visible_to
from layers.roles import ROLES
from layers.spec import PURPOSES, Exposure, Geometry, Measure
from styles import all_styles, legend_entries

SIX_LAYERS_OF_THE_BRIEF = {
    "buildings",
    "degraded_land",
    "natura2000",
    "water_mains",
    "roads",
    "wifi_hotspots",
}


@pytest.mark.parametrize("spec", LAYERS.values(), ids=list(LAYERS))
def test_a_spec_names_existing_fields_roles_and_style(spec):
    names = {f.name for f in spec.fields}
    assert spec.label_field in names
    assert set(spec.hover_fields) <= names
    assert spec.roles <= set(ROLES) and spec.roles
    assert spec.style_key in all_styles()
    assert legend_entries(spec.style_key, spec.geometry)
    assert spec.title_sl and spec.title_en
    assert any(f.required for f in spec.loaded_fields)


def test_the_planner_sees_the_six_layers_and_the_basemap_first():
    specs = visible_to("planner")
    assert {s.id for s in specs} >= SIX_LAYERS_OF_THE_BRIEF
    basemap = [s.basemap for s in specs]
    assert basemap == sorted(basemap, reverse=True)  # every basemap layer before any other


def test_the_public_sees_no_critical_infrastructure_or_personal_data():
    public = {s.id for s in visible_to("public")}
    assert "water_mains" not in public and "buildings" not in public
    assert {"natura2000", "wifi_hotspots"} <= public


def test_the_public_gets_the_streets_names_and_lines_of_the_staffs_road_table():
    streets, roads = LAYERS["streets"], LAYERS["roads"]
    assert "public" in streets.roles and "public" not in roads.roles
    assert streets.load_table == roads.load_table and streets.loaded_as == "roads"
    assert [f.name for f in streets.fields] == ["name"]  # no condition, no survey date
    assert streets.basemap and streets.search and not roads.search  # one answer per street


def test_a_layer_drawn_from_another_table_than_its_own_stops_the_registry(tmp_path):
    text = LAYERS_FILE.read_text(encoding="utf-8")
    declared = text.replace('drawn_from = "roads"', 'drawn_from = "buildings"')
    assert declared != text
    (tmp_path / "layers.toml").write_text(declared, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="layer streets is drawn from 'buildings'"):
        read_layers(tmp_path / "layers.toml")


@pytest.mark.parametrize(
    ("declared", "replaced", "said"),
    [
        ('capacity = "capacity"', 'capacity = "name"', "no shelters layer with an integer field"),
        ('bridged = "water_bodies"', 'bridged = "streets"', "bridged 'streets' is no layer of"),
        (
            'address_roles = ["civil_protection", "admin"]',
            'address_roles = ["civil_protection", "admin", "mayor_office"]',
            "must see the roads and the shelters",
        ),
    ],
)
def test_a_road_network_that_names_the_wrong_layers_stops_the_registry(
    tmp_path, declared, replaced, said
):
    text = LAYERS_FILE.read_text(encoding="utf-8")
    assert declared in text
    (tmp_path / "layers.toml").write_text(text.replace(declared, replaced), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=said):
        read_layers(tmp_path / "layers.toml")


def test_road_condition_is_coloured_by_its_five_classes():
    classes = all_styles()["road_condition"]["classes"]
    assert [c["value"] for c in classes] == [1, 2, 3, 4, 5]
    assert len({c["color"] for c in classes}) == 5


def test_each_purpose_is_served_by_one_layer():
    for purpose in PURPOSES:
        assert [s.purpose for s in LAYERS.values()].count(purpose) == 1, purpose
        assert layer_for(purpose).purpose == purpose


def test_a_spec_that_contradicts_itself_is_refused_when_it_is_made():
    spec = LAYERS["buildings"]
    with pytest.raises(ValueError, match="names no field 'floors'"):
        replace(spec, hover_fields=("floors",))
    with pytest.raises(ValueError, match="renderer 'raster' not in"):
        replace(spec, renderer="raster")
    with pytest.raises(ValueError, match="says where its readings are"):
        replace(spec, renderer="dense_points")
    with pytest.raises(ValueError, match="names no field 'storeys'"):
        replace(spec, exposure=replace(spec.exposure, group_by="storeys"))
    with pytest.raises(ValueError, match="names no field 'roof'"):
        replace(spec, filters=("use_class", "roof"))
    with pytest.raises(ValueError, match="sums 'address', which is not a number"):
        replace(spec, totals=("occupants", "address"))
    with pytest.raises(ValueError, match="cannot share a section"):
        Exposure(
            "x",
            "x",
            measures=(Measure("n", "count", "n", "n"), Measure("km", "length", "km", "km")),
        )
    with pytest.raises(ValueError, match="length or their area, not both"):
        Exposure(
            "x",
            "x",
            measures=(Measure("km", "length", "km", "km"), Measure("ha", "area", "ha", "ha")),
        )
    with pytest.raises(ValueError, match="measures or a list"):
        Exposure("x", "x")


def test_every_exposed_layer_measures_what_its_geometry_allows():
    for spec in exposed_layers():
        for measure in spec.exposure.measures:
            if measure.kind == "length":
                assert spec.geometry == Geometry.LINE, spec.id
            if measure.kind == "area":
                assert spec.geometry == Geometry.POLYGON, spec.id


def test_a_style_carries_what_its_layers_geometry_is_drawn_with():
    assert [p for spec in LAYERS.values() for p in style_problems(spec)] == []
    points = replace(LAYERS["wifi_hotspots"], style_key="water_mains")  # a line's style
    assert style_problems(points) == [
        "wifi_hotspots: style 'water_mains' draws a Point without marker, size"
    ]
