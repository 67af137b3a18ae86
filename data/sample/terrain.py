"""An elevation model and flood-depth rasters that make physical sense for a profile's rivers.

The ground is the lowest of the river valleys: along each river it falls downstream, rises
gently across the floodplain and steeply up the valley sides, with a terrace on one bank where
the profile says so (Ptuj's old town stands on one above the Drava). A flood of a return period
raises each river's water a given height above its banks; the depth is that water surface
minus the ground, kept only where the water can reach from the channel. So the water is deepest
in and near the channel and in low ground, and a rarer flood is both higher and wider.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from rasterio.transform import from_origin
from scipy import ndimage

from data.sample.geography import Geography

NODATA = -9999.0


@dataclass(frozen=True)
class Grid:
    """Cell centres of a north-up raster covering the municipality."""

    x: np.ndarray  # 2-D
    y: np.ndarray
    cell: float
    transform: object

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape


def make_grid(boundary: shapely.Geometry, cell: float, margin: float) -> Grid:
    xmin, ymin, xmax, ymax = boundary.bounds
    left = np.floor((xmin - margin) / cell) * cell
    top = np.ceil((ymax + margin) / cell) * cell
    columns = int(np.ceil((xmax + margin - left) / cell))
    rows = int(np.ceil((top - (ymin - margin)) / cell))
    x, y = np.meshgrid(
        left + (np.arange(columns) + 0.5) * cell, top - (np.arange(rows) + 0.5) * cell
    )
    return Grid(x, y, cell, from_origin(left, top, cell, cell))


@dataclass(frozen=True)
class River:
    """Where a river runs and how its valley and its floods are shaped (from the profile)."""

    line: shapely.LineString
    bank_m: tuple[float, float]  # bank elevation where the line starts and ends
    channel_half_width: float
    channel_depth_m: float
    floodplain_rise_m_per_km: float
    floodplain_width_m: float
    valley_side_rise_m_per_km: float
    terrace_m: float  # height of a terrace on the left bank (looking downstream)
    terrace_from_m: float
    stages_m: dict[str, float]  # scenario: water height above the banks


def rivers_of(sample: dict) -> list[River]:
    lines = {w["name"]: w for w in sample["water"]}
    found = []
    for river in sample["flood"]["rivers"]:
        water = lines[river["name"]]
        found.append(
            River(
                line=shapely.LineString(water["line"]),
                bank_m=tuple(river["bank_m"]),
                channel_half_width=water["width_m"] / 2,
                channel_depth_m=river["channel_depth_m"],
                floodplain_rise_m_per_km=river["floodplain_rise_m_per_km"],
                floodplain_width_m=river["floodplain_width_m"],
                valley_side_rise_m_per_km=river["valley_side_rise_m_per_km"],
                terrace_m=river.get("terrace_m", 0.0),
                terrace_from_m=river.get("terrace_from_m", 0.0),
                stages_m=river["stages_m"],
            )
        )
    return found


@dataclass(frozen=True)
class Valley:
    """A river's valley sampled on the grid."""

    river: River
    bank: np.ndarray  # bank elevation level with each cell
    ground: np.ndarray
    channel: np.ndarray  # bool


def valley(river: River, grid: Grid) -> Valley:
    points = shapely.points(grid.x.ravel(), grid.y.ravel())
    along = shapely.line_locate_point(river.line, points)
    distance = shapely.distance(river.line, points).reshape(grid.shape)
    start, end = river.bank_m
    bank = (start + (end - start) * along / river.line.length).reshape(grid.shape)
    # which bank: the sign of the cross product of the flow direction and the way to the cell
    here = shapely.line_interpolate_point(river.line, along)
    ahead = shapely.line_interpolate_point(river.line, np.minimum(along + 5, river.line.length))
    hx, hy = shapely.get_x(here), shapely.get_y(here)
    cross = (shapely.get_x(ahead) - hx) * (grid.y.ravel() - hy) - (shapely.get_y(ahead) - hy) * (
        grid.x.ravel() - hx
    )
    left = (cross > 0).reshape(grid.shape)
    plain = np.minimum(distance, river.floodplain_width_m)
    side = np.maximum(distance - river.floodplain_width_m, 0)
    ground = (
        bank
        + plain * river.floodplain_rise_m_per_km / 1000
        + side * river.valley_side_rise_m_per_km / 1000
    )
    ramp = np.clip((distance - river.terrace_from_m) / 100, 0, 1)  # a 100 m terrace slope
    ground += np.where(left, river.terrace_m * ramp, 0)
    channel = distance <= river.channel_half_width
    ground = np.where(channel, bank - river.channel_depth_m, ground)
    return Valley(river, bank, ground, channel)


def elevation(valleys: list[Valley], rng: np.random.Generator, cell: float) -> np.ndarray:
    """The ground: the lowest valley everywhere, roughened by smooth noise (hollows, rises)."""
    ground = np.min([v.ground for v in valleys], axis=0)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, ground.shape), sigma=150 / cell)
    noise *= 0.6 / noise.std()
    channels = np.any([v.channel for v in valleys], axis=0)
    return np.where(channels, ground, ground + noise)


def flood_depth(valleys: list[Valley], ground: np.ndarray, scenario: str) -> np.ndarray:
    """Water depth of a scenario: each river's water over the ground, where it reaches.

    A river floods only its own valley (where its valley is the ground), so a stream high up in
    the hills never pours its water level over the plain of the larger river below.
    """
    depth = np.zeros(ground.shape)
    lowest = np.min([v.ground for v in valleys], axis=0)
    for item in valleys:
        surface = item.bank + item.river.stages_m[scenario]
        wet = surface - ground
        labels, _ = ndimage.label((wet > 0) & (item.ground <= lowest + 0.01))
        reached = np.isin(labels, np.unique(labels[item.channel & (wet > 0)]))
        reached &= labels > 0
        depth = np.maximum(depth, np.where(reached, wet, 0))
    return depth


def build_terrain(
    sample: dict, geo: Geography, rng: np.random.Generator
) -> tuple[Grid, np.ndarray, dict[str, np.ndarray]]:
    """The grid, the elevation model and the depth of each scenario (NODATA off the map)."""
    flood = sample["flood"]
    grid = make_grid(geo.boundary, flood["cell_m"], flood["margin_m"])
    valleys = [valley(river, grid) for river in rivers_of(sample)]
    ground = elevation(valleys, rng, grid.cell)
    mapped = shapely.contains_xy(geo.boundary.buffer(flood["margin_m"] / 2), grid.x, grid.y)
    depths = {
        scenario: np.where(mapped, flood_depth(valleys, ground, scenario), NODATA).astype("float32")
        for scenario in flood["scenarios"]
    }
    return grid, ground.astype("float32"), depths
