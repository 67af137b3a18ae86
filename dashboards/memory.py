"""Memory that comes back: what a closed page held is returned to the system, not kept.

After sessions are discarded their garbage (Bokeh's documents hold reference cycles) is
collected here; the allocator the server runs on (jemalloc, chosen in ``app.py``) gives what
it freed back to the system within a second.

When: a page's timers hold its document until they wake once more (Bokeh stops a periodic
callback at its next wake, not at once), so a collection at the discard found most of the page
still held, and the memory stayed. The collection waits for the longest timer of a map's page,
its session check; the sessions Bokeh discards together are collected once.

How much: a collection walks every object the interpreter tracks, on the event loop: over what
a server holds from its start (some 540,000 objects) and its open pages', it held every user for
0.4 s. What the server holds before its first page is never garbage, so it is left out of
collections (``gc.freeze``).
"""

from __future__ import annotations

import gc

from tornado.ioloop import IOLoop

from dashboards.access import SESSION_CHECK_SECONDS

# a wall's map rotation wakes less often: its page goes at the next collection after
LINGER_SECONDS = SESSION_CHECK_SECONDS + 1
FULL_COLLECTION_EVERY = 100  # collections of the middle generation; Python's default is 10
_collection_due = False


def freeze_startup_heap() -> None:
    """Leave everything the server holds before its first page out of later collections, and
    make the interpreter's own full collections rarer: each walks every open page's objects
    while every user waits (five pages being opened set off six, of 50-240 ms each); the
    collection after each discard (below) is the one that gives memory back."""
    gc.collect()
    gc.freeze()
    youngest, middle, _ = gc.get_threshold()
    gc.set_threshold(youngest, middle, FULL_COLLECTION_EVERY)


def release_memory(session_context: object) -> None:  # Bokeh wants this name
    """Collect once the discarded page's timers have let it go (Panel's on_session_destroyed
    callback)."""
    global _collection_due
    if not _collection_due:
        _collection_due = True
        IOLoop.current().call_later(LINGER_SECONDS, _collect)


def _collect() -> None:
    """Collect the discarded sessions' cycles."""
    global _collection_due
    _collection_due = False
    gc.collect()
