"""The wall's page on the hand-made flood: tiles from the catalogue, grey when stale, times in
Ljubljana's, a legend per view; and the open alerts on the wall and in the planner."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from pyproj import Transformer
from sqlalchemy import text

from dashboards.planner import PlannerDashboard
from dashboards.wall import WallPage
from data.profiles import load_profile
from layers.alerts import alert_rules
from layers.registry import LAYERS
from layers.settings import LJUBLJANA
from layers.store import FeatureStore
from styles import legend_entries
from tests.conftest import catalogue_row
from tests.dashboards.bokeh_client import on_a_thread

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


def test_a_view_or_tile_without_data_is_left_out_and_the_log_says_why(city, caplog):
    """The hand-made city has no sensor readings and no Q500: their view is not drawn empty."""
    with city.writer.begin() as conn:
        conn.execute(text("DELETE FROM flood_zone WHERE scenario = 'Q100'"))
    with caplog.at_level("INFO", logger="dashboards.wall"):
        wall = WallPage(FeatureStore(city.reader), load_profile("ptuj"))
    assert [v["title_en"] for v in wall.views] == ["Road condition", "Natura 2000 sites"]
    said = caplog.text
    assert "'Sensor readings: PM10, last day' left out: sensor_readings holds no data" in said
    assert "'Flood hazard, 100-year flood' left out: flood_hazard holds no data" in said
    assert "tiles left out" in said and "pm10_exceedance_days" in said


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


def test_an_open_alert_is_a_banner_and_a_ring_at_its_place(city):
    with city.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert (rule, subject, value, geom, raised_at) VALUES"
                " ('pm10_daily_mean', 'ZRAK-07-PM10', 61, ST_SetSRID(ST_Point(566100, 142200), 3794),"
                "  '2026-12-02 16:05+00'),"
                " ('sensor_silent', 'PARK-01-02', 600, ST_SetSRID(ST_Point(566000, 142000), 3794),"
                "  now()),"
                " ('sensor_silent', 'PARK-01-03', 900, ST_SetSRID(ST_Point(566000, 142100), 3794),"
                "  now() - interval '1 day')"
            )
        )
        conn.execute(text("UPDATE alert SET cleared_at = now() WHERE subject = 'PARK-01-03'"))
    wall = WallPage(FeatureStore(city.reader), load_profile("ptuj"))
    banner = wall.alert_banner.object
    assert wall.alert_banner.visible
    assert (
        html.escape(alert_rules()["pm10_daily_mean"].title) in banner and "ZRAK-07-PM10" in banner
    )
    assert "(od · since 17:05)" in banner  # Ljubljana's time
    assert "PARK-01-02" in banner and "PARK-01-03" not in banner  # a cleared one is gone
    x, y = Transformer.from_crs(3794, 3857, always_xy=True).transform(566100, 142200)
    marks = wall.marks.source.data
    assert len(marks["x"]) == 2 and (x, y) == pytest.approx((marks["x"][1], marks["y"][1]))


def test_without_alerts_there_is_no_banner(city):
    wall = WallPage(FeatureStore(city.reader), load_profile("ptuj"))
    assert not wall.alert_banner.visible and len(wall.marks.source.data["x"]) == 0


def test_the_planner_lists_the_open_alerts_and_a_click_zooms_to_one(city):
    with city.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert (rule, subject, value, geom) VALUES ('containers_full',"
                " 'Četrt Center', 6, ST_SetSRID(ST_Point(566100, 142200), 3794))"
            )
        )
    planner = PlannerDashboard(FeatureStore(city.reader), load_profile("ptuj"))
    assert planner.alerts.card.title == "Opozorila · Alerts (1)"
    (button,) = planner.alerts.items.objects
    assert button.label.startswith("Četrt Center · ")
    button.clicks += 1
    xmin, xmax, ymin, ymax = planner.map.zoom_request.data["box"]
    x, y = Transformer.from_crs(3794, 3857, always_xy=True).transform(566100, 142200)
    assert xmin < x < xmax and ymin < y < ymax
    public = PlannerDashboard(FeatureStore(city.reader), load_profile("ptuj"), role="public")
    assert public.alerts is None  # the alerts concern the staff's sensors


def test_the_alert_list_changes_only_when_the_alerts_do(city):
    planner = PlannerDashboard(FeatureStore(city.reader), load_profile("ptuj"))
    shown = planner.alerts.items.objects
    on_a_thread(planner.alerts.refresh())
    assert planner.alerts.items.objects is shown  # nothing new: nothing rebuilt, nothing sent
    with city.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert (rule, subject, value, geom) VALUES ('containers_full',"
                " 'Četrt Center', 6, ST_SetSRID(ST_Point(566100, 142200), 3794))"
            )
        )
    on_a_thread(planner.alerts.refresh())
    assert planner.alerts.card.title == "Opozorila · Alerts (1)"
    assert [b.label.split(" · ")[0] for b in planner.alerts.items.objects] == ["Četrt Center"]
