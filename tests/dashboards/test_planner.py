"""The planner's dashboard driven through its widgets, as a user would, on the real Ptuj sample."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer
from sqlalchemy import text

from dashboards.footprints import IMAGE_ABOVE
from dashboards.planner import PlannerDashboard
from dashboards.vector import read_overviews
from data.profiles import load_profile
from layers.queries import Viewport
from layers.registry import layer
from layers.store import FeatureStore

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True).transform
SQUARE_IN_PTUJ = (567_200, 144_800)  # a built-up place in the sample (D96/TM)


@pytest.fixture
def planner(sample_database):
    return PlannerDashboard(FeatureStore(sample_database.reader), load_profile("ptuj"))


def test_it_opens_on_the_whole_municipality_with_every_visible_layer_drawn(
    planner, sample_database
):
    layer_map = planner.map
    # twelve thousand buildings in view: one image of their classes, no coordinates
    buildings = layer_map.layers["buildings"]
    assert len(buildings.renderer.data_source.data["xs"]) == 0
    drawn = buildings.image.source.data["image"][0]
    assert drawn.dtype == np.uint8 and 5_000 < np.count_nonzero(drawn) < drawn.size / 10
    assert set(np.unique(drawn)) <= set(range(8))  # none, the six classes, the others
    roads = layer_map.renderers["roads"].data_source.data
    assert len(roads["xs"]) == sample_database.count("road_segment")
    assert len(layer_map.renderers["wifi_hotspots"].data_source.data["x"]) == 13
    assert len(layer_map.renderers["water_mains"].data_source.data["xs"]) == 0  # off by default
    assert layer_map.renderers["water_mains"].visible is False


def test_zoomed_in_the_buildings_are_vectors_again(planner, sample_database):
    layer_map = planner.map
    x, y = TO_MERCATOR(*SQUARE_IN_PTUJ)
    layer_map.viewport = Viewport(x - 300, y - 200, x + 300, y + 200, 1200)
    layer_map.refresh()
    buildings = layer_map.layers["buildings"]
    with sample_database.reader.connect() as conn:
        in_view = conn.execute(
            text(
                "SELECT count(*) FROM building WHERE geom && ST_Transform("
                "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), 3794)"
            ),
            {"x0": x - 300, "y0": y - 200, "x1": x + 300, "y1": y + 200},
        ).scalar()
    assert 0 < in_view <= IMAGE_ABOVE
    assert len(buildings.renderer.data_source.data["xs"]) >= in_view
    assert buildings.image.source.data["image"] == []


def test_a_resting_pointer_finds_the_building_under_it_only_where_they_are_an_image(planner):
    """Drawn as an image, the buildings answer a resting pointer with the building there, alone
    in their glyph for its hover; drawn as vectors, they hold their own hover and ask nothing,
    and an answer that comes after they were drawn as vectors is dropped."""
    layer_map = planner.map
    buildings = layer_map.layers["buildings"]
    house = next(
        g
        for g in planner.store.features(layer("buildings"), layer_map.viewport, "planner").geometry
        if g.area > 500
    )
    inside = house.representative_point()
    assert buildings.imaged
    found = buildings.prepare_pointer(inside.x, inside.y, layer_map.viewport)
    found()
    drawn = buildings.renderer.data_source.data
    assert len(drawn["xs"]) == 1 and drawn["address"][0]
    assert layer_map.layers["roads"].prepare_pointer(inside.x, inside.y, layer_map.viewport) is None
    late = buildings.prepare_pointer(inside.x, inside.y, layer_map.viewport)
    x, y = TO_MERCATOR(*SQUARE_IN_PTUJ)
    layer_map.viewport = Viewport(x - 300, y - 200, x + 300, y + 200, 1200)
    layer_map.refresh()  # vectors now: the late answer must not replace them
    vectors = len(buildings.renderer.data_source.data["xs"])
    late()
    assert not buildings.imaged and len(buildings.renderer.data_source.data["xs"]) == vectors > 1
    assert buildings.prepare_pointer(x, y, layer_map.viewport) is None


def test_a_view_holding_more_than_a_view_reads_is_drawn_whole_from_the_overview(
    sample_database, monkeypatch
):
    """Past ``MAX_FEATURES`` (here 5,000 of the 12,556 buildings in view) the buildings are
    drawn from their overview, a dot each, all of them, and the card says so; with a filter the
    read stops at ``MAX_FEATURES`` and the card says that not all are drawn; zoomed in, it says
    nothing."""
    for module in ("layers.queries", "layers.overview", "dashboards.vector"):
        monkeypatch.setattr(f"{module}.MAX_FEATURES", 5_000)
    layer_map = PlannerDashboard(FeatureStore(sample_database.reader), load_profile("ptuj")).map
    buildings = layer_map.layers["buildings"]
    dots = buildings.image.source.data["image"][0]
    assert "vsak kot točka" in buildings.notice.object and "each a dot" in buildings.notice.object
    assert 5_000 < np.count_nonzero(dots) <= sample_database.count("building")
    assert buildings.renderer.data_source.data["xs"] == []
    assert layer_map.layers["roads"].notice.object == ""  # 1,298 roads: all drawn
    buildings_filter = layer_map.filters["buildings"]
    buildings_filter.follow_link("use_class:enostanovanjska")
    layer_map.refresh()
    notice = buildings.notice.object
    assert "več kot 5 000 objektov" in notice and "More than 5,000 features" in notice
    x, y = TO_MERCATOR(*SQUARE_IN_PTUJ)
    layer_map.viewport = Viewport(x - 300, y - 200, x + 300, y + 200, 1200)
    layer_map.refresh()
    assert buildings.notice.object == ""


def test_the_big_layers_overviews_are_read_when_the_server_starts(sample_database, monkeypatch):
    monkeypatch.setattr("layers.overview.MAX_FEATURES", 5_000)
    store = FeatureStore(sample_database.reader)
    read_overviews(store).join()
    monkeypatch.setattr("layers.overview.read_overview", lambda *_: pytest.fail("read again"))
    overview = store.overview(layer("buildings"), "planner", "use_class")
    assert len(overview.x) == sample_database.count("building")
    assert store.overview(layer("roads"), "planner", "condition") is None  # 1,298: no view too big


def test_toggling_a_layer_fetches_or_drops_its_rows(planner, sample_database):
    layer_map = planner.map
    layer_map.toggles["water_mains"].value = True
    assert len(layer_map.renderers["water_mains"].data_source.data["xs"]) == sample_database.count(
        "water_main"
    )
    assert layer_map.renderers["water_mains"].visible
    layer_map.toggles["buildings"].value = False
    assert len(layer_map.renderers["buildings"].data_source.data["xs"]) == 0
    assert layer_map.layers["buildings"].image.source.data["image"] == []
    assert layer_map.renderers["buildings"].visible is False


def test_opacity_scales_outline_and_the_styles_own_fill(planner):
    layer_map = planner.map
    layer_map.opacity["natura2000"].value = 0.5
    glyph = layer_map.renderers["natura2000"].glyph
    assert glyph.line_alpha == 0.5 and glyph.fill_alpha == pytest.approx(0.5 * 0.22)


def test_a_click_shows_every_attribute_and_where_the_data_came_from(planner, sample_database):
    with sample_database.reader.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM wifi_hotspot WHERE location_name = 'Vrazov trg'"
            )
        ).one()
    planner.map.select_at(*TO_MERCATOR(x + 3, y - 2))
    shown = planner.map.details_pane.object
    assert "Vrazov trg" in shown and "Lokacija" in shown and "Location" in shown
    assert "wifi_tocke.geojson" in shown and "synthetic data" in shown


def test_a_click_on_nothing_clears_the_details(planner):
    planner.map.select_at(*TO_MERCATOR(600_000, 100_000))
    assert "Click a feature" in planner.map.details_pane.object


def test_the_public_map_holds_no_restricted_layer(sample_database):
    public = PlannerDashboard(
        FeatureStore(sample_database.reader), load_profile("ptuj"), role="public"
    )
    assert "water_mains" not in public.map.renderers and "buildings" not in public.map.renderers
    assert "natura2000" in public.map.renderers


def test_each_layer_card_says_where_its_data_came_from(planner):
    cards = {card.css_classes[-1]: card for card in planner.map.layer_list()}

    def about(card) -> str:
        return next(o.object for o in card if "class='about'" in str(getattr(o, "object", "")))

    assert "stavbe.shp" in about(cards["layer-buildings"])
    assert "synthetic sample" in about(cards["layer-buildings"])
    assert "11028039-ptuj.geojson · CC BY 4.0" in about(cards["layer-municipality"])
