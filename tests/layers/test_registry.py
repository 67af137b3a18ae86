"""The registry: every spec complete, styled, and consistent with itself."""

from __future__ import annotations

import pytest

from layers.registry import LAYERS, ROLES, visible_to
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
    assert legend_entries(spec.style_key)
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


def test_road_condition_is_coloured_by_its_five_classes():
    classes = all_styles()["road_condition"]["classes"]
    assert [c["value"] for c in classes] == [1, 2, 3, 4, 5]
    assert len({c["color"] for c in classes}) == 5
