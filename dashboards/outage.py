"""What a page does when the database goes away: it says so in both languages, keeps what it
shows, and does what was asked by itself once the database is back. A gesture that fails for
any other reason is said to have failed, in the same place, until the next one succeeds: a map
that silently stays where it was looks like a map still drawing.

No error text reaches the browser: the detail goes to the server's log. Gestures on a page (a
pan, a click, a layer switched on, a scenario chosen) run through ``Outage.guarded``; anything
else that fails in a session is logged by ``log_exception``, Panel's exception handler.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from functools import partial

import panel as pn

from dashboards.theme import html_pane
from layers.db import DATABASE_ERRORS

log = logging.getLogger(__name__)

NOTICE = (
    "<div class='outage-banner' role='alert'>Baza trenutno ni dosegljiva: stran kaže zadnje"
    " prikazano in nadaljuje sama, ko bo baza spet dosegljiva. · The database cannot be reached:"
    " the page shows what it last had and carries on by itself once the database is back.</div>"
)
FAILED = (
    "<div class='outage-banner' role='alert'>Zadnjega dejanja ni bilo mogoče izvesti: stran kaže"
    " prejšnje, podrobnosti so v dnevniku strežnika. · The last action could not be done: the"
    " page shows what it had before, and the server's log has the detail.</div>"
)
RETRY_SECONDS = 5


class Outage:
    """One per page: the notice it shows while the database is away, and the gesture that
    failed, done again every few seconds until it succeeds."""

    def __init__(self) -> None:
        self.notice = html_pane(NOTICE, visible=False, sizing_mode="stretch_width", margin=0)
        self._pending: Callable[[], object] | None = None
        self._retry: pn.io.PeriodicCallback | None = None

    def guarded(self, action: Callable) -> Callable:
        """``action`` (plain or async), which, when the database cannot be reached, shows the
        notice and is done again once it can (only the latest such gesture: it is what the
        person wants now); which, failing otherwise, says it failed until a gesture succeeds.
        """

        def waiting(event: object) -> None:
            log.warning("a gesture waits for the database", exc_info=True)
            self._pending = partial(action, event)
            self._show()

        if inspect.iscoroutinefunction(action):

            async def run_async(event: object) -> None:
                try:
                    await action(event)
                except DATABASE_ERRORS:
                    waiting(event)
                except Exception:  # any other fault: said on the page, the detail in the log
                    self._failed()
                else:
                    self._succeeded()

            return run_async

        def run(event: object) -> None:  # the one argument Bokeh's and Panel's callbacks get
            try:
                action(event)
            except DATABASE_ERRORS:
                waiting(event)
            except Exception:  # any other fault: said on the page, the detail in the log
                self._failed()
            else:
                self._succeeded()

        return run

    def _failed(self) -> None:
        log.exception("a gesture failed")
        if self._pending is None:  # the database's notice, while it is away, says more
            self.notice.object, self.notice.visible = FAILED, True

    def _succeeded(self) -> None:
        if self.notice.object == FAILED:
            self.notice.visible = False

    def _show(self) -> None:
        self.notice.object, self.notice.visible = NOTICE, True
        if self._retry is None and pn.state.curdoc and pn.state.curdoc.session_context:
            self._retry = pn.state.add_periodic_callback(
                self._try_again, period=RETRY_SECONDS * 1000
            )

    async def _try_again(self) -> None:
        retried = self._pending
        try:
            done = retried()
            if inspect.isawaitable(done):
                await done
        except DATABASE_ERRORS:
            return
        if self._pending is not retried:
            return  # a newer gesture failed while this one was done: it is the one to do again
        self._pending = None
        self.notice.visible = False
        self._retry.stop()
        self._retry = None


def log_exception(exception: BaseException) -> None:
    """Panel's exception handler: the detail in the server's log, none of it to the browser."""
    log.error("a session's callback failed", exc_info=exception)
