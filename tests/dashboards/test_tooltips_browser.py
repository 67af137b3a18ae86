"""Tooltips in a real browser: the topmost layer's alone, over a view drawn as an image too."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, Polygon
from sqlalchemy import text

from tests.dashboards.browser import SCREEN_POINT, VIEW_DRAWN, open_page, sign_in, wait_for
from tests.dashboards.conftest import ACCOUNTS

pytestmark = pytest.mark.browser

# Each feature's polygons (outer ring, then holes) as the page holds them, with its name.
PARTS = """(name) => {
  const d = Bokeh.documents[0].get_model_by_name(name).data_source.data;
  return d.xs.map((parts, i) => ({name: d.name[i], parts: parts.map((rings, j) =>
    rings.map((xs, k) => xs.map((x, m) => [x, d.ys[i][j][k][m]])))}));
}"""
# The text of every tooltip on show, wherever the page's shadow roots hold it.
SHOWN = """() => {
  const shown = [];
  const walk = (root) => root.querySelectorAll('*').forEach((e) => {
    const content = e.shadowRoot?.querySelector('.bk-tooltip-content');
    if (e.classList.contains('bk-Tooltip') && e.checkVisibility() && content?.innerText.trim())
      shown.push(content.innerText);
    if (e.shadowRoot) walk(e.shadowRoot);
  });
  walk(document);
  return shown;
}"""


# Every point feature drawn on the page, of whichever layer.
POINTS = """() => [...Bokeh.documents[0].all_models]
  .filter((m) => m.type == "GlyphRenderer" && m.data_source.data.x && !m.data_source.data.image)
  .flatMap((r) => [...r.data_source.data.x].map((x, i) => [x, r.data_source.data.y[i]]))
  .filter(([x, y]) => typeof x == "number" && typeof y == "number")"""


def features(page, layer: str) -> list[tuple[str, Polygon]]:
    """Every part of ``layer``'s features drawn on the page, with the feature's name."""
    drawn = page.evaluate(PARTS, layer)
    return [(f["name"], Polygon(rings[0], rings[1:])) for f in drawn for rings in f["parts"]]


def point_at(page, layer: str, point: Point) -> None:
    """Move the pointer to ``point`` (EPSG:3857) on the map as a person would."""
    sx, sy = page.evaluate(SCREEN_POINT, [layer, point.x, point.y])
    page.mouse.move(sx - 4, sy - 4)
    page.mouse.move(sx, sy)


def tooltips_at(page, layer: str, point: Point) -> list[str]:
    """Point at ``point`` (EPSG:3857) on the map; the tooltips then shown."""
    point_at(page, layer, point)
    return wait_for(lambda: page.evaluate(SHOWN), seconds=10)


def alone_in(district: Polygon, others: list[Polygon], points: list[Point]) -> Point | None:
    """A place in ``district`` a street's width from any of ``others`` and from any point."""
    xmin, ymin, xmax, ymax = district.bounds
    grid = (
        Point(xmin + (xmax - xmin) * i / 20, ymin + (ymax - ymin) * j / 20)
        for i in range(21)
        for j in range(21)
    )
    return next(
        (
            p
            for p in grid
            if district.contains(p)
            and all(o.distance(p) > 200 for o in others)
            and all(q.distance(p) > 300 for q in points)
        ),
        None,
    )


def test_only_the_topmost_layer_under_the_pointer_shows_its_tooltip(browser, server):
    page = open_page(browser, server.url + "/public")
    assert wait_for(lambda: page.evaluate(VIEW_DRAWN, "natura2000"), seconds=60)
    districts, sites = features(page, "districts"), features(page, "natura2000")
    # a Natura 2000 site lies above the district community it is in: the site's tooltip alone
    name, site = next((n, s) for n, s in sites if s.area > 1e5)
    inside = site.representative_point()
    assert any(d.contains(inside) for _, d in districts), "the point is in a district too"
    shown = tooltips_at(page, "natura2000", inside)
    assert len(shown) == 1 and name in shown[0]
    # where only a district is, its tooltip shows
    points = [Point(xy) for xy in page.evaluate(POINTS)]
    outside, district = next(
        (p, n) for n, d in districts if (p := alone_in(d, [s for _, s in sites], points))
    )
    page.mouse.move(5, 5)  # off the map, so the first tooltip goes
    shown = tooltips_at(page, "districts", outside)
    assert len(shown) == 1 and district in shown[0]
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()


# Holds back the page's paints: Bokeh paints in an animation frame, and maps a renderer's
# data to the screen only when it paints.
HOLD_PAINTS = """() => {
  window.held_paints = [];
  window.paint_now = window.requestAnimationFrame;
  window.requestAnimationFrame = (paint) => window.held_paints.push(paint);
}"""
RELEASE_PAINTS = """() => {
  window.requestAnimationFrame = window.paint_now;
  window.held_paints.forEach((paint) => window.requestAnimationFrame(paint));
}"""


def test_a_layer_switched_on_can_be_pointed_at_before_it_is_painted(browser, server):
    """Between a layer's being shown and its first paint (a busy machine widens that moment)
    the pointer over it throws nothing, and one tooltip shows."""
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner")
    assert wait_for(lambda: page.evaluate(VIEW_DRAWN, "districts"), seconds=60)
    _, district = features(page, "districts")[0]
    page.evaluate(HOLD_PAINTS)
    page.evaluate("() => { Bokeh.documents[0].get_model_by_name('water_mains').visible = true }")
    point_at(page, "districts", district.representative_point())  # Bokeh hit-tests every layer
    page.evaluate(RELEASE_PAINTS)
    assert page.console_errors == []
    assert len(wait_for(lambda: page.evaluate(SHOWN), seconds=10)) == 1  # the topmost's
    page.close()


# the features in the buildings' glyph, and whether their view is drawn as an image
BUILDINGS_DRAWN = """() => {
  const doc = window.Bokeh?.documents[0];
  const image = doc?.get_model_by_name('buildings-image')?.data_source.data.image;
  return {features: doc?.get_model_by_name('buildings')?.data_source.data.xs.length,
          imaged: !!image?.length};
}"""


def test_a_building_drawn_as_an_image_shows_its_tooltip_under_a_resting_pointer(
    browser, server, sample_database
):
    """The municipality's buildings are one image: a pointer at rest on a house asks the server
    for it, and its tooltip shows, from the same hover as at street zoom."""
    with sample_database.reader.connect() as conn:  # the largest houses: easy to rest on
        houses = conn.execute(
            text(
                "SELECT address, ST_X(p), ST_Y(p) FROM (SELECT address, ST_Area(geom) AS area,"
                " ST_Transform(ST_PointOnSurface(geom), 3857) AS p FROM building) AS b"
                " ORDER BY area DESC LIMIT 2"
            )
        ).all()
    page = open_page(browser, server.url + "/public")
    sign_in(page, server.url, *ACCOUNTS["planner"], "/planner?layers=municipality,buildings")
    assert wait_for(lambda: page.evaluate(VIEW_DRAWN, "buildings"), seconds=60)
    assert page.evaluate(BUILDINGS_DRAWN)["imaged"]
    assert page.evaluate(BUILDINGS_DRAWN)["features"] == 0  # no vectors: nothing to hover yet
    for address, x, y in houses:
        shown = tooltips_at(page, "buildings", Point(x, y))
        assert len(shown) == 1 and address in shown[0], (address, shown)
        assert page.evaluate(BUILDINGS_DRAWN) == {"features": 1, "imaged": True}
    page.mouse.move(5, 5)  # off the map: the tooltip goes
    assert wait_for(lambda: not page.evaluate(SHOWN))
    assert page.console_errors == [] and page.foreign_requests == []
    page.close()
