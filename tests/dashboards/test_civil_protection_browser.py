"""/civil-protection in real headless Chromium on the Ptuj sample: switch the scenario, export."""

from __future__ import annotations

import io

import pypdf
import pytest
from sqlalchemy import text

from tests.dashboards.browser import SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["civil_protection"], "/civil-protection")
    page.wait_for_selector(".report-head", timeout=60_000)
    yield page
    page.close()


def shown_scenario(page) -> str:
    return page.locator(".report-head").get_attribute("data-scenario")


def summary_row(page, measure: str) -> list[str]:
    row = page.locator("table.report-summary tr", has_text=measure).first
    return [cell.strip() for cell in row.locator("td").all_inner_texts()[1:]]


def test_switching_the_scenario_changes_the_report_and_the_map(page):
    assert shown_scenario(page) == "Q100"
    buildings_q100 = summary_row(page, "Stavbe")
    assert len(buildings_q100) == 4  # velika, srednja, majhna, total
    canvas = page.locator(".bk-Canvas").first
    wait_for(lambda: page.locator(".bk-Canvas").count() > 0)
    before = canvas.screenshot()
    page.locator("select").first.select_option("Q500")
    assert wait_for(lambda: shown_scenario(page) == "Q500", seconds=30)
    buildings_q500 = summary_row(page, "Stavbe")
    assert len(buildings_q500) == 2  # preostala, total
    assert int(buildings_q500[-1].replace(" ", "")) > int(buildings_q100[-1].replace(" ", ""))
    assert wait_for(lambda: canvas.screenshot() != before), "the map did not change"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "civil-protection.png")  # for a person to look at
    assert page.console_errors == []
    assert page.foreign_requests == []


def test_the_pdf_downloads_reads_right_and_is_audited(page, sample_database):
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="PDF").click()
    pdf = download.value.path().read_bytes()
    words = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "scenarij Q100" in words
    total = summary_row(page, "Stavbe")[-1]
    assert total in words  # the same count on the page and on paper
    assert download.value.suggested_filename == "poplave_Q100.pdf"
    assert page.console_errors == []
    with sample_database.writer.connect() as conn:
        exported = conn.execute(
            text("SELECT username, role, detail FROM audit_event WHERE action = 'export_pdf'")
        ).all()
    assert ("civil", "civil_protection", "Q100; Vsa občina · Whole municipality") in exported


def test_an_area_is_drawn_as_the_hint_says_and_limits_the_report(page):
    """Double-click starts, clicks add corners, a double-click ends; then "Use drawn"."""
    whole = int(summary_row(page, "Stavbe")[-1].replace(" ", ""))
    page.locator('[title^="Nariši območje"]').click()
    box = page.locator(".bk-Canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(x - 120, y - 90), (x + 120, y - 90), (x + 120, y + 90), (x - 120, y + 90)]
    page.mouse.dblclick(*corners[0])
    for corner in corners[1:-1]:
        page.wait_for_timeout(400)  # apart, as a person clicks: closer, two are a double click
        page.mouse.click(*corner)
    page.wait_for_timeout(400)
    page.mouse.dblclick(*corners[-1])
    page.get_by_role("button", name="Uporabi narisano · Use drawn").click()
    page.locator(".report-head").get_by_text("Narisano območje · Drawn area").wait_for(
        timeout=30_000
    )
    drawn = int(summary_row(page, "Stavbe")[-1].replace(" ", ""))
    assert 0 < drawn < whole, "the report is not limited to the drawn area"
    assert page.console_errors == [] and page.foreign_requests == []


def test_a_row_of_the_exposed_addresses_shows_its_building(page):
    rows = page.locator(".address-list .tabulator-row")
    rows.first.wait_for(timeout=30_000)
    assert rows.count() == 12  # a page of the list
    third = rows.nth(2)
    address = third.locator("[tabulator-field=address]").inner_text()
    canvas = page.locator(".bk-Canvas").first
    before = canvas.screenshot()
    third.locator("[tabulator-field=address]").click()
    # the address twice: in its row, and in the building's details beside the map
    shown = page.get_by_text(address, exact=True)
    assert wait_for(lambda: shown.count() >= 2, seconds=30), "no details shown"
    assert wait_for(lambda: canvas.screenshot() != before, seconds=30), "the map did not move"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "civil-protection-address.png")
    assert page.console_errors == [] and page.foreign_requests == []


def test_a_chosen_district_is_outlined_and_its_addresses_listed(page):
    choice = page.locator("select").nth(1)
    district = choice.locator("option").nth(1).inner_text()
    choice.select_option(district)
    page.locator(".report-head").get_by_text(district).wait_for(timeout=30_000)
    outlined = (
        "() => Bokeh.documents[0].get_model_by_name('report_area_line').data_source.data.xs.length"
    )
    assert wait_for(lambda: page.evaluate(outlined) == 1, seconds=30)
    cells = page.locator(".address-list .tabulator-row [tabulator-field=district]")
    assert wait_for(lambda: set(cells.all_inner_texts()) == {district}, seconds=30)
    page.screenshot(path=SCREENSHOTS / "civil-protection-district.png")
    assert page.console_errors == [] and page.foreign_requests == []


def test_the_evacuation_is_drawn_with_its_legend_and_tabled(page):
    """The closed roads and the routes on the map, their legend, the evacuation and shelters
    tables in the report, and each address's shelter in the list; a scenario redraws them."""
    drawn = "(name) => Bokeh.documents[0].get_model_by_name(name).data_source.data.xs.length"
    assert wait_for(lambda: page.evaluate(drawn, "evacuation_routes") > 0, seconds=30)
    assert page.evaluate(drawn, "evacuation_closed") > 0
    legend = page.locator(".evacuation-legend")
    assert "Pot do zbirnega mesta" in legend.inner_text()
    assert page.locator("table.report-evacuation").count() == 1
    shelters = page.locator("table.report-evacuation_shelters tr")
    assert shelters.count() > 5
    assert page.locator("table.report-evacuation_shelters", has_text="pod vodo").count() == 1
    cells = page.locator(".address-list .tabulator-row [tabulator-field=shelter]")
    cells.first.wait_for(timeout=30_000)
    assert all(cell.strip() for cell in cells.all_inner_texts())
    closed_q100 = page.evaluate(drawn, "evacuation_closed")
    page.locator("select").first.select_option("Q10")
    assert wait_for(lambda: shown_scenario(page) == "Q10", seconds=30)
    assert wait_for(lambda: page.evaluate(drawn, "evacuation_closed") < closed_q100, seconds=30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "civil-protection-evacuation.png")
    assert page.console_errors == [] and page.foreign_requests == []
