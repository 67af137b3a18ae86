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


def test_a_gesture_that_fails_otherwise_says_so_until_one_succeeds(caplog):
    """A fault that is no outage (a pan's image that could not be made) is said on the page,
    with its detail in the log only; the next gesture that succeeds takes the notice away."""
    outage = Outage()

    def pan(event) -> None:
        if event == "bad":
            raise ValueError("Geometry type combination is not supported ([])")

    async def zoom(event) -> None:
        pan(event)

    guarded_pan, guarded_zoom = outage.guarded(pan), outage.guarded(zoom)
    guarded_pan("bad")
    assert outage.notice.visible and "could not be done" in outage.notice.object
    assert "Geometry type" not in outage.notice.object  # no error text to the browser
    assert "Geometry type" in caplog.text
    guarded_pan("good")
    assert not outage.notice.visible
    run(guarded_zoom("bad"))
    assert outage.notice.visible and "ni bilo mogoče" in outage.notice.object
    run(guarded_zoom("good"))
    assert not outage.notice.visible


def test_a_fault_while_the_database_is_away_leaves_the_databases_notice():
    outage = Outage()

    def away(_event) -> None:
        raise OSError("the database is away")

    outage.guarded(away)(None)
    outage.guarded(lambda _event: 1 / 0)(None)
    assert outage.notice.visible and "database cannot be reached" in outage.notice.object
    outage.guarded(lambda _event: None)(None)
    assert outage.notice.visible  # a success elsewhere does not hide the outage
