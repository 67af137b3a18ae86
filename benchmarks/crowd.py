"""Planners' sessions that pan as a page does, over Bokeh's websocket protocol, with no browser.

Twenty Chromium pages on this machine's two cores measure mostly their own drawing, while the
people they stand for pan from machines of their own. A crowd of these sessions loads the server
as those people would: each pan sends what a page sends (the map's new ranges, then Bokeh's
``RangesUpdate``) and waits until the map's tag says the view is drawn (``drawn_tag``), having
received every layer's data for it, while one real page beside them is measured.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
import uuid

import numpy as np
from bokeh.client.websocket import WebSocketClientConnectionWrapper
from bokeh.document import Document
from bokeh.models import Plot
from bokeh.protocol import Protocol
from bokeh.protocol.message import Message
from bokeh.protocol.messages.patch_doc import patch_doc
from bokeh.protocol.receiver import Receiver
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from dashboards.map import ASSUMED_WIDTH_PX, drawn_tag
from layers.queries import Viewport

ANSWER_TIMEOUT_S = 120


class Session:
    """One planner's page, as the server sees it: its websocket and the document it pulled."""

    def __init__(self, socket: WebSocketClientConnection) -> None:
        self.socket = socket
        self.connection = WebSocketClientConnectionWrapper(socket)
        self.receiver = Receiver(Protocol())
        self.document = Document()
        self.map: Plot | None = None  # once pulled

    async def message(self) -> Message:
        """The next whole message the server sends."""
        while True:
            fragment = await self.socket.read_message()
            if fragment is None:
                raise ConnectionError("the server closed the session's websocket")
            found = await self.receiver.consume(fragment)
            if found is not None:
                return found

    async def pull(self) -> None:
        """Take the server's document and report it ready, as a page does once it is shown."""
        await self.message()  # the server's ACK
        await Protocol().create("PULL-DOC-REQ").send(self.connection)
        (await self.message()).push_to_document(self.document)
        self.document.models.flush_synced()  # the server has them all: events name them by id
        plots = (m for m in self.document.models if isinstance(m, Plot))
        self.map = max(plots, key=lambda plot: len(plot.renderers))  # the plot with the layers
        ready = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
        await self.send([{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": ready}])

    async def send(self, events: list[dict]) -> None:
        """Events as BokehJS writes them, in one PATCH-DOC."""
        header = json.dumps({"msgid": uuid.uuid4().hex, "msgtype": "PATCH-DOC"})
        message = patch_doc.assemble(header, "{}", json.dumps({"events": events}))
        await message.send(self.connection)

    async def pan(self, box: tuple[float, float, float, float]) -> float:
        """Show ``box`` (EPSG:3857) as a drag would; seconds until the server has drawn it."""
        x0, y0, x1, y1 = box
        plot = self.map
        changed = [
            {"kind": "ModelChanged", "model": {"id": model.id}, "attr": attr, "new": value}
            for model, attr, value in (
                (plot.x_range, "start", x0),
                (plot.x_range, "end", x1),
                (plot.y_range, "start", y0),
                (plot.y_range, "end", y1),
            )
        ]
        values = [["model", {"id": plot.id}], ["x0", x0], ["x1", x1], ["y0", y0], ["y1", y1]]
        ranges = {
            "type": "event",
            "name": "rangesupdate",
            "values": {"type": "map", "entries": values},
        }
        drawn = drawn_tag(Viewport(x0, y0, x1, y1, ASSUMED_WIDTH_PX))
        started = time.perf_counter()
        await self.send(
            [*changed, {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": ranges}]
        )
        while True:
            found = await self.message()
            if found.msgtype == "PATCH-DOC" and drawn in found.content_json:
                return time.perf_counter() - started


async def open_session(base: str, cookies: str, query: str) -> Session:
    """A planner's page at ``/planner?query``, opened with ``cookies`` (a ``Cookie`` header)."""
    page = await AsyncHTTPClient().fetch(
        HTTPRequest(f"{base}/planner?{query}", headers={"Cookie": cookies})
    )
    token = re.search(r'"token":"([^"]+)"', page.body.decode()).group(1)
    address = urllib.parse.urlsplit(base)
    socket = await websocket_connect(
        HTTPRequest(
            f"ws://{address.netloc}/planner/ws",
            headers={"Cookie": cookies, "Origin": base},
            request_timeout=ANSWER_TIMEOUT_S,
        ),
        subprotocols=["bokeh", token],
    )
    session = Session(socket)
    await session.pull()
    return session


async def keep_panning(
    session: Session, box: tuple[float, float, float, float], seed: int, stop: asyncio.Event
) -> list[float]:
    """Pan by up to a fifth of the view this way and that until ``stop``; each pan's seconds."""
    rng = np.random.default_rng(seed)
    width, height = box[2] - box[0], box[3] - box[1]
    taken = []
    while not stop.is_set():
        dx, dy = rng.uniform(-0.2, 0.2, 2) * (width, height)
        moved = (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)
        taken.append(await asyncio.wait_for(session.pan(moved), ANSWER_TIMEOUT_S))
    session.socket.close()
    return taken
