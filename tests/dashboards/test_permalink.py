"""A link's query string: what the map shows, written and read back."""

from __future__ import annotations

from urllib.parse import parse_qsl

from dashboards.permalink import link_of
from dashboards.planner import PlannerDashboard
from data.profiles import load_profile
from layers.store import FeatureStore


def test_a_link_written_by_one_map_is_read_whole_by_another(sample_database):
    store = FeatureStore(sample_database.reader)
    sender = PlannerDashboard(store, load_profile("ptuj"))
    sender.map.toggles["roads"].value = False
    sender.map.toggles["sensor_readings"].value = True
    sender.map.opacity["buildings"].value = 0.35
    sender.map.partitions["flood_hazard"].value = "Q100"
    dense = sender.map.layers["sensor_readings"]
    dense.kind.value, dense.window.value = "no2", "Zadnji teden · Last week"
    arguments = dict(parse_qsl(link_of(sender.map).lstrip("?")))
    assert arguments["opacity"] == "buildings:0.35"
    assert arguments["sensor_readings.kind"] == "no2"
    assert arguments["sensor_readings.window"] == "week"

    receiver = PlannerDashboard(store, load_profile("ptuj"))
    assert receiver.link.follow(arguments) == []
    shown = {i for i, toggle in receiver.map.toggles.items() if toggle.value}
    assert shown == {i for i, toggle in sender.map.toggles.items() if toggle.value}
    assert receiver.map.opacity["buildings"].value == 0.35
    assert receiver.map.partitions["flood_hazard"].value == "Q100"
    assert receiver.map.layers["sensor_readings"].kind.value == "no2"
    assert link_of(receiver.map).split("&", 3)[3] == link_of(sender.map).split("&", 3)[3]


def test_what_a_role_may_not_see_is_ignored_and_named(sample_database):
    public = PlannerDashboard(FeatureStore(sample_database.reader), load_profile("ptuj"), "public")
    arguments = {"layers": "buildings,heritage", "opacity": "water_mains:0.5"}
    ignored = public.link.follow(arguments)
    assert ignored == ["buildings", "opacity:water_mains"]
    assert public.map.toggles["heritage"].value and "buildings" not in public.map.toggles


def test_a_filter_travels_in_the_link_and_filters_the_receiving_map(sample_database):
    store = FeatureStore(sample_database.reader)
    sender = PlannerDashboard(store, load_profile("ptuj"))
    roads = sender.map.filters["roads"]
    roads.follow_link("condition:4..5")  # as a person would set the slider
    category = next(w for c, w in roads.widgets if c.field.name == "category")
    category.value = category.options[:2]
    arguments = dict(parse_qsl(link_of(sender.map).lstrip("?")))
    said = arguments["filter.roads"].split(";")
    assert said[0].startswith("category:") and said[1] == "condition:4..5"

    receiver = PlannerDashboard(store, load_profile("ptuj"))
    assert receiver.link.follow(arguments) == []
    conditions = {c.field: c for c in receiver.map.filters["roads"].current.conditions}
    assert (conditions["condition"].low, conditions["condition"].high) == (4, 5)
    assert conditions["category"].values == frozenset(category.options[:2])
    drawn = receiver.map.layers["roads"].renderer.data_source.data
    assert drawn["condition"] and set(drawn["condition"]) <= {4, 5}
    assert set(drawn["category"]) <= set(category.options[:2])

    ignored = receiver.link.follow({"filter.roads": "condition:9..x;colour:red", "filter.nil": ""})
    assert ignored == ["roads:condition", "roads:colour", "filter.nil"]
