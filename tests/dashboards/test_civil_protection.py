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
from layers.exposure import exposure_report
from layers.sessions import open_session
from layers.store import FeatureStore
from tests.dashboards.test_exports import ogrinfo
from tests.flood_fixture import WEST_DISTRICT

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True)


def civil_protection_page(database) -> CivilProtectionDashboard:
    # as the server records an export: under the identity of the page's session on the server
    token = open_session(database.reader, "civil", "civil_protection", "person", 1, "::1")
    audit = functools.partial(record_action, database.reader, token)
    return CivilProtectionDashboard(
        FeatureStore(database.reader), load_profile("ptuj"), audit=audit
    )


@pytest.fixture
def dashboard(flood_database):
    return civil_protection_page(flood_database)


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
    assert "Globina vode" in words and "2,00 m" in words  # at the sites and the buildings
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
    depths = {
        r["item"]: (r["value"], r["unit"])
        for r in rows
        if r["section"] == "critical_sites" and r["measure"] == "depth"
    }
    assert depths == {"OŠ Globoka": ("2", "m"), "Vrtec Plitvi": ("0.2", "m")}


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
    for section in ("buildings", "by_district"):  # by use, and by district: the same people
        residents = [r for r in rows if r["section"] == section and r["measure"] == "residents"]
        assert sum(int(r["value"]) for r in residents) == 207, section


def test_the_exposed_addresses_are_listed_with_their_class_depth_and_district(dashboard):
    listed = dashboard.addresses.table.value
    assert [tuple(r) for r in listed[["address", "hazard_class", "depth", "district"]].values] == [
        ("Globoka 3", "Velika · High", "2,00 m", "Zahod"),
        ("Meja 4", "Velika · High", "2,00 m", "Zahod"),  # on the edge: the depth of its class
        ("Srednja 2", "Srednja · Medium", "1,00 m", "—"),
        ("Plitva 1", "Majhna · Low", "0,20 m", "Zahod"),
    ]  # most severe first; Suha 5 stays dry, Daleč 6 is off the flood's map
    assert "<b>4</b> naslovov" in dashboard.addresses.summary.object
    assert "<b>207</b>" in dashboard.addresses.summary.object
    dashboard.area_choice.value = "Zahod"
    assert list(dashboard.addresses.table.value["address"]) == ["Globoka 3", "Meja 4", "Plitva 1"]


def test_the_report_sums_the_addresses_per_district(dashboard):
    assert "Po četrtnih skupnostih" in dashboard.report_pane.object
    by_district = dashboard.report.by_district()
    assert by_district.values.tolist() == [
        ["Zahod", "velika", 2, 29],
        ["Zahod", "majhna", 1, 41],
        ["—", "srednja", 1, 137],
    ]


def test_a_row_zooms_the_map_to_its_building_and_shows_it(dashboard):
    row = list(dashboard.addresses.table.value["address"]).index("Srednja 2")
    dashboard.addresses._row_clicked(type("Click", (), {"row": row})())
    xmin, xmax, ymin, ymax = dashboard.map.zoom_request.data["box"]
    x, y = TO_MERCATOR.transform(566150, 142150)  # the middle of Srednja 2
    assert xmin < x < xmax and ymin < y < ymax and xmax - xmin < 2000
    assert dashboard.map.details["attributes"]["address"] == "Srednja 2"
    marked = dashboard.addresses.mark.lines.data["xs"][0]
    assert min(marked) > xmin and max(marked) < xmax  # the building, marked
    assert dashboard.map.toggles["buildings"].value


def test_a_chosen_district_is_outlined_and_zoomed_to(dashboard):
    dashboard.area_choice.value = "Zahod"
    outlined = dashboard.district_outline.lines.data
    west = shapely.from_wkt(WEST_DISTRICT)
    xs, ys = TO_MERCATOR.transform(*west.exterior.xy)
    assert min(outlined["xs"][0]) == pytest.approx(min(xs)) and max(
        outlined["ys"][0]
    ) == pytest.approx(max(ys))
    xmin, xmax, ymin, ymax = dashboard.map.zoom_request.data["box"]
    assert xmin <= min(xs) and max(xs) <= xmax and ymin <= min(ys) and max(ys) <= ymax
    dashboard.area_choice.value = WHOLE
    assert dashboard.district_outline.lines.data["xs"] == []


def test_the_addresses_export_in_both_conventions_and_as_geopackage_audited(
    dashboard, flood_database, tmp_path
):
    name, content = dashboard.addresses.exported_file("csv_sl")
    assert name == "naslovi_Q100_sl.csv"
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert [r["address"] for r in rows] == ["Globoka 3", "Meja 4", "Srednja 2", "Plitva 1"]
    assert sum(int(r["occupants"]) for r in rows) == 207
    assert rows[2]["depth_from_m"] == "0,5" and rows[2]["e_d96tm"].count(",") == 1
    assert [r["depth_m"] for r in rows] == ["2,0", "2,0", "1,0", "0,2"]
    international = dashboard.addresses.exported_file("csv_en")[1].decode("utf-8-sig")
    assert list(csv.DictReader(io.StringIO(international)))[2]["depth_to_m"] == "1.5"
    name, content = dashboard.addresses.exported_file("gpkg")
    path = tmp_path / name
    path.write_bytes(content)
    said = ogrinfo(path, "-so", "-al")  # read as any GIS reads it: by GDAL
    assert "Feature Count: 4" in said and 'ID["EPSG",3794]' in said
    columns = ("address", "hazard_class", "depth_m", "district")
    assert all(f"{column}:" in said for column in columns)
    with flood_database.writer.connect() as conn:
        audited = conn.execute(
            text("SELECT action, detail FROM audit_event WHERE detail LIKE 'addresses;%'")
        ).all()
    assert sorted(audited) == [
        ("export_csv", "addresses; Q100; Vsa občina · Whole municipality; 4 addresses; csv_en"),
        ("export_csv", "addresses; Q100; Vsa občina · Whole municipality; 4 addresses; csv_sl"),
        ("export_gpkg", "addresses; Q100; Vsa občina · Whole municipality; 4 addresses; gpkg"),
    ]


def test_the_pdf_has_the_addresses_as_an_annex(dashboard):
    reader = pypdf.PdfReader(io.BytesIO(dashboard.pdf_bytes()))
    last = reader.pages[-1].extract_text()
    assert "Izpostavljeni naslovi" in last and "Exposed addresses" in last
    assert all(a in last for a in ("Globoka 3", "Meja 4", "Srednja 2", "Plitva 1"))
    words = " ".join(page.extract_text() for page in reader.pages)
    assert "Po četrtnih skupnostih" in words


@pytest.mark.parametrize("role", ["planner", "mayor_office"])
def test_only_civil_protection_and_admins_read_the_addresses(flood_database, role):
    assert exposure_report(flood_database.reader, "Q100", role).addresses is None
    admin = exposure_report(flood_database.reader, "Q100", "admin")
    assert len(admin.addresses) == 4


def test_people_are_counted_by_day_in_the_institutions_and_by_night_at_home(dashboard):
    """By day the school (300, velika) and the kindergarten (60, majhna) at capacity; by night
    the residents at home (29, 137 and 41), no one being in care overnight here."""
    rows = summary(dashboard)
    assert rows["Ljudje podnevi (šole, vrtci, domovi, bolnišnica)"] == ["300", "0", "60", "360"]
    assert rows["Ljudje ponoči (doma, domovi, bolnišnica)"] == ["29", "137", "41", "207"]
    rows = list(csv.DictReader(io.StringIO(dashboard.csv_file("en")[1].decode("utf-8-sig"))))
    people = {
        (r["hazard_class"], r["measure"]): r["value"] for r in rows if r["section"] == "people"
    }
    assert people[("velika", "by_day")] == "300" and people[("srednja", "by_night")] == "137"


def test_the_evacuation_is_drawn_tabled_printed_and_exported(network):
    """On the hand-made network (tests/network_fixture.py): the two closed roads and the two
    shelters' routes on the map, the shelters' table, each address's shelter, the CSV and PDF."""
    page = civil_protection_page(network)
    assert len(page.evacuation.closed.data["xs"]) == 2
    assert sorted(page.evacuation.routes.data["name"]) == ["Gasilski dom", "Suha šola"]
    pane = page.report_pane.object
    assert "Evakuacija" in pane and "Zbirna mesta" in pane and "pod vodo · flooded" in pane
    listed = page.addresses.table.value.set_index("address")
    assert listed.loc["Globoka 3", ["shelter", "route_km", "water_m"]].tolist() == [
        "Suha šola", "0,60", "95",
    ]  # fmt: skip
    assert listed.loc["Plitva 8", "shelter"] == "ni prostora · no room"
    rows = list(csv.DictReader(io.StringIO(page.csv_file("en")[1].decode("utf-8-sig"))))
    figures = {r["measure"]: r["value"] for r in rows if r["section"] == "evacuation"}
    assert figures["closed_km"] == "0.6" and figures["unplaced"] == "40"
    school = {
        r["measure"]: r["value"]
        for r in rows
        if r["section"] == "evacuation_shelters" and r["item"] == "Suha šola"
    }
    assert school == {
        "capacity": "60", "state": "open", "evacuees": "55", "left": "5",
        "evacuees_day": "0", "left_day": "60",
    }  # fmt: skip
    assert figures["placed_day"] == "60" and figures["unplaced_day"] == "300"
    kindergarten = {
        r["measure"]: r["value"]
        for r in rows
        if r["section"] == "evacuation_institutions" and r["item"] == "Vrtec Plitvi"
    }
    assert kindergarten == {
        "people_day": "60", "shelter_day": "Gasilski dom", "route_km_day": "0.29",
        "access_day": "shelter",
    }  # fmt: skip
    assert "Ustanove: kam podnevi in ponoči" in pane
    addresses = page.addresses.exported_file("csv_sl")[1].decode("utf-8-sig")
    by_address = {r["address"]: r for r in csv.DictReader(io.StringIO(addresses), delimiter=";")}
    assert by_address["Srednja 2"]["shelter"] == "Gasilski dom"
    assert by_address["Srednja 2"]["route_km"] == "0,28"
    assert by_address["Plitva 8"]["access"] == "no_room"
    words = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(page.pdf_bytes())).pages)
    assert "Zbirna mesta" in words and "Suha šola" in words and "pgRouting" in words
