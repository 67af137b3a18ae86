"""/civil-protection driven through its controls on the hand-made flood; its PDF and CSV read."""

from __future__ import annotations

import csv
import functools
import io

import pypdf
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text

from dashboards.civil_protection import DRAWN, WHOLE, CivilProtectionDashboard
from data.profiles import load_profile
from layers.audit import record_action
from layers.sessions import open_session
from layers.store import FeatureStore
from tests.flood_fixture import WEST_DISTRICT

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True)


@pytest.fixture
def dashboard(flood_database):
    # as the server records an export: under the identity of the page's session on the server
    token = open_session(flood_database.reader, "civil", "civil_protection", "person", 1, "::1")
    audit = functools.partial(record_action, flood_database.reader, token)
    return CivilProtectionDashboard(
        FeatureStore(flood_database.reader), load_profile("ptuj"), audit=audit
    )


def summary(dashboard) -> dict[str, list[str]]:
    """The summary table as ``{measure (Slovenian): [per class..., total]}``."""
    from dashboards.exposure_tables import summary_table

    return {row[0].split(" · ")[0]: row[1:] for row in summary_table(dashboard.report).rows}


def test_it_opens_on_the_design_flood_over_the_whole_municipality(dashboard):
    assert dashboard.scenario.options == ["Q10", "Q100"]
    assert dashboard.scenario.value == "Q100"
    assert summary(dashboard)["Stavbe"] == ["2", "1", "1", "4"]
    assert summary(dashboard)["Prebivalci"] == ["29", "137", "41", "207"]
    assert "OŠ Globoka" in dashboard.report_pane.object
    zones = dashboard.map.renderers["flood_hazard"].data_source.data
    assert sorted(set(zones["hazard_class"])) == ["majhna", "srednja", "velika"]


def test_changing_the_scenario_changes_the_map_and_the_report(dashboard):
    dashboard.scenario.value = "Q10"
    dashboard.refresh_report()  # the page does this off the event loop
    zones = dashboard.map.renderers["flood_hazard"].data_source.data
    assert sorted(set(zones["hazard_class"])) == ["majhna", "srednja"]
    assert dashboard.report.scenario == "Q10"
    assert summary(dashboard)["Stavbe"] == ["2", "1", "3"]


def test_a_district_limits_the_report(dashboard):
    dashboard.area_choice.value = "Zahod"
    assert dashboard.report.area_name == "Zahod"
    assert summary(dashboard)["Stavbe"] == ["2", "1", "3"]
    dashboard.area_choice.value = WHOLE
    assert summary(dashboard)["Stavbe"][-1] == "4"


def test_a_drawn_area_limits_the_report_and_clearing_lifts_it(dashboard):
    west = shapely.from_wkt(WEST_DISTRICT)
    xs, ys = TO_MERCATOR.transform(*west.exterior.xy)
    dashboard.drawn.data = {"xs": [list(xs)], "ys": [list(ys)]}
    dashboard.apply_drawn()
    assert dashboard.report.area_name == DRAWN
    assert summary(dashboard)["Prebivalci"][-1] == "70"
    dashboard.clear_area()
    assert dashboard.drawn.data["xs"] == []
    assert summary(dashboard)["Prebivalci"][-1] == "207"


def test_using_a_drawn_area_before_drawing_one_says_so(dashboard):
    dashboard.apply_drawn()
    assert "Draw an area first" in dashboard.report_pane.object
    assert dashboard.report.area_name == WHOLE


def test_the_pdf_holds_the_scenario_the_counts_the_sites_and_the_sources(dashboard):
    pdf = dashboard.pdf_bytes()
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    words = " ".join(page.extract_text() for page in reader.pages)
    assert "scenarij Q100" in words
    assert "207" in words and "137" in words  # residents: all, and in srednja
    assert "OŠ Globoka" in words and "Vrtec Plitvi" in words
    assert "q100.tif" in words and "ARSO (fixture)" in words  # the catalogue's source
    assert f"{dashboard.report.made_at:%Y-%m-%d %H:%M}" in words
    assert any(page.images for page in reader.pages), "the map is in the PDF"


def test_the_csv_adds_up_to_the_report_and_is_audited(dashboard, flood_database):
    _name, content = dashboard.csv_file("en")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    with flood_database.writer.connect() as conn:
        audited = conn.scalars(text("SELECT detail FROM audit_event WHERE action = 'export_csv'"))
        assert list(audited) == ["Q100; Vsa občina · Whole municipality; en"]
    residents = sum(
        int(r["value"]) for r in rows if r["section"] == "buildings" and r["measure"] == "residents"
    )
    assert residents == 207
    assert {r["scenario"] for r in rows} == {"Q100"}
    sites = {r["item"]: r["hazard_class"] for r in rows if r["section"] == "critical_sites"}
    assert sites == {"OŠ Globoka": "velika", "Vrtec Plitvi": "majhna"}


def test_the_slovenian_csv_parts_fields_on_semicolons_with_decimal_commas(dashboard):
    international = dashboard.csv_file("en")[1].decode("utf-8-sig")
    name, content = dashboard.csv_file("sl")
    slovenian = content.decode("utf-8-sig")
    assert name == "poplave_Q100_sl.csv"
    rows = list(csv.DictReader(io.StringIO(slovenian), delimiter=";"))
    same = list(csv.DictReader(io.StringIO(international)))
    assert [r["item"] for r in rows] == [r["item"] for r in same]
    assert [r["value"] for r in rows] == [r["value"].replace(".", ",") for r in same]
    lengths = {r["value"] for r in rows if r["measure"] == "km"}
    assert lengths == {"0,1"}  # every 100 m piece of road and main, with a decimal comma
    residents = sum(int(r["value"]) for r in rows if r["measure"] == "residents")
    assert residents == 207
