"""The outage notice's retry, driven by hand: the gesture that failed last is the one done."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import panel as pn

from dashboards.outage import Outage


def run(coroutine) -> None:
    """Run ``coroutine`` to its end in a thread of its own: the suite's earlier tests may
    leave an event loop running in this one."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, coroutine).result()


def test_a_gesture_that_fails_while_another_is_retried_is_not_forgotten():
    outage, done, calls = Outage(), [], {"first": 0}

    async def first(_event) -> None:
        calls["first"] += 1
        if calls["first"] == 1:
            raise OSError("the database is away")
        await asyncio.sleep(0)  # the retry is under way: meanwhile the second gesture fails
        second_gesture(None)
        done.append("first")

    def second(_event) -> None:
        if "first" not in done:
            raise OSError("the database is away again")
        done.append("second")

    second_gesture = outage.guarded(second)
    run(outage.guarded(first)(None))
    assert outage.notice.visible
    outage._retry = pn.io.PeriodicCallback(callback=lambda: None, period=1000)  # not started
    run(outage._try_again())  # the first is done; the second failed meanwhile
    assert done == ["first"] and outage.notice.visible  # still waiting, for the second
    run(outage._try_again())
    assert done == ["first", "second"] and not outage.notice.visible
