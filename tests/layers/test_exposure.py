"""The exposure report on a flood where every answer is known (see tests/flood_fixture.py)."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from layers.errors import LayerAccessError
from layers.exposure import exposure_report
from tests.flood_fixture import WEST_DISTRICT


def by_class(rows: list[dict], measure: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for row in rows:
        totals[row["hazard_class"]] = totals.get(row["hazard_class"], 0) + row[measure]
    return {k: round(v, 6) for k, v in totals.items()}


def test_the_whole_municipality_gives_exactly_the_expected_counts(flood_database):
    report = exposure_report(flood_database.reader, "Q100", "civil_protection")
    assert report.classes() == ["velika", "srednja", "majhna"]
    assert by_class(report.rows("zone_area"), "hectares") == {
        "velika": 1.0,
        "srednja": 1.0,
        "majhna": 1.0,
    }
    # the building across the velika/majhna edge counts once, in velika
    assert by_class(report.rows("buildings"), "buildings") == {
        "velika": 2,
        "srednja": 1,
        "majhna": 1,
    }
    assert by_class(report.rows("buildings"), "residents") == {
        "velika": 29,
        "srednja": 137,
        "majhna": 41,
    }
    assert {(r["hazard_class"], r["use_class"]) for r in report.rows("buildings")} == {
        ("velika", "javna"),
        ("velika", "poslovna"),
        ("srednja", "večstanovanjska"),
        ("majhna", "enostanovanjska"),
    }
    roads = {(r["hazard_class"], r["category"]): round(r["km"], 6) for r in report.rows("roads")}
    assert roads == {
        ("velika", "glavna cesta"): 0.1,
        ("srednja", "lokalna cesta"): 0.1,
        ("majhna", "glavna cesta"): 0.1,
        ("majhna", "lokalna cesta"): 0.1,
    }
    assert by_class(report.rows("water_mains"), "km") == {"velika": 0.1}
    assert [(r["location_name"], r["hazard_class"]) for r in report.rows("wifi_hotspots")] == [
        ("Trg", "srednja")
    ]
    assert [(r["name"], r["kind"], r["hazard_class"]) for r in report.rows("critical_sites")] == [
        ("OŠ Globoka", "šola", "velika"),
        ("Vrtec Plitvi", "vrtec", "majhna"),
    ]
    heritage = {(r["hazard_class"], r["importance"]): r["units"] for r in report.rows("heritage")}
    assert heritage == {
        ("velika", "državni"): 1,
        ("srednja", "lokalni"): 1,
        ("majhna", "dediščina"): 1,
    }


def test_an_area_limits_every_section_to_it(flood_database):
    west = shapely.from_wkt(WEST_DISTRICT)
    report = exposure_report(flood_database.reader, "Q100", "civil_protection", west, "Zahod")
    assert report.classes() == ["velika", "majhna"]
    assert by_class(report.rows("buildings"), "buildings") == {"velika": 2, "majhna": 1}
    assert report.total("buildings", "residents") == 70
    roads = {(r["hazard_class"], r["category"]): round(r["km"], 6) for r in report.rows("roads")}
    assert roads == {
        ("velika", "glavna cesta"): 0.1,
        ("majhna", "glavna cesta"): 0.1,
        ("majhna", "lokalna cesta"): 0.1,
    }
    assert report.rows("wifi_hotspots") == []
    assert report.area_name == "Zahod"


def test_another_scenario_gives_its_own_answer(flood_database):
    report = exposure_report(flood_database.reader, "Q10", "civil_protection")
    assert report.classes() == ["srednja", "majhna"]  # 0.7 m and 0.3 m; the 0.0 m cell is dry
    assert by_class(report.rows("buildings"), "buildings") == {"srednja": 2, "majhna": 1}
    assert by_class(report.rows("buildings"), "residents") == {"srednja": 29, "majhna": 137}


def test_sections_follow_the_roles_that_may_see_their_layers(flood_database):
    mayor = exposure_report(flood_database.reader, "Q100", "mayor_office")
    assert mayor.sections["water_mains"] is None and mayor.sections["critical_sites"] is None
    assert mayor.total("buildings", "buildings") == 4
    with pytest.raises(LayerAccessError):
        exposure_report(flood_database.reader, "Q100", "public")


@pytest.mark.parametrize(
    "scenario", ["Q100'; DROP TABLE building; --", 'Q100" OR 1=1', "Ž" * 5000, "Q1\x00"]
)
def test_a_hostile_scenario_name_finds_nothing_and_breaks_nothing(flood_database, scenario):
    try:
        report = exposure_report(flood_database.reader, scenario, "civil_protection")
        assert report.classes() == [] and report.rows("buildings") == []
    except Exception as exc:  # a NUL byte is refused by the driver, before any SQL runs
        assert "NUL" in str(exc)
    with flood_database.writer.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM building")) == 6


def depths(report) -> dict[str, float | None]:
    frame = report.addresses
    pairs = zip(frame["address"], frame["depth_m"], strict=True)
    return {a: None if pd.isna(d) else round(d, 3) for a, d in pairs}


def test_the_water_depth_at_each_building_and_site_is_the_rasters(flood_database):
    with flood_database.writer.begin() as conn:  # its point on the shallow cell, its edge deep
        conn.execute(
            text(
                "INSERT INTO building (address, use_class, occupants, geom) VALUES ('Rob 7',"
                " 'enostanovanjska', 3, ST_Multi(ST_MakeEnvelope(566020, 142098, 566030, 142130, 3794)))"
            )
        )
    report = exposure_report(flood_database.reader, "Q100", "civil_protection")
    assert depths(report) == {
        "Globoka 3": 2.0,
        "Meja 4": 2.0,
        "Rob 7": 2.0,  # counted as velika, so the depth of its velika part
        "Srednja 2": 1.0,
        "Plitva 1": 0.2,
    }
    sites = {r["name"]: round(r["depth_m"], 3) for r in report.rows("critical_sites")}
    assert sites == {"OŠ Globoka": 2.0, "Vrtec Plitvi": 0.2}
    shallower = exposure_report(flood_database.reader, "Q10", "civil_protection")
    assert depths(shallower)["Globoka 3"] < 2.0  # each scenario its own depths


def test_a_flood_loaded_before_its_depths_were_kept_gives_its_bands(flood_database):
    with flood_database.writer.begin() as conn:
        conn.execute(text("DELETE FROM flood_depth"))
    report = exposure_report(flood_database.reader, "Q100", "civil_protection")
    assert set(depths(report).values()) == {None}
    assert [r["depth_m"] for r in report.rows("critical_sites")] == [None, None]
