"""Role by layer: each role's queries and pages hold exactly the layers its specs allow."""

from __future__ import annotations

import pytest

from dashboards.planner import PlannerDashboard, municipality_extent
from data.profiles import load_profile
from layers.errors import LayerAccessError
from layers.queries import Viewport, feature_at, fetch_features
from layers.registry import LAYERS, visible_to
from layers.roles import ROLES
from layers.store import FeatureStore


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_exactly_the_layers_its_specs_allow(sample_database, role):
    viewport = Viewport(*municipality_extent(sample_database.reader), 800)
    for spec in LAYERS.values():
        part = "Q100" if spec.partition_column else None
        if role in spec.roles:
            assert len(fetch_features(sample_database.reader, spec, viewport, role, part)), spec.id
        else:
            with pytest.raises(LayerAccessError):
                fetch_features(sample_database.reader, spec, viewport, role, part)
            with pytest.raises(LayerAccessError):
                feature_at(sample_database.reader, spec, 1766000, 5847000, 50, role, part)


@pytest.mark.parametrize("role", ROLES)
def test_a_roles_map_page_holds_only_its_layers(sample_database, role):
    page = PlannerDashboard(FeatureStore(sample_database.reader), load_profile("ptuj"), role)
    assert set(page.map.renderers) == {s.id for s in visible_to(role)}
    for name, renderer in page.map.renderers.items():
        assert role in LAYERS[name].roles and renderer.name == name


def test_the_public_sees_only_the_open_layers():
    open_layers = {s.id for s in visible_to("public")}
    assert open_layers == {
        "districts",
        "water_bodies",
        "municipality",
        "natura2000",
        "settlements",
        "streets",
        "wifi_hotspots",
        "heritage",
    }
