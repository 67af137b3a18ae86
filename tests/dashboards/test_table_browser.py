"""The table, the filter, the selection and its export in real Chromium, as a planner uses them:
what the page counts is what PostGIS counts, and the file holds what was selected."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import text

from tests.dashboards.browser import SCREENSHOTS, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS
from tests.dashboards.test_access import audit

pytestmark = pytest.mark.browser

VIEW = "/planner?lon=15.8716&lat=46.4217&w=1500&layers=municipality,buildings"
RANGES = """() => {
  const plot = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name("scale_bar")).parent;
  const {x_range, y_range} = plot.model;
  const canvas = plot.canvas_view.el.getBoundingClientRect();
  return {x0: x_range.start, x1: x_range.end, y0: y_range.start, y1: y_range.end,
          left: canvas.left + plot.frame.bbox.left, top: canvas.top + plot.frame.bbox.top,
          width: plot.frame.bbox.width, height: plot.frame.bbox.height};
}"""
IN_BOX = (
    "SELECT count(*) FROM building WHERE ST_Intersects(geom,"
    " ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), 3794))"
)


def counted(page, pattern: str) -> int | None:
    """The count the table's status line shows before ``pattern`` ("v pogledu", "izbranih")."""
    line = page.locator(".totals")
    said = line.count() and line.first.text_content()
    found = said and re.search(r"([\d ]+) " + pattern, said)
    return int(found.group(1).replace(" ", "")) if found else None


def in_box(database, box: dict, use: str | None = None) -> int:
    query = IN_BOX + (" AND use_class = :use" if use else "")
    with database.reader.connect() as conn:
        return conn.scalar(text(query), {**box, "use": use})


def test_a_planner_filters_selects_and_exports_what_the_database_holds(
    browser, server, sample_database, tmp_path
):
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    page.goto(server.url + VIEW)
    page.wait_for_selector("canvas", timeout=60_000)
    page.get_by_text("Tabela in izbor · Table and selection").click()
    page.get_by_label("Sloj · Layer").select_option(label="Stavbe · Buildings")
    view = {}

    def settled_count() -> int | None:  # the count shown is the one of the view on screen
        view.update(page.evaluate(RANGES))
        shown = counted(page, "v pogledu")
        box = {k: view[k] for k in ("x0", "y0", "x1", "y1")}
        return shown if shown is not None and shown == in_box(sample_database, box) else None

    assert wait_for(settled_count, 60), "the table does not count the buildings in view"

    # the filter: one use, chosen in the buildings' card
    card = page.locator(".layer-buildings")
    card.get_by_text("Filter · Filter").click()
    # the rarest use among the buildings in the middle of the view, where the box is dragged
    middle = {
        "x0": view["x0"] + (view["x1"] - view["x0"]) * 0.3,
        "x1": view["x0"] + (view["x1"] - view["x0"]) * 0.7,
        "y0": view["y0"] + (view["y1"] - view["y0"]) * 0.3,
        "y1": view["y0"] + (view["y1"] - view["y0"]) * 0.7,
    }
    with sample_database.reader.connect() as conn:
        use = conn.scalar(
            text(
                "SELECT use_class FROM building WHERE ST_Intersects(geom, ST_Transform("
                "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857), 3794)) GROUP BY 1 ORDER BY count(*)"
                " LIMIT 1"
            ),
            middle,
        )
    card.locator(".choices").first.click()
    page.get_by_role("option", name=use).first.click()
    box = {k: view[k] for k in ("x0", "y0", "x1", "y1")}
    wanted = in_box(sample_database, box, use)
    assert wait_for(lambda: counted(page, "v pogledu") == wanted, 60), "the filter is not counted"

    # a box dragged over the middle of the map with the box tool selects the filtered buildings
    page.get_by_role("button", name="Izberi s pravokotnikom · Select by a box").click()
    left, top = view["left"] + view["width"] * 0.2, view["top"] + view["height"] * 0.2
    right, bottom = view["left"] + view["width"] * 0.8, view["top"] + view["height"] * 0.8
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move((left + right) / 2, (top + bottom) / 2, steps=5)
    page.mouse.move(right, bottom, steps=5)
    page.mouse.up()
    x = lambda px: view["x0"] + (px - view["left"]) / view["width"] * (view["x1"] - view["x0"])  # noqa: E731
    y = lambda py: view["y1"] - (py - view["top"]) / view["height"] * (view["y1"] - view["y0"])  # noqa: E731
    dragged = {"x0": x(left), "x1": x(right), "y0": y(bottom), "y1": y(top)}
    expected = in_box(sample_database, dragged, use)
    assert expected > 0
    selected = wait_for(lambda: counted(page, "izbranih"), 60)
    assert selected == pytest.approx(expected, abs=1)  # a pixel's rounding at the box's edge
    page.screenshot(path=SCREENSHOTS / "planner-table-selection.png")

    # the selection as a GeoPackage: what was counted, of the use filtered
    page.get_by_label("Oblika · Format").select_option(label="GeoPackage (D96/TM)")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Izvozi izbor · Export the selection").click()
    assert download.value.suggested_filename == "buildings_izbor.gpkg"
    path = tmp_path / "izbor.gpkg"
    download.value.save_as(path)
    uses = subprocess.run(
        ["ogrinfo", "-q", "-sql", "SELECT DISTINCT use_class FROM buildings", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert re.findall(r"use_class \(String\) = (.*)", uses) == [use]
    summary = subprocess.run(["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True)
    assert f"Feature Count: {selected}" in summary.stdout
    assert (ACCOUNTS["planner"][0], "planner", "127.0.0.1") in audit(sample_database, "export_gpkg")

    # a row of the table zooms the map to its building and shows it
    cell = page.locator(".tabulator-row .tabulator-cell[tabulator-field='address']").first
    address = cell.text_content()
    cell.click()
    zoomed = lambda: page.evaluate(RANGES)["x1"] - page.evaluate(RANGES)["x0"] < 2_000  # noqa: E731
    assert wait_for(zoomed, 30), "the row does not zoom the map"
    page.locator(".details-pane").get_by_text(address).first.wait_for(timeout=30_000)
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


def test_the_public_tables_and_exports_only_the_open_layers(browser, server, sample_database):
    # a slow machine's browser: the layer is changed while the first table is still being built
    page = open_page(browser, server.url + "/public?lon=15.8716&lat=46.4217&w=6000", slowdown=12)
    page.wait_for_selector("canvas", timeout=60_000)
    page.get_by_text("Tabela in izbor · Table and selection").click()
    page.get_by_label("Sloj · Layer").wait_for(timeout=30_000)  # made as the table opens
    offered = page.get_by_label("Sloj · Layer").locator("option").all_text_contents()
    assert "Kulturna dediščina · Cultural heritage" in offered
    assert not {"Stavbe · Buildings", "Vodovodno omrežje · Water mains"} & set(offered)
    page.get_by_label("Sloj · Layer").select_option(label="Kulturna dediščina · Cultural heritage")
    page.get_by_label("Oblika · Format").select_option(label="CSV (Excel, sl: ; in 0,5)")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Izvozi sloj (s filtrom) · Export the layer").click()
    rows = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    with sample_database.reader.connect() as conn:
        assert len(rows) - 1 == conn.scalar(text("SELECT count(*) FROM heritage_site"))
    assert rows[0].startswith("id;esd;name;")
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
