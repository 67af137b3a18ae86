"""The Ptuj sample's cultural heritage: the strategy's 308 units, on land inside the municipality."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point

from data.profiles import load_profile
from data.sample.geography import read_geography
from data.sample.heritage import ZVRSTI, build_heritage
from layers.spec import STORAGE_SRID

PTUJ = load_profile("ptuj")
NATIONAL = {
    "Ptujski grad",
    "Dvorec Turnišče",
    "Park dvorca Turnišče",
    "Orfejev spomenik",
    "III. Mitrej z rezervatom",
}
TO_3794 = Transformer.from_crs(4326, STORAGE_SRID, always_xy=True).transform


@pytest.fixture(scope="module")
def geo():
    return read_geography(PTUJ)


def heritage(geo, seed: int = PTUJ.sample["seed"] + 4) -> list[dict]:
    return build_heritage(PTUJ.sample, geo, np.random.default_rng(seed), TO_3794)


@pytest.fixture(scope="module")
def units(geo):
    return heritage(geo)


def test_the_strategys_308_units_by_importance(units):
    assert len(units) == 308
    assert Counter(u["POMEN"] for u in units) == {"državni": 5, "lokalni": 53, "dediščina": 250}
    assert {u["ZVRST"] for u in units} <= set(ZVRSTI)
    assert all(set(u) == {"ESD", "IME", "ZVRST", "POMEN", "geometry"} for u in units)


def test_the_five_national_monuments_stand_where_the_profile_puts_them(units):
    national = {u["IME"]: u for u in units if u["POMEN"] == "državni"}
    assert set(national) == NATIONAL
    for site in PTUJ.sample["heritage"]["national"]:
        unit = national[site["name"]]
        assert unit["geometry"].distance(Point(TO_3794(*site["lonlat"]))) < 100, site["name"]
        assert unit["ZVRST"] == site["heritage_type"]


def test_register_numbers_and_names_are_unique(units):
    numbers = [u["ESD"] for u in units]
    assert all(isinstance(n, int) for n in numbers)
    assert len(set(numbers)) == len(units)
    assert min(numbers) >= 20_000  # synthetic: the module's range
    assert len({u["IME"] for u in units}) == len(units)


def test_every_unit_is_inside_the_municipality_and_none_in_water(units, geo):
    points = np.array([u["geometry"] for u in units], dtype=object)
    assert all(p.geom_type == "Point" for p in points)
    assert shapely.contains(geo.boundary, points).all()
    assert not shapely.intersects(geo.water_union, points).any()


def test_most_units_are_in_and_around_the_old_town(units, geo):
    districts = geo.districts
    core = districts.loc[districts["code"] == PTUJ.sample["core_district"]].geometry.iloc[0]
    town = shapely.union_all(districts.loc[districts["urban"]].geometry.to_numpy())
    local = [u["geometry"] for u in units if u["POMEN"] == "lokalni"]
    assert sum(core.contains(p) for p in local) > len(local) / 2
    assert sum(town.contains(u["geometry"]) for u in units) > len(units) / 2
    assert sum(not town.contains(u["geometry"]) for u in units) > 50  # villages have theirs


def test_the_same_seed_gives_the_same_units(units, geo):
    again = heritage(geo)
    assert [{**u, "geometry": u["geometry"].wkb} for u in again] == [
        {**u, "geometry": u["geometry"].wkb} for u in units
    ]
    other = heritage(geo, seed=1)
    assert [u["IME"] for u in other] != [u["IME"] for u in units]


def test_a_profile_without_heritage_has_none(geo):
    maribor = load_profile("maribor")
    assert "heritage" not in maribor.sample
    # nothing to place, so the geography is not looked at: Ptuj's stands in for Maribor's
    assert build_heritage(maribor.sample, geo, np.random.default_rng(0), TO_3794) == []
