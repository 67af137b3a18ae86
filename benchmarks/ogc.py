"""Benchmark: a 1,000-feature page of the OGC API, against PostGIS writing the same GeoJSON itself.

    python benchmarks/ogc.py [--runs 20] [--clients 5]      (make bench)

The server is started on a free port against the loaded database (the Ptuj sample: 1,313
streets). Ours is ``GET /ogc/collections/streets/items?limit=1000&f=json`` as a client sees it,
from the request to the last byte: one client after another, then ``--clients`` at once. The
baseline is the floor: one query in which PostGIS itself writes the same 1,000 features as a
GeoJSON FeatureCollection in CRS84, read over the same connection kind. Medians and 95th
percentiles of ``--runs``; the ratio is ours / baseline.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from layers.db import ROOT, database_urls, get_engine

PAGE = 1000
FLOOR = text(
    "SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(f))::text FROM ("
    " SELECT 'Feature' AS type, id, json_build_object('name', name) AS properties,"
    " ST_AsGeoJSON(ST_Transform(geom, 4326))::json AS geometry"
    " FROM open_streets ORDER BY id LIMIT :page) AS f"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def started(port: int, log: Path) -> subprocess.Popen:
    """The app on ``port``, once it answers."""
    environment = {**os.environ, "GIS_OGC_REQUESTS_PER_MINUTE": "1000000"}
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ogc/conformance", timeout=5)
            return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    sys.exit(f"the app did not start: see {log}")


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    server = started(port, Path("/tmp") / f"bench-ogc-{port}.log")
    url = f"http://127.0.0.1:{port}/ogc/collections/streets/items?limit={PAGE}&f=json"
    engine = get_engine(database_urls().reader, "bench")
    try:

        def ours() -> int:
            with urllib.request.urlopen(url, timeout=120) as answer:
                return len(answer.read())

        def floor() -> int:
            with engine.connect() as conn:
                return len(conn.scalar(FLOOR, {"page": PAGE}))

        size, floor_size = ours(), floor()  # warm both
        alone = [timed(ours) for _ in range(args.runs)]
        baseline = [timed(floor) for _ in range(args.runs)]
        with ThreadPoolExecutor(args.clients) as pool:
            together = list(pool.map(lambda _: timed(ours), range(args.runs * args.clients)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"OGC API items page of {PAGE} streets ({size / 1024:.0f} KiB; PostGIS's own {floor_size / 1024:.0f} KiB)"
    )
    print(f"  ours, one client      {summary(alone)}")
    print(f"  ours, {args.clients} clients at once {summary(together)}")
    print(f"  baseline (PostGIS)    {summary(baseline)}")
    ratio = statistics.median(alone) / statistics.median(baseline)
    print(f"  ours / baseline: {ratio:.1f}× (median, one client)")


if __name__ == "__main__":
    main()
