"""The real skeleton of a municipality (boundary, districts, settlements) and its waters."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import LineString

from data.profiles import DATA_DIR, Profile
from layers.spec import STORAGE_SRID

SETTLEMENTS_CSV = DATA_DIR / "real" / "gurs-rpe" / "NA.csv"


@dataclass(frozen=True)
class Geography:
    """What the generator builds on, all in EPSG:3794."""

    boundary: shapely.Geometry
    districts: gpd.GeoDataFrame  # code, name, residents, urban, geometry
    settlements: gpd.GeoDataFrame  # name, district, geometry (points)
    water: gpd.GeoDataFrame  # name, kind, geometry (polygons)
    centre: shapely.Point

    @property
    def water_union(self) -> shapely.Geometry:
        return shapely.union_all(self.water.geometry.to_numpy())


def _real_dataset(profile: Profile, layer: str):
    return next(d for d in profile.real if d.layer == layer)


def read_boundary(profile: Profile) -> shapely.Geometry:
    boundary = _real_dataset(profile, "municipality")
    frame = pyogrio.read_dataframe(boundary.path, where=boundary.options.where).to_crs(STORAGE_SRID)
    return shapely.union_all(frame.geometry.to_numpy())


def read_districts(profile: Profile) -> gpd.GeoDataFrame:
    """The real districts with the profile's residents; and whether each is urban."""
    source = _real_dataset(profile, "districts")
    frame = pyogrio.read_dataframe(source.path, where=source.options.where).to_crs(STORAGE_SRID)
    residents = {int(k): v for k, v in profile.sample["district_residents"].items()}
    if sum(residents.values()) != profile.residents:
        raise ValueError(
            f"profile {profile.id}: district residents add up to "
            f"{sum(residents.values())}, not {profile.residents}"
        )
    missing = set(residents) ^ set(frame["ODO_ID"].astype(int))
    if missing:
        raise ValueError(
            f"profile {profile.id}: district codes differ from the file: {sorted(missing)}"
        )
    districts = gpd.GeoDataFrame(
        {
            "code": frame["ODO_ID"].astype(int),
            "name": frame["ODO_UIME"],
            "residents": frame["ODO_ID"].astype(int).map(residents),
        },
        geometry=frame.geometry.to_numpy(),
        crs=STORAGE_SRID,
    )
    districts["urban"] = districts["code"].isin(profile.sample["urban_districts"])
    return districts.sort_values("code").reset_index(drop=True)


def read_settlements(profile: Profile, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """GURS settlement label points of the municipality, each with its district."""
    table = pd.read_csv(SETTLEMENTS_CSV, encoding="utf-8-sig", keep_default_na=False)
    table = table[table["OB_MID"] == profile.ob_mid]
    points = gpd.GeoDataFrame(
        {"name": table["NA_UIME"].to_numpy()},
        geometry=gpd.points_from_xy(table["CEN_E"], table["CEN_N"]),
        crs=STORAGE_SRID,
    )
    joined = points.sjoin(districts[["code", "geometry"]], predicate="within", how="inner")
    return (
        joined.rename(columns={"code": "district"})
        .drop(columns="index_right")
        .reset_index(drop=True)
    )


def build_water(profile: Profile, boundary: shapely.Geometry) -> gpd.GeoDataFrame:
    """Rivers, lakes and streams as polygons around the profile's centre lines."""
    context = boundary.buffer(1500)
    rows = []
    for water in profile.sample["water"]:
        shape = LineString(water["line"]).buffer(water["width_m"] / 2, quad_segs=8)
        rows.append(
            {"name": water["name"], "kind": water["kind"], "geometry": shape.intersection(context)}
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_SRID)


def read_geography(profile: Profile) -> Geography:
    boundary = read_boundary(profile)
    districts = read_districts(profile)
    return Geography(
        boundary=boundary,
        districts=districts,
        settlements=read_settlements(profile, districts),
        water=build_water(profile, boundary),
        centre=shapely.Point(profile.sample["centre"]),
    )
