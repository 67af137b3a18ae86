"""Geometry checks on batches big enough to be split across cores: order and counts kept."""

from __future__ import annotations

import numpy as np
import shapely

from etl.validate import CORES, repair_geometry


def test_repairs_in_a_batch_split_across_cores_land_on_their_own_rows():
    rows = 10_000 * CORES + 7  # split into CORES slices
    x = np.arange(rows) * 20.0
    shapes = shapely.box(x, 0, x + 10, 10)
    bowties = [0, rows // 2 + 1, rows - 1]  # in the first and the last slice
    for i in bowties:
        shapes[i] = shapely.Polygon([(x[i], 0), (x[i] + 10, 10), (x[i] + 10, 0), (x[i], 10)])
    repaired_shapes, repaired, unusable = repair_geometry(shapes, "MultiPolygon")
    assert np.flatnonzero(repaired).tolist() == bowties
    assert not unusable.any()
    assert shapely.is_valid(repaired_shapes).all()
    assert shapely.area(repaired_shapes[bowties]).tolist() == [50.0] * 3
