"""A big view of a line or polygon layer drawn as one image of its style classes."""

from __future__ import annotations

import gc

import geopandas as gpd
import numpy as np
import shapely
from bokeh.plotting import figure

from dashboards.footprints import CODED, FootprintImage, class_colours
from layers.overview import Overview
from layers.queries import Viewport
from layers.spec import Geometry
from styles import style

VIEW = Viewport(0, 0, 100, 50, 200)  # half a metre a pixel, 200 x 100 pixels


def image_of(geometry: Geometry, shapes: list, classes: list[str]) -> np.ndarray:
    entry = style("buildings")
    image = FootprintImage(figure(), geometry, entry, "fill_color", "test")
    frame = gpd.GeoDataFrame({entry["color_by"]: classes}, geometry=shapes)
    image.prepare(frame, VIEW)()
    return image.source.data["image"][0]


def test_each_pixel_holds_its_features_class_and_nothing_else_is_drawn():
    colours, codes = class_colours(style("buildings"), "fill_color")
    house, block = shapely.box(10, 10, 20, 20), shapely.box(50, 20, 90, 40)
    grid = image_of(Geometry.POLYGON, [house, block], ["enostanovanjska", "neznano"])
    assert grid.shape == (100, 200) and grid.dtype == np.uint8
    # rows run upwards from the view's bottom, as Bokeh draws them
    assert grid[30, 30] == codes["enostanovanjska"] and colours[grid[30, 30] - 1] == "#e8b07a"
    assert grid[60, 140] == len(colours)  # a class the style does not list: the others' colour
    assert np.count_nonzero(grid == codes["enostanovanjska"]) == 20 * 20  # 10 m x 10 m
    assert np.count_nonzero(grid == len(colours)) == 80 * 40
    assert np.count_nonzero(grid) == 400 + 3200  # no pixel outside the two


def test_lines_are_drawn_along_their_length():
    grid = image_of(Geometry.LINE, [shapely.LineString([(0, 25), (100, 25)])], [""])
    drawn_rows = np.flatnonzero(grid.any(axis=1))
    assert len(drawn_rows) <= 2 and np.count_nonzero(grid[drawn_rows[0]]) >= 199


def test_features_read_past_the_views_corners_leave_it_empty():
    """Read by the view's box in the layer's CRS, which reaches past the view's corners, every
    feature may lie outside the view: the image is empty, not an error that leaves the map as
    it was (datashader refused it, and a pan over a million buildings was never drawn)."""
    corner = shapely.box(110, 60, 120, 70)
    grid = image_of(Geometry.POLYGON, [corner], ["enostanovanjska"])
    assert grid.shape == (100, 200) and not grid.any()


def test_an_overview_puts_each_point_in_its_pixel_in_its_class():
    colours, codes = class_colours(style("buildings"), "fill_color")
    overview = Overview(
        x=np.array([10.2, 50.2, 50.2, 90.2, 150.0], np.float32),  # the last outside the view
        y=np.array([10.2, 20.2, 20.2, 40.2, 20.0], np.float32),
        codes=np.array([0, 1, 0, -1, 0], np.int32),  # -1: a feature with no value
        classes=("enostanovanjska", "neznano"),
    )
    image = FootprintImage(figure(), Geometry.POLYGON, style("buildings"), "fill_color", "test")
    image.prepare_overview(overview, overview.within(VIEW), VIEW)()
    grid = image.source.data["image"][0]
    assert grid.shape == (100, 200) and np.count_nonzero(grid) == 3  # two share a pixel
    assert grid[20, 20] == codes["enostanovanjska"]
    assert grid[40, 100] == len(colours)  # the highest code of the two: the others' colour
    assert grid[80, 180] == len(colours)  # no value: the others' colour


def test_coded_shapes_are_shared_while_their_frame_lives_and_never_given_to_another():
    """Every session's image of a frame the store handed out codes it once; another frame
    is drawn in its own classes, and an entry goes with its frame."""
    colours, codes = class_colours(style("buildings"), "fill_color")
    image, other_session = (
        FootprintImage(figure(), Geometry.POLYGON, style("buildings"), "fill_color", "test")
        for _ in range(2)
    )
    house = [shapely.box(10, 10, 20, 20)]
    first = gpd.GeoDataFrame({"use_class": ["enostanovanjska"]}, geometry=house)
    image.prepare(first, VIEW)()
    image.prepare(first, Viewport(0, 0, 50, 25, 100))()  # panned and zoomed: the same frame
    assert other_session.coded(first) is image.coded(first)
    assert image.source.data["image"][0][30, 30] == codes["enostanovanjska"]
    second = gpd.GeoDataFrame({"use_class": ["neznano"]}, geometry=house)
    image.prepare(second, VIEW)()
    assert image.source.data["image"][0][30, 30] == len(colours)  # the others' colour
    held = len(CODED._made)
    del first, second
    gc.collect()  # were they held in a cycle
    assert len(CODED._made) == held - 2
