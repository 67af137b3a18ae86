"""Memory that comes back: fifty planners' sessions opened and closed leave the server near
where it was."""

from __future__ import annotations

import time

from tests.dashboards.bokeh_client import cookie_header, page_token, replay
from tests.dashboards.test_access import signed_in
from tests.dashboards.test_wall_browser import resident_mib

BOUND_MIB = 50  # 25-35 MiB; under glibc's allocator 70-140, under Python's own 250-270
DISCARD_SECONDS = 50  # Bokeh discards a closed session after 15 s, looking every 17 s; its
# memory is collected 11 s after (dashboards.memory)


def settled_mib(pid: int) -> float:
    """The server's resident memory once the closed sessions are discarded and it holds still."""
    time.sleep(DISCARD_SECONDS)
    readings = [resident_mib(pid)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(3)
        readings.append(resident_mib(pid))
        if max(readings[-3:]) - min(readings[-3:]) < 2:
            break
    return readings[-1]


def test_fifty_closed_sessions_give_their_memory_back(server):
    planner = signed_in(server.url, "planner")

    def open_and_close() -> None:
        token = page_token(planner, "/planner")
        assert "buildings" in replay(server.url, "/planner", token, cookie_header(planner))

    for _ in range(5):  # the caches every session shares, filled
        open_and_close()
    before = settled_mib(server.process.pid)
    for _ in range(50):
        open_and_close()
    after = settled_mib(server.process.pid)
    print(f"resident memory: {before:.0f} MiB before 50 sessions, {after:.0f} MiB after")
    assert after - before < BOUND_MIB
