"""Evacuation in a flood scenario: which roads the water closes, which buildings and places no
open road joins to a shelter, and for each exposed building the nearest dry shelter by road
that has room for its occupants, with the route's length.

A road is closed where any zone of the scenario whose water may be deeper than the network's
``drivable_depth_m`` touches it, anywhere in the municipality, except on its bridges: where it
crosses a river or lake of the network's ``bridged`` layer, which the flood's depth raster fills
too. The flood loader keeps that depth as an edge between zones, so for a flood loaded since the
answer is exact; for an older load, whose zone spans the limit, it errs towards closing. A
shelter any zone touches, or whose road is closed, is not used.

A building or a place is picked up on the nearest open road that leads to a shelter: when the
road in front of it is closed, that is the distance through water a boat or a wading crew covers
first. pgRouting answers the distances in one search from every usable shelter over the open
roads (``pgr_drivingDistance``). Whatever no open road joins to a shelter is cut off: the
islands a flood leaves and the villages whose roads it closes. Evacuees are placed most severe
class first, nearest first, each building whole in the nearest shelter with room.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from layers.db import quoted
from layers.network import EDGES_SQL
from layers.registry import address_layer, layer, layer_for, network_layer
from layers.report_area import area_cte, at_points
from layers.spec import STORAGE_SRID

# a road is closed by a zone whose water may be deeper than the limit (the depths are stored as
# real, the limit compared as one); its part over a river or lake is a bridge, never closed
CLOSED_SQL = """
WITH bridged AS MATERIALIZED (SELECT ST_Union({bridged_geom}) AS geom FROM {bridged})
SELECT e.id, s.{name} AS name, ST_AsBinary(e.geom) AS wkb
  FROM road_edge e JOIN {roads} s ON s.{key} = e.segment_id, bridged b
 WHERE EXISTS (SELECT 1 FROM {flood} f
                WHERE f.{scenario} = :scenario
                  AND coalesce(f.depth_to_m, 'Infinity') > CAST(:depth AS real)
                  AND ST_Intersects(f.geom, e.geom)
                  AND ST_Intersects(f.geom, CASE WHEN ST_Intersects(e.geom, b.geom)
                                                 THEN ST_Difference(e.geom, b.geom)
                                                 ELSE e.geom END))"""
SHELTERS_SQL = """
SELECT s.{shelter_key} AS id, s.{label} AS name, s.{capacity} AS capacity,
       ST_AsBinary(s.{geom}) AS wkb,
       NOT EXISTS (SELECT 1 FROM {flood} f
                    WHERE f.{scenario} = :scenario AND ST_Intersects(f.geom, s.{geom})) AS dry
  FROM {shelters} s ORDER BY s.{label}"""
# each feature of a layer in the area: a point on it (as numbers: quicker to read than WKB)
SPOTS_SQL = """
WITH {area}
SELECT id, {columns}, ST_X(spot) AS x, ST_Y(spot) AS y
  FROM (SELECT x.{key} AS id, {fields}, ST_PointOnSurface(x.{geom}) AS spot
          FROM {table} x, area WHERE ST_Intersects(x.{geom}, area.geom)) f"""
EDGES_WKB_SQL = "SELECT id, source, target, length_m, ST_AsBinary(geom) AS wkb FROM road_edge"
DISTANCES_SQL = """
SELECT from_v, node, edge, agg_cost
  FROM pgr_drivingDistance(:edges, CAST(:starts AS bigint[]), 'Infinity'::float8, directed => false)"""


@dataclass
class Evacuation:
    """Where the evacuees of one scenario and area go, and who cannot be reached by road."""

    drivable_depth_m: float
    closed: gpd.GeoDataFrame  # the roads closed by water: name, line (EPSG:3794)
    # every shelter: name, capacity, dry, state ("open", "flooded" or "cut_off": its road is
    # closed), evacuees placed there by night and places left, and by day (evacuees_day,
    # left_day; the open ones only)
    shelters: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame  # the roads taken to each shelter: name, evacuees, lines
    cut_off_buildings: int  # buildings of the area with no open road to a dry shelter
    cut_off_residents: int
    cut_off_dry: int  # of them, buildings no water reaches: islands
    cut_off_places: list[str]  # settlements of the area with no open road to a dry shelter
    unplaced: int  # evacuees by night with a road to a shelter, but none with room left
    unplaced_day: int  # the same by day
    # the exposed institutions (``layers.exposure.in_care``) and where their people go by
    # night and by day: name, hazard_class, rank, night, day (people), shelter_night,
    # route_km_night, access_night and the same for the day (empty for a time with no one)
    cared: pd.DataFrame


def _names() -> dict[str, str]:
    roads, flood = network_layer(), layer_for("hazard")
    shelters = layer(roads.network.shelters)
    return {
        "roads": quoted(roads.read_table),
        "key": quoted(roads.id_column),
        "name": quoted(roads.label_field),
        "flood": quoted(flood.read_table),
        "scenario": quoted(flood.partition_column),
        "shelters": quoted(shelters.read_table),
        "capacity": quoted(roads.network.capacity),
        "label": quoted(shelters.label_field),
        "shelter_key": quoted(shelters.id_column),
        "bridged": quoted(layer(roads.network.bridged).read_table),
        "bridged_geom": quoted(layer(roads.network.bridged).geometry_column),
        "geom": quoted(shelters.geometry_column),
    }


def _spots(conn: Connection, layer_id: str, columns: list[str], params: dict) -> gpd.GeoDataFrame:
    """Each feature of ``layer_id`` in the area with ``columns``, as a point on it."""
    spec = layer(layer_id)
    sql = SPOTS_SQL.format(
        area=area_cte(),
        columns=", ".join(quoted(c) for c in columns),
        fields=", ".join(f"x.{quoted(c)}" for c in columns),
        key=quoted(spec.id_column),
        geom=quoted(spec.geometry_column),
        table=quoted(spec.read_table),
    )
    return at_points(pd.read_sql(text(sql), conn, params=params))


class _Routes:
    """The road graph with its closed roads, and (``search``) the shortest routes over the
    open ones from each shelter's junction: how far every junction is (inf: no open road) and
    the edge it is reached by.
    """

    def __init__(self, conn: Connection, closed: set[int]) -> None:
        edges = _geo(pd.read_sql(text(EDGES_WKB_SQL), conn))
        self.edges, self.closed = edges, edges["id"].isin(closed).to_numpy()
        self.any_tree = shapely.STRtree(edges.geometry.to_numpy())
        self.size = int(max(edges["source"].max(), edges["target"].max())) + 1 if len(edges) else 1
        self.search(conn, np.zeros(0, int))

    def street(self, points: np.ndarray) -> np.ndarray:
        """The road nearest each point, open or closed (its row in ``edges``)."""
        if not len(self.edges):
            return np.zeros(len(points), int)
        return self.any_tree.query_nearest(points, all_matches=False)[1]

    def start(self, points: np.ndarray) -> np.ndarray:
        """The junction each point is reached from: the nearer end of the road nearest it."""
        rows = self.street(points)
        along = shapely.line_locate_point(
            self.edges.geometry.to_numpy()[rows], points, normalized=True
        )
        ends = self.edges.iloc[rows]
        return np.where(along < 0.5, ends["source"], ends["target"]).astype(int)

    def search(self, conn: Connection, starts: np.ndarray) -> None:
        """Find the shortest open routes from each of ``starts`` (junctions)."""
        self.starts = starts
        self.reach = np.full((len(starts), self.size), np.inf)
        self.via = np.full((len(starts), self.size), -1)  # an edge's row in ``edges``
        if not len(starts) or self.closed.all():
            return
        shut = ",".join(str(i) for i in self.edges["id"][self.closed])  # integers from the db
        graph = f"{EDGES_SQL} WHERE NOT (id = ANY('{{{shut}}}'::integer[]))"
        unique = sorted(set(starts.tolist()))
        rows = conn.execute(text(DISTANCES_SQL), {"edges": graph, "starts": unique}).all()
        start, node, edge, cost = np.array(rows, dtype=float).reshape(-1, 4).T
        node, row_of_edge = node.astype(int), pd.Index(self.edges["id"]).get_indexer(edge)
        for row, vertex in enumerate(starts):  # shelters at one junction share its search
            mine = start == vertex
            self.reach[row, node[mine]] = cost[mine]
            self.via[row, node[mine]] = row_of_edge[mine]

    def pick_up(self, spots: gpd.GeoDataFrame) -> pd.DataFrame:
        """Where each spot's people are picked up: the road nearest it that is open and leads
        to a shelter (its row in ``edges``) and how far along; how far that is through water
        when the road in front of it (``street``) does not; and whether it is cut off, its
        street closed or leading to no shelter.
        """
        points = spots.geometry.to_numpy()
        leads = ~self.closed & (
            np.isfinite(self.reach[:, self.edges["source"]]).any(axis=0)
            | np.isfinite(self.reach[:, self.edges["target"]]).any(axis=0)
        )
        rows = np.flatnonzero(leads)
        street = self.street(points)
        cut_off = ~leads[street] if len(self.edges) else np.ones(len(points), bool)
        if not len(rows):  # no open road leads to any shelter: everyone is a boat's work
            return pd.DataFrame({"edge": -1, "along": 0.0, "water_m": np.nan, "cut_off": cut_off})
        edge = street.copy()  # most are picked up in front of their door
        if cut_off.any():
            tree = shapely.STRtree(self.edges.geometry.to_numpy()[rows])
            edge[cut_off] = rows[tree.query_nearest(points[cut_off], all_matches=False)[1]]
        lines = self.edges.geometry.to_numpy()[edge]
        along = shapely.line_locate_point(lines, points, normalized=True)
        water = np.where(cut_off, shapely.distance(lines, points), 0.0)
        return pd.DataFrame({"edge": edge, "along": along, "water_m": water, "cut_off": cut_off})

    def costs(self, at: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The road distance from each shelter to each pick-up point (inf: none; ``at`` from
        ``pick_up``) and the junction the route enters the pick-up road by.
        """
        picked = at["edge"].to_numpy()
        if not len(self.edges):  # no road network: nothing is reached by road
            nowhere = np.full((len(self.starts), len(at)), np.inf)
            return nowhere, np.zeros(nowhere.shape, int)
        edges = self.edges.iloc[np.maximum(picked, 0)]
        source, target = edges["source"].to_numpy(), edges["target"].to_numpy()
        length, along = edges["length_m"].to_numpy(), at["along"].to_numpy()
        via_source = self.reach[:, source] + along * length
        via_target = self.reach[:, target] + (1 - along) * length
        costs = np.where(picked >= 0, np.minimum(via_source, via_target), np.inf)
        return costs, np.where(via_source <= via_target, source, target)

    def lines(self, placed: np.ndarray, entry: np.ndarray, own: np.ndarray) -> list:
        """The roads taken to each shelter, a MultiLineString a shelter: each placed feature's
        pick-up road, then the shortest route from it back to its shelter.
        """
        used: list[set[int]] = [set() for _ in self.starts]
        seen: list[set[int]] = [set() for _ in self.starts]
        source, target = self.edges["source"].to_numpy(), self.edges["target"].to_numpy()
        for i, shelter in enumerate(placed):
            if shelter < 0:
                continue
            used[shelter].add(int(own[i]))
            junction = int(entry[shelter, i])
            while junction != self.starts[shelter] and junction not in seen[shelter]:
                seen[shelter].add(junction)
                edge = int(self.via[shelter, junction])
                used[shelter].add(edge)
                junction = source[edge] + target[edge] - junction  # its other end
        geometry = self.edges.geometry.to_numpy()
        return [shapely.MultiLineString(list(geometry[sorted(u)])) for u in used]


def plan_evacuation(
    conn: Connection,
    scenario: str,
    params: dict,
    addresses: gpd.GeoDataFrame,
    cared: pd.DataFrame,
) -> Evacuation:
    """The evacuation of ``scenario`` over the report's area (``params``: its ``area`` and
    ``srid``), by night and by day, each with the shelters' places anew: by night the residents
    at home (``addresses``, ``ExposureReport.addresses``) and the people in care (``cared``,
    ``layers.exposure.in_care``: a retirement home, the hospital); by day the people the
    institutions hold (schools, kindergartens and those in care). ``addresses`` gain each one's
    ``shelter``, the route's length ``route_km``, the way through water to its pick-up road
    ``water_m`` and its ``access``: "shelter", "no_room" or "no_route" (no open road leads to
    any shelter). The routes drawn are the night's.
    """
    network, names = network_layer().network, _names()
    values = {"scenario": scenario, "depth": network.drivable_depth_m}
    closed = _geo(pd.read_sql(text(CLOSED_SQL.format(**names)), conn, params=values))
    graph = _Routes(conn, set(closed.pop("id").astype(int)))
    shelters = _geo(pd.read_sql(text(SHELTERS_SQL.format(**names)), conn, params=values))
    usable = _usable(graph, shelters)
    graph.search(conn, graph.start(shelters.geometry.to_numpy()[usable]))
    residents = address_layer().exposure.occupants.column
    homes = _spots(conn, address_layer().id, [residents], params)
    at = graph.pick_up(homes)
    columns = pd.Index(homes["id"]).get_indexer(addresses["id"])
    home_costs, home_entry = (grid[:, columns] for grid in graph.costs(at))
    sites = _cared_spots(conn, cared, params)
    site_at = graph.pick_up(sites)
    site_costs, site_entry = graph.costs(site_at)
    capacity, shelter_names = (
        shelters["capacity"].to_numpy()[usable],
        shelters["name"].to_numpy()[usable],
    )
    by_night, by_day = cared["night"].to_numpy() > 0, cared["day"].to_numpy() > 0
    need = np.concatenate(
        [addresses[residents].fillna(0).to_numpy(), cared["night"][by_night]]
    ).astype(float)
    ranks = np.concatenate([addresses["rank"].to_numpy(), cared["rank"][by_night]]).astype(int)
    costs = np.hstack([home_costs, site_costs[:, by_night]])
    placed, unplaced = _place(ranks, need, costs, capacity)
    addresses["water_m"] = at["water_m"].to_numpy()[columns]
    marked = _marks(placed, costs, shelter_names)
    for column in marked.columns:
        addresses[column] = marked[column].to_numpy()[: len(addresses)]
    day_need = cared["day"][by_day].to_numpy(float)
    placed_day, unplaced_day = _place(
        cared["rank"][by_day].to_numpy(int), day_need, site_costs[:, by_day], capacity
    )
    evacuees = np.bincount(placed[placed >= 0], need[placed >= 0], len(usable)).astype(int)
    in_day = np.bincount(placed_day[placed_day >= 0], day_need[placed_day >= 0], len(usable))
    shelters.loc[usable, "evacuees"] = evacuees
    shelters.loc[usable, "evacuees_day"] = in_day.astype(int)
    shelters["left"] = shelters["capacity"] - shelters["evacuees"]
    shelters["left_day"] = shelters["capacity"] - shelters["evacuees_day"]
    entry = np.hstack([home_entry, site_entry[:, by_night]])
    own = np.concatenate([at["edge"].to_numpy()[columns], site_at["edge"].to_numpy()[by_night]])
    drawn = gpd.GeoDataFrame(
        {"name": shelter_names, "evacuees": evacuees},
        geometry=graph.lines(placed, entry, own),
        crs=STORAGE_SRID,
    )
    label = layer(network.settlements).label_field
    places = _spots(conn, network.settlements, [label], params)
    cut_off = at["cut_off"].to_numpy()
    return Evacuation(
        drivable_depth_m=network.drivable_depth_m,
        closed=closed,
        shelters=shelters,
        routes=drawn[drawn["evacuees"] > 0].reset_index(drop=True),
        cut_off_buildings=int(cut_off.sum()),
        cut_off_residents=int(homes.loc[cut_off, residents].sum()),
        cut_off_dry=int((cut_off & ~homes["id"].isin(addresses["id"])).sum()),
        cut_off_places=sorted(places.loc[graph.pick_up(places)["cut_off"].to_numpy(), label]),
        unplaced=unplaced,
        unplaced_day=unplaced_day,
        cared=_cared_plans(
            cared,
            (by_night, marked.iloc[len(addresses) :]),
            (by_day, _marks(placed_day, site_costs[:, by_day], shelter_names)),
        ),
    )


def _cared_spots(conn: Connection, cared: pd.DataFrame, params: dict) -> gpd.GeoDataFrame:
    """A point on each of ``cared``'s features, in its order."""
    found = [
        _spots(conn, layer_id, [layer(layer_id).label_field], params).assign(layer=layer_id)
        for layer_id in cared["layer"].unique()
    ]
    if not found:
        return gpd.GeoDataFrame(geometry=[], crs=STORAGE_SRID)
    spots = pd.concat(found, ignore_index=True)
    at = pd.MultiIndex.from_frame(spots[["layer", "id"]]).get_indexer(
        pd.MultiIndex.from_frame(cared[["layer", "id"]])
    )
    return gpd.GeoDataFrame(geometry=spots.geometry.to_numpy()[at], crs=STORAGE_SRID)


def _cared_plans(cared: pd.DataFrame, *plans: tuple[np.ndarray, pd.DataFrame]) -> pd.DataFrame:
    """``cared`` with where each one's people go by night and by day (``_marks``'s columns,
    ``_night`` and ``_day``); empty for a time it holds no one.
    """
    frame = cared.drop(columns=["layer", "id"]).reset_index(drop=True)
    for (held, marks), time in zip(plans, ("night", "day"), strict=True):
        for column in marks.columns:
            frame[f"{column}_{time}"] = None
            frame.loc[held, f"{column}_{time}"] = marks[column].to_numpy()
    return frame


def _usable(graph: _Routes, shelters: gpd.GeoDataFrame) -> np.ndarray:
    """The shelters evacuees can be taken to (their positions): those the water does not
    reach on an open road. Each shelter's ``state`` says which: "open", "flooded" or
    "cut_off"; ``evacuees`` is set to 0 for the open ones, left empty for the others.
    """
    street = graph.street(shelters.geometry.to_numpy())
    cut_off = graph.closed[street] if len(graph.edges) else np.ones(len(shelters), bool)
    flooded = ~shelters["dry"].to_numpy(bool)
    shelters["state"] = np.select([flooded, cut_off], ["flooded", "cut_off"], "open")
    shelters["evacuees"] = np.where(shelters["state"] == "open", 0, np.nan)
    return np.flatnonzero(shelters["state"] == "open")


def _geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A query's rows with their geometry from its ``wkb`` column, in EPSG:3794."""
    geometry = shapely.from_wkb([bytes(w) for w in frame.pop("wkb")])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=STORAGE_SRID)


def _place(
    ranks: np.ndarray, need: np.ndarray, costs: np.ndarray, capacity: np.ndarray
) -> tuple[np.ndarray, int]:
    """The shelter each evacuated place's ``need`` of places go to (-1: none), most severe
    class (lowest rank) first and nearest first, each place whole in the nearest shelter with
    room; and how many evacuees with a road to a shelter found none with room.
    """
    nearest = costs.min(axis=0, initial=np.inf)
    left = capacity.astype(float).copy()
    placed = np.full(len(ranks), -1)
    unplaced, preferred = 0, np.argsort(costs, axis=0)  # each place's shelters, nearest first
    for i in np.lexsort((nearest, ranks)):
        if not np.isfinite(nearest[i]):
            continue  # no open road leads to any shelter
        reached = (s for s in preferred[:, i] if np.isfinite(costs[s, i]))
        room = next((s for s in reached if left[s] >= need[i]), None)
        if room is None:
            unplaced += int(need[i])
            continue
        placed[i], left[room] = room, left[room] - need[i]
    return placed, unplaced


def _marks(placed: np.ndarray, costs: np.ndarray, names: np.ndarray) -> pd.DataFrame:
    """Each evacuated place's shelter, route length (to the nearest shelter when none had
    room) and access.
    """
    nearest = costs.min(axis=0, initial=np.inf)
    at = placed >= 0
    route = nearest.copy()
    route[at] = costs[placed[at], np.flatnonzero(at)]
    shelter = np.full(len(placed), None, dtype=object)
    shelter[at] = names[placed[at]]
    return pd.DataFrame(
        {
            "shelter": shelter,
            "route_km": np.where(np.isfinite(route), route / 1000, np.nan),
            "access": np.select([at, np.isfinite(nearest)], ["shelter", "no_room"], "no_route"),
        }
    )
