"""The road layer as a graph for pgRouting: junctions (``road_vertex``) and the roads between
them (``road_edge``), rebuilt from the layer's table in the transaction of each roads load.

A road authority's lines rarely end at every junction: a street is often one line across
several crossings. So the lines are noded first (``ST_Node``: cut wherever two of them cross
or touch), and line ends closer than ``SNAP_M`` are one junction, as a digitiser's near miss
is. Two roads that cross without a junction (a bridge over a road) are joined all the same:
the layers carry no levels to tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from layers.db import quoted
from layers.spec import LayerSpec

GRID_M = 0.01  # coordinates are snapped to a centimetre first, so equal ends compare equal
SNAP_M = 0.5  # line ends this close are one junction
# what pgRouting reads: every edge, driven both ways, its length the cost
EDGES_SQL = "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM road_edge"

PIECES_SQL = """
CREATE TEMP TABLE network_piece AS
  WITH part AS (SELECT (ST_Dump(ST_SnapToGrid({geom}, :grid))).geom FROM {table}),
       noded AS (SELECT (ST_Dump(ST_Node(ST_Collect(geom)))).geom FROM part)
  SELECT row_number() OVER () AS id, geom FROM noded WHERE ST_Length(geom) > 0"""
ENDS_SQL = """
CREATE TEMP TABLE network_end AS
  SELECT piece, side, ST_ClusterDBSCAN(geom, eps := :snap, minpoints := 1) OVER () + 1 AS vertex,
         geom
    FROM (SELECT id AS piece, 0 AS side, ST_StartPoint(geom) AS geom FROM network_piece
          UNION ALL
          SELECT id, 1, ST_EndPoint(geom) FROM network_piece) ends"""
VERTICES_SQL = """
INSERT INTO road_vertex (id, geom)
  SELECT vertex, ST_Centroid(ST_Collect(geom)) FROM network_end GROUP BY vertex"""
EDGES_INSERT_SQL = """
INSERT INTO road_edge (id, segment_id, source, target, length_m, geom)
  SELECT p.id,
         (SELECT s.{key} FROM {table} s
           ORDER BY s.{geom} <-> ST_LineInterpolatePoint(p.geom, 0.5) LIMIT 1),
         a.vertex, b.vertex, ST_Length(p.geom), p.geom
    FROM network_piece p
    JOIN network_end a ON a.piece = p.id AND a.side = 0
    JOIN network_end b ON b.piece = p.id AND b.side = 1
   WHERE a.vertex <> b.vertex"""  # a piece shorter than the snap: both its ends one junction
PARTS_SQL = """
SELECT sum(size) AS junctions, sum(size) - max(size) AS apart
  FROM (SELECT count(*) AS size FROM pgr_connectedComponents(:edges) GROUP BY component) c"""


@dataclass(frozen=True)
class NetworkSize:
    """What a rebuild made: its junctions, edges and the junctions outside its largest part."""

    junctions: int
    edges: int
    apart: int  # junctions no road joins to the largest part of the network

    def note(self) -> str:
        """The load report's line about it, in both languages."""
        return (
            f"omrežje cest · road network: {self.junctions} križišč · junctions,"
            f" {self.edges} odsekov · edges; {self.apart} križišč ni povezanih z glavnim delom"
            f" · junctions not joined to its main part"
        )


def rebuild_network(conn: Connection, spec: LayerSpec) -> NetworkSize:
    """Make the graph of ``spec``'s table again, in the caller's transaction."""
    names = {
        "table": quoted(spec.load_table),
        "geom": quoted(spec.geometry_column),
        "key": quoted(spec.id_column),
    }
    # one rebuild at a time: a second waits, then sees what the first committed (readers do not)
    conn.execute(text("LOCK TABLE road_edge, road_vertex IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(text("DELETE FROM road_edge"))
    conn.execute(text("DELETE FROM road_vertex"))
    conn.execute(text(PIECES_SQL.format(**names)), {"grid": GRID_M})
    conn.execute(text(ENDS_SQL), {"snap": SNAP_M})
    conn.execute(text(VERTICES_SQL))
    conn.execute(text(EDGES_INSERT_SQL.format(**names)))
    conn.execute(text("DROP TABLE network_piece, network_end"))  # a rebuild may follow in it
    conn.exec_driver_sql("ANALYZE road_edge")
    conn.exec_driver_sql("ANALYZE road_vertex")
    edges = conn.scalar(text("SELECT count(*) FROM road_edge"))
    if not edges:
        return NetworkSize(0, 0, 0)
    junctions, apart = conn.execute(text(PARTS_SQL), {"edges": EDGES_SQL}).one()
    return NetworkSize(int(junctions), edges, int(apart))


def network_unbuilt(conn: Connection, spec: LayerSpec) -> bool:
    """Whether ``spec``'s table holds roads but no graph was made of them (a database that had
    its roads before the graph existed).
    """
    has_roads = conn.scalar(text(f"SELECT EXISTS (SELECT FROM {quoted(spec.load_table)})"))  # noqa: S608
    return bool(has_roads) and not conn.scalar(text("SELECT EXISTS (SELECT FROM road_edge)"))
