"""Memory that comes back: what a closed page held is returned to the system, not kept.

Python frees a discarded session's objects, but glibc keeps the freed heap for reuse; after a
busy hour of planners the server would hold its peak for good. Each time a session is discarded
the garbage (Bokeh's documents hold reference cycles) is collected and the free heap trimmed.
"""

from __future__ import annotations

import ctypes
import gc

try:
    _LIBC = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc: nothing to trim
    _LIBC = None


def release_memory(session_context: object) -> None:  # Bokeh wants this name
    """Collect the discarded session's cycles and give the free heap back (Panel's
    on_session_destroyed callback)."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
