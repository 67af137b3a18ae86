"""Benchmark: the search box over 100,000 addresses, against a plain scan in the same run.

    python benchmarks/search.py [--addresses 100000] [--runs 7]      (make bench)

A schema of its own gets ``--addresses`` building addresses (Slovenian street names with their
house numbers) and the Ptuj settlements as search entries, indexed as the migrations index them.
Ours is ``layers.search.find`` as a keystroke runs it: the query folded, each layer's nearest
names by word similarity from the GiST trigram index, ranked, ten answers. The baseline is what the search would be
without the index: every name folded and compared with ``ILIKE '%…%'`` (it cannot forgive a
typo, so it finds less). The server's own time comes from ``EXPLAIN ANALYZE``; the time as the
dashboard sees it (round trip included) from the call. Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from scratch import scratch_schema
from sqlalchemy import text

from layers.db import get_engine
from layers.search import FIND, RESULTS, find, set_threshold

# what a person types, key by key, and with a slip: short prefixes match the most names
TYPED = ["pr", "pre", "pres", "presern", "presernova", "presernova ulica 12", "presrnova 12"]
FIRST_NAMES = [
    "Prešern", "Cankar", "Gregorčič", "Aškerc", "Jurčič", "Kersnik", "Levstik", "Trubar",
    "Vodnik", "Zupančič", "Kette", "Murn", "Slomšek", "Vraz", "Kosovel", "Bevk", "Kajuh", "Maister",
]  # fmt: skip
KINDS = ["ulica", "cesta", "trg", "pot", "breg", "naselje"]


def fill_entries(engine, addresses: int) -> int:
    """``addresses`` buildings' addresses (street and number) as search entries, analysed."""
    streets = [f"{name}ova {kind}" for name in FIRST_NAMES for kind in KINDS]
    streets += [f"{s} pri Ptuju" for s in streets] + [f"Ulica {n}a" for n in FIRST_NAMES]
    per_street = -(-addresses // len(streets))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO search_entry (layer, feature_id, label, geom)"
                " SELECT 'buildings', row_number() OVER (), street || ' ' || n,"
                "  ST_SetSRID(ST_MakePoint(560000 + n, 140000 + length(street)), 3794)"
                " FROM unnest(CAST(:streets AS text[])) AS street, generate_series(1, :per) AS n"
                " LIMIT :addresses"
            ),
            {"streets": streets, "per": per_street, "addresses": addresses},
        )
        conn.execute(
            text(
                "INSERT INTO search_entry (layer, label, geom) SELECT 'settlements', name,"
                " ST_SetSRID(ST_MakePoint(566000, 142000), 3794)"
                " FROM unnest(CAST(:names AS text[])) AS name"
            ),
            {"names": ["Ptuj", "Krčevina pri Vurbergu", "Spodnji Velovlek", "Grajena"]},
        )
        conn.execute(text("ANALYZE search_entry"))
        return conn.scalar(text("SELECT count(*) FROM search_entry"))


BASELINE = text(
    "SELECT id FROM search_entry WHERE layer = ANY(:layers)"
    " AND public.unaccent(label) ILIKE '%' || :query || '%' ORDER BY length(label) LIMIT :limit"
)


def server_ms(engine, statement, typed: str) -> float:
    """The statement's execution time in the server, from EXPLAIN ANALYZE, with the search's
    similarity threshold set as ``find`` sets it."""
    with engine.begin() as conn:
        set_threshold(conn, typed)
        plan = conn.scalar(
            text(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement.text}"),
            {"query": typed, "layers": ["settlements", "buildings"], "limit": RESULTS},
        )
    return (plan if isinstance(plan, list) else json.loads(plan))[0]["Execution Time"]


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with scratch_schema("search") as url:
        engine = get_engine(url, "bench")
        entries = fill_entries(engine, args.addresses)
        print(f"search over {entries:,} entries (medians of {args.runs}; target: 50 ms server)")
        print(
            f"{'typed':22} {'answers':>7} {'server ms':>10} {'call ms':>8} {'scan ms':>8} {'ratio':>6}"
        )
        worst = 0.0
        for typed in TYPED:
            answers = len(find(engine, typed, "planner"))
            ours = statistics.median(server_ms(engine, FIND, typed) for _ in range(args.runs))
            call = median_ms(lambda t=typed: find(engine, t, "planner"), args.runs)
            scan = statistics.median(server_ms(engine, BASELINE, typed) for _ in range(args.runs))
            worst = max(worst, ours)
            print(
                f"{typed:22} {answers:7d} {ours:10.1f} {call:8.1f} {scan:8.1f} {scan / ours:6.1f}"
            )
        print(f"worst server time {worst:.1f} ms: {'within' if worst <= 50 else 'OVER'} 50 ms")


if __name__ == "__main__":
    main()
