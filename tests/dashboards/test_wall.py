"""The wall's page on the hand-made flood: tiles from the catalogue, grey when stale."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from dashboards.wall import WallPage
from data.profiles import load_profile
from layers.registry import LAYERS
from layers.settings import LJUBLJANA
from layers.store import FeatureStore
from styles import legend_entries
from tests.conftest import catalogue_row

NOW = dt.datetime.now(dt.UTC)


def test_tiles_show_the_values_and_turn_grey_with_their_age_when_stale(city):
    with city.writer.begin() as conn:
        conn.execute(text("DELETE FROM dataset_load WHERE layer = 'roads'"))
        catalogue_row(conn, "roads", NOW - dt.timedelta(days=400))
    wall = WallPage(FeatureStore(city.reader), load_profile("ptuj"))
    page = wall.tiles.object
    assert "data-indicator='poor_roads_share'" in page and "60,0" in page
    roads = page.split("data-indicator='poor_roads_share'")[0].rsplit("<div class='tile", 1)[1]
    assert roads.startswith(" stale'")
    assert "pred 400 dnevi · 400 days old" in page
    natura = page.split("data-indicator='natura2000_share'")[0].rsplit("<div class='tile", 1)[1]
    assert not natura.startswith(" stale")
    assert wall.banner.visible is False


def test_a_tile_shows_only_when_its_layers_hold_data(city):
    with city.writer.begin() as conn:
        conn.execute(text("DELETE FROM dataset_load WHERE layer = 'flood_hazard'"))
    wall = WallPage(FeatureStore(city.reader), load_profile("ptuj"))
    assert "flood_buildings_share" not in wall.tiles.object
    assert "natura2000_share" in wall.tiles.object


def test_the_clock_and_the_data_times_are_ljubljanas_and_each_view_has_its_legend(city):
    """The server's clock may run in UTC (CI's does); the wall shows Ptuj's time."""
    with city.writer.begin() as conn:
        conn.execute(text("DELETE FROM dataset_load WHERE layer = 'roads'"))
        catalogue_row(conn, "roads", dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC))
    wall = WallPage(FeatureStore(city.reader), load_profile("ptuj"))
    local = dt.datetime.now(dt.UTC).astimezone(LJUBLJANA)
    clock = wall.head.object.split("<div class='clock'>")[1].split("<")[0]
    assert clock in {
        f"{local:%d. %m. %Y %H:%M}",
        f"{local + dt.timedelta(minutes=1):%d. %m. %Y %H:%M}",
    }
    roads = wall.tiles.object.split("data-indicator='poor_roads_share'")[1].split("</div></div>")[0]
    assert "02. 07. 2026" in roads  # half past midnight in Ptuj, the 1st in UTC
    legends = {}
    for index, view in enumerate(wall.views):
        wall.view_index = index
        wall.show_view()
        legends[view["title_en"]] = wall.view_title.object.count("legend-row")
    roads_legend = legends["Road condition"]
    assert roads_legend == len(legend_entries(LAYERS["roads"].style_key, "LineString"))
    assert all(legends.values()), legends
