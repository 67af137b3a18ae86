"""Pages built and sent from worker threads: a new session's page is made, and written as the
JSON its browser pulls, while the event loop serves everyone else (``/health``, other pages'
gestures, sign-ins).

Bokeh makes a session in two steps: it awaits each handler's ``on_session_created``, then runs
the handlers' ``modify_document`` on the event loop. A ``BuiltOffLoop`` handler beside Panel's
own builds the page into the new document on a thread in the first step (its queries, its data,
its Bokeh models); Panel's handler then only adds its page-load hooks. Nothing else holds the
new document meanwhile, so the thread may fill it.

The browser then pulls the document over its websocket. Bokeh writes it (about 0.1 s of Python
for a planner's page, several times that while other pages are built) on the event loop, holding
the document's lock; ``send_documents_off_loop`` has it written on a worker thread instead,
under the same lock, so that nothing changes the document meanwhile. Bokeh's hook for this is
not public (``ServerSession._handle_pull``); the page tests pull every route's document through it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import panel as pn
from bokeh.application import Application
from bokeh.application.handlers.handler import Handler
from bokeh.document import Document
from bokeh.protocol.messages.pull_doc_reply import pull_doc_reply
from bokeh.server.session import ServerSession, _needs_document_lock
from panel.io.application import build_applications
from panel.io.state import set_curdoc

from dashboards.theme import html_pane

log = logging.getLogger(__name__)
# Building is mostly Python, which holds the interpreter's lock: with a builder per core, pages
# come as fast as they can, and the event loop is not outnumbered by builders for the lock.
BUILDERS = ThreadPoolExecutor(os.cpu_count() or 2, "page")
NOT_BUILT = (
    "<p class='error-box'>Strani ni bilo mogoče pripraviti; poskusite znova. · "
    "The page could not be built; try again.</p>"
)


class BuiltOffLoop(Handler):
    """Builds a route's page with ``build`` into each new session's document, on a thread."""

    def __init__(self, build: Callable[[], pn.viewable.Viewable], title: str) -> None:
        super().__init__()
        self._build, self._title = build, title

    async def on_session_created(self, session_context) -> None:
        # the session's document, reached as Panel's own hooks reach it
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(BUILDERS, self._build_into, session_context._document)

    def _build_into(self, document: Document) -> None:
        with set_curdoc(document):  # pn.state.cookies and .user are this session's
            try:
                page = self._build()
            except Exception:
                log.exception("a page could not be built")
                page = html_pane(NOT_BUILT)
            pn.panel(page).server_doc(document, title=self._title)

    def modify_document(self, doc: Document) -> None:
        """The page is in the document already."""


def applications(routes: dict[str, Callable], title: str) -> dict[str, Application]:
    """Panel's applications of ``routes``, each page built off the event loop.

    Panel's own handler of each route builds nothing (its function returns None); it adds the
    hooks that run when the page has loaded in the browser.
    """
    built = build_applications({route: lambda: None for route in routes}, title=title)
    for route, build in routes.items():
        built[f"/{route}"].add(BuiltOffLoop(build, title))
    return built


def send_documents_off_loop() -> None:
    """Have every session's document written for its browser on a worker thread."""
    ServerSession._handle_pull = _pull_off_loop


@_needs_document_lock
def _pull_off_loop(session: ServerSession, message, connection) -> asyncio.Future:
    # the default pool, not the builders': a browser's pull waited behind the pages being built
    return asyncio.get_running_loop().run_in_executor(
        None, _written_reply, connection.protocol, message.header["msgid"], session.document
    )


def _written_reply(protocol, request_id: str, document: Document) -> pull_doc_reply:
    """The reply to a browser's pull of ``document``, its JSON written (Bokeh keeps it)."""
    reply = protocol.create("PULL-DOC-REPLY", request_id, document)
    reply.content_json  # noqa: B018 - written here, not when the event loop sends it
    return reply
