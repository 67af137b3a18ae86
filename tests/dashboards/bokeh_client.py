"""A Bokeh client at its protocol's level: the page's session token presented on a websocket."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from bokeh.client.websocket import WebSocketClientConnectionWrapper
from bokeh.protocol import Protocol
from bokeh.protocol.receiver import Receiver
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

REFUSAL = "No access to this page"  # what a page refused to a session says


def page_token(visitor, route: str) -> str:
    """The session token in the HTML of ``route`` as ``visitor`` gets it."""
    status, _, body = visitor.request(route)
    assert status == 200, route
    return re.search(r'"token":"([^"]+)"', body).group(1)


def cookie_header(visitor) -> str:
    """``visitor``'s cookies as one ``Cookie`` header."""
    return "; ".join(f"{c.name}={c.value}" for c in visitor.cookies)


async def pull_document(url: str, route: str, token: str, cookies: str) -> str | int:
    """The document the server sends for ``token`` on ``route``'s websocket, or the refusal's status."""
    address = urllib.parse.urlsplit(url)
    request = HTTPRequest(
        f"ws://{address.netloc}{route}/ws",
        headers={"Cookie": cookies, "Origin": url},
        request_timeout=120,
    )
    try:
        socket = await websocket_connect(request, subprotocols=["bokeh", token])
    except HTTPClientError as refused:
        return refused.code
    connection = WebSocketClientConnectionWrapper(socket)
    receiver = Receiver(Protocol())
    try:
        replies = {}
        for wanted in ("ACK", "PULL-DOC-REPLY"):
            if wanted == "PULL-DOC-REPLY":
                await Protocol().create("PULL-DOC-REQ").send(connection)
            while wanted not in replies:
                fragment = await socket.read_message()
                assert fragment is not None, f"{route}: the server closed the socket"
                message = await receiver.consume(fragment)
                if message is not None:
                    replies[message.msgtype] = message
        return str(replies["PULL-DOC-REPLY"].content["doc"])
    finally:
        connection.close()


async def _extensions(url: str, route: str, token: str, cookies: str) -> str:
    address = urllib.parse.urlsplit(url)
    request = HTTPRequest(
        f"ws://{address.netloc}{route}/ws", headers={"Cookie": cookies, "Origin": url}
    )
    socket = await websocket_connect(request, subprotocols=["bokeh", token], compression_options={})
    try:
        return socket.headers.get("Sec-WebSocket-Extensions", "")
    finally:
        socket.close()


def on_a_thread(work):
    """Run the coroutine ``work`` on a thread of its own: the browser tests' driver keeps an
    event loop running on this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


def replay(url: str, route: str, token: str, cookies: str) -> str | int:
    """``pull_document`` from synchronous code."""
    return on_a_thread(pull_document(url, route, token, cookies))


def extensions_agreed(url: str, route: str, token: str, cookies: str) -> str:
    """The extensions the server agrees to on ``route``'s websocket, offered compression."""
    return on_a_thread(_extensions(url, route, token, cookies))
