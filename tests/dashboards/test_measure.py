"""Measures of drawn shapes, against lengths and areas known in D96/TM."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from dashboards import page_scripts
from dashboards.measure import measured, measured_html
from layers.errors import GisError

TO_MERCATOR = Transformer.from_crs(3794, 3857, always_xy=True)


def on_the_map(*corners: tuple[float, float]) -> tuple[list[float], list[float]]:
    xs, ys = TO_MERCATOR.transform(*zip(*corners, strict=True))
    return list(xs), list(ys)


def test_a_line_is_measured_on_the_ground_not_in_map_metres():
    xs, ys = on_the_map((560_000, 140_000), (561_000, 140_000), (561_000, 141_000))
    found = measured(xs, ys, closed=False)
    assert found.length_m == pytest.approx(2000, abs=0.01)
    assert xs[1] - xs[0] > 1400  # the same line in Web Mercator's metres: 45 % too long
    assert "2 000,0 m" in measured_html(found) and "2,000 km" in measured_html(found)


def test_a_square_gives_its_area_in_m2_and_ha_and_its_perimeter():
    corners = [(560_000, 140_000), (560_500, 140_000), (560_500, 140_500), (560_000, 140_500)]
    # as the draw tool leaves it: the last corner twice
    found = measured(*on_the_map(*corners, corners[-1]), closed=True)
    assert found.area_m2 == pytest.approx(250_000, rel=1e-6)
    assert found.length_m == pytest.approx(2000, rel=1e-6)
    said = measured_html(found)
    assert "250 000 m²" in said and "25,00 ha" in said and "2 000,0 m" in said


def test_a_ring_that_crosses_itself_counts_both_loops():
    bow_tie = [(560_000, 140_000), (560_100, 140_100), (560_100, 140_000), (560_000, 140_100)]
    assert measured(*on_the_map(*bow_tie), closed=True).area_m2 == pytest.approx(5_000, rel=1e-6)


@pytest.mark.parametrize(
    ("corners", "closed"),
    [
        ([(560_000, 140_000), (560_000, 140_000)], False),  # a line just started
        ([(560_000, 140_000), (560_100, 140_000), (560_100, 140_000)], True),
    ],
)
def test_too_few_distinct_corners_measure_nothing(corners, closed):
    assert measured(*on_the_map(*corners), closed=closed) is None


def test_the_server_says_how_to_install_proj4js_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(page_scripts, "PROJ4_FOLDER", tmp_path)
    with pytest.raises(GisError, match="make js-env"):
        page_scripts.script_routes()
